#include "mailtrack/redis/client.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

// hiredis is used for the protocol only (command formatting and the RESP reader); the socket,
// timeouts and TLS are ours, because Debian 12's hiredis 0.14 has no TLS.

namespace mailtrack::redis {
namespace {

using util::ErrorKind;

Reply convert(const redisReply& r) {
    Reply out;
    switch (r.type) {
        case REDIS_REPLY_STRING: out.type = Reply::Type::string; break;
        case REDIS_REPLY_STATUS: out.type = Reply::Type::status; break;
        case REDIS_REPLY_ERROR: out.type = Reply::Type::error; break;
        case REDIS_REPLY_INTEGER: out.type = Reply::Type::integer; break;
        case REDIS_REPLY_ARRAY: out.type = Reply::Type::array; break;
        default: out.type = Reply::Type::nil; break;
    }
    if (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS || r.type == REDIS_REPLY_ERROR) {
        out.text.assign(r.str, r.len);
    } else if (r.type == REDIS_REPLY_INTEGER) {
        out.integer = r.integer;
    } else if (r.type == REDIS_REPLY_ARRAY) {
        out.elements.reserve(r.elements);
        for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
    }
    return out;
}

struct ReplyDeleter {
    void operator()(void* r) const noexcept { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

std::string errno_text(int e) {
    return std::strerror(e);
}

std::string openssl_text() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "TLS error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// Waits until `fd` is ready for `events`; false on timeout.
bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
    pollfd p{fd, events, 0};
    for (;;) {
        const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return true;  // let the next I/O call report the error
    }
}

// SSL_write writes to the socket with write(2): a peer that went away would raise SIGPIPE and
// kill the process. Block it on this thread around the call and swallow one that was raised.
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        sigpending(&m_pending_before);
        pthread_sigmask(SIG_BLOCK, &pipe, &m_old);
    }
    ~SigpipeGuard() {
        if (!sigismember(&m_pending_before, SIGPIPE)) {
            sigset_t pipe, pending;
            sigemptyset(&pipe);
            sigaddset(&pipe, SIGPIPE);
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE)) {
                timespec zero{0, 0};
                sigtimedwait(&pipe, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t m_old{};
    sigset_t m_pending_before{};
};

// getaddrinfo has no timeout, and a resolver that does not answer would hold the caller (a
// commit waiting on the cache) for as long as the system's resolver retries. A host name is
// looked up on a thread of its own and waited for up to `timeout`; a lookup that is still
// running then is abandoned (it frees its own answer when it ends). Address literals need no
// lookup thread.
util::Result<addrinfo*> look_up(const std::string& host, const std::string& service, addrinfo hints,
                                std::chrono::milliseconds timeout, const ClientOptions::Resolver& resolve) {
    auto call = [resolve](const char* h, const char* s, const addrinfo* hi, addrinfo** out) {
        return resolve ? resolve(h, s, hi, out) : ::getaddrinfo(h, s, hi, out);
    };
    auto failed = [](std::string why) {
        return util::fail(ErrorKind::storage_unavailable, "resolving the host: " + why);
    };
    in6_addr literal{};
    if (::inet_pton(AF_INET, host.c_str(), &literal) == 1 || ::inet_pton(AF_INET6, host.c_str(), &literal) == 1) {
        hints.ai_flags |= AI_NUMERICHOST;
        addrinfo* found = nullptr;
        if (const int rc = call(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
            return failed(::gai_strerror(rc));
        }
        return found;
    }
    struct Lookup {
        std::mutex mutex;
        std::condition_variable done_cv;
        bool done = false;
        bool abandoned = false;
        int rc = 0;
        addrinfo* found = nullptr;
    };
    auto lookup = std::make_shared<Lookup>();
    try {
        std::thread([lookup, host, service, hints, call] {
            addrinfo* found = nullptr;
            const int rc = call(host.c_str(), service.c_str(), &hints, &found);
            std::lock_guard lock(lookup->mutex);
            if (lookup->abandoned) {
                if (rc == 0) ::freeaddrinfo(found);
                return;
            }
            lookup->rc = rc;
            lookup->found = found;
            lookup->done = true;
            lookup->done_cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        return failed(std::string("no lookup thread: ") + e.what());
    }
    std::unique_lock lock(lookup->mutex);
    if (!lookup->done_cv.wait_for(lock, timeout, [&] { return lookup->done; })) {
        lookup->abandoned = true;
        return failed("no answer within " + std::to_string(timeout.count()) + " ms");
    }
    if (lookup->rc != 0) {
        return failed(::gai_strerror(lookup->rc));
    }
    return lookup->found;
}

}  // namespace

std::string_view Reply::error_code() const noexcept {
    if (type != Type::error) return {};
    const std::string_view t = text;
    return t.substr(0, t.find(' '));
}

struct Client::Context {
    int fd = -1;
    SSL_CTX* tls_context = nullptr;
    SSL* tls = nullptr;
    redisReader* reader = nullptr;

    ~Context() {
        if (tls != nullptr) SSL_free(tls);
        if (tls_context != nullptr) SSL_CTX_free(tls_context);
        if (fd >= 0) ::close(fd);
        if (reader != nullptr) redisReaderFree(reader);
    }
};

Client::Client(ClientOptions options, const util::Clock& clock) : m_options(std::move(options)), m_clock(clock) {}
Client::~Client() = default;

bool Client::connected() const noexcept {
    return m_context != nullptr;
}

void Client::disconnect() noexcept {
    m_context.reset();
    m_next_attempt = {};
}

util::Unexpected<util::Error> Client::broken(std::string what) {
    m_context.reset();
    m_next_attempt = m_clock.steady_now() + m_options.reconnect_interval;
    const Endpoint& e = m_options.endpoint;
    return util::fail(ErrorKind::storage_unavailable,
                      "redis " + e.host + ":" + std::to_string(e.port) + ": " + std::move(what));
}

util::Result<void> Client::open_socket() {
    const Endpoint& e = m_options.endpoint;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (auto r = look_up(e.host, std::to_string(e.port), hints, m_options.connect_timeout, m_options.resolve); !r) {
        return broken(std::move(r).error().message);
    } else {
        found = *r;
    }
    std::string last = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = errno_text(errno);
            continue;
        }
        int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            if (!wait_for(fd, POLLOUT, m_options.connect_timeout)) {
                ::close(fd);
                last = "connect timed out after " + std::to_string(m_options.connect_timeout.count()) + " ms";
                continue;
            }
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            rc = err == 0 ? 0 : -1;
            errno = err;
        }
        if (rc != 0) {
            last = errno_text(errno);
            ::close(fd);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        m_context->fd = fd;
        break;
    }
    ::freeaddrinfo(found);
    if (m_context->fd < 0) return broken("connect: " + last);
    return {};
}

util::Result<void> Client::start_tls() {
    const Endpoint& e = m_options.endpoint;
    Context& c = *m_context;
    c.tls_context = SSL_CTX_new(TLS_client_method());
    if (c.tls_context == nullptr) return broken("TLS: " + openssl_text());
    SSL_CTX_set_min_proto_version(c.tls_context, TLS1_2_VERSION);
    SSL_CTX_set_verify(c.tls_context, SSL_VERIFY_PEER, nullptr);
    if (!m_options.tls_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(c.tls_context, m_options.tls_ca_file.c_str(), nullptr) != 1) {
            m_context.reset();
            return util::fail(ErrorKind::config,
                              "redis.tls_ca_file: cannot load " + m_options.tls_ca_file + ": " + openssl_text());
        }
    } else if (SSL_CTX_set_default_verify_paths(c.tls_context) != 1) {
        return broken("TLS: loading the system CA certificates: " + openssl_text());
    }
    c.tls = SSL_new(c.tls_context);
    if (c.tls == nullptr || SSL_set_fd(c.tls, c.fd) != 1) return broken("TLS: " + openssl_text());
    // The certificate must name the host we asked for (an IP address or a DNS name).
    in6_addr ip{};
    const bool is_ip =
        ::inet_pton(AF_INET, e.host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, e.host.c_str(), &ip) == 1;
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.tls), e.host.c_str());
    } else {
        // SNI; SSL_set_tlsext_host_name is this call behind a C cast.
        SSL_ctrl(c.tls, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(e.host.c_str()));
        SSL_set1_host(c.tls, e.host.c_str());
    }
    for (;;) {
        ERR_clear_error();
        const int rc = SSL_connect(c.tls);
        if (rc == 1) return {};
        const int err = SSL_get_error(c.tls, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (!wait_for(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, m_options.connect_timeout)) {
                return broken("TLS handshake timed out");
            }
            continue;
        }
        if (const long v = SSL_get_verify_result(c.tls); v != X509_V_OK) {
            return broken(std::string("TLS: the server's certificate was not accepted: ") +
                          X509_verify_cert_error_string(v));
        }
        return broken("TLS handshake: " + openssl_text());
    }
}

util::Result<void> Client::ensure_connected() {
    if (m_context) return {};
    const Endpoint& e = m_options.endpoint;
    const std::string where = "redis " + e.host + ":" + std::to_string(e.port);
    if (m_clock.steady_now() < m_next_attempt) {
        return util::fail(ErrorKind::storage_unavailable, where + ": not connected (waiting to reconnect)");
    }
    m_context = std::make_unique<Context>();
    m_context->reader = redisReaderCreate();
    if (m_context->reader == nullptr) return broken("cannot allocate a reply reader");
    if (auto r = open_socket(); !r) return r;
    if (e.tls) {
        if (auto r = start_tls(); !r) return r;
    }

    auto login = [&](const std::vector<std::string>& args, std::string_view what) -> util::Result<void> {
        MAILTRACK_TRY_ASSIGN(auto r, command(args));
        if (r.is_error()) {
            m_context.reset();
            m_next_attempt = m_clock.steady_now() + m_options.reconnect_interval;
            return util::fail(ErrorKind::config, where + ": " + std::string(what) + " refused: " + r.text);
        }
        return {};
    };
    if (!e.password.empty()) {
        // The password is never part of an error message: only the server's answer is.
        std::vector<std::string> auth{"AUTH"};
        if (!e.user.empty()) auth.push_back(e.user);
        auth.push_back(e.password);
        if (auto r = login(auth, e.user.empty() ? "AUTH" : "AUTH as " + e.user); !r) return r;
    } else if (!e.user.empty()) {
        m_context.reset();
        return util::fail(ErrorKind::config, where + ": user " + e.user +
                                                 " given without a password (MAILTRACK_REDIS_PASSWORD or "
                                                 "redis.password_file)");
    }
    if (e.database != 0) {
        if (auto r = login({"SELECT", std::to_string(e.database)}, "SELECT " + std::to_string(e.database)); !r)
            return r;
    }
    return {};
}

util::Result<void> Client::write_all(std::string_view data) {
    Context& c = *m_context;
    while (!data.empty()) {
        if (c.tls != nullptr) {
            ERR_clear_error();
            int rc = 0;
            {
                SigpipeGuard guard;
                rc = SSL_write(c.tls, data.data(), static_cast<int>(data.size()));
            }
            if (rc > 0) {
                data.remove_prefix(static_cast<std::size_t>(rc));
                continue;
            }
            const int err = SSL_get_error(c.tls, rc);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                if (!wait_for(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, m_options.command_timeout)) {
                    return broken("write timed out");
                }
                continue;
            }
            return broken("write: " + (err == SSL_ERROR_SYSCALL ? errno_text(errno) : openssl_text()));
        }
        const ssize_t n = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(c.fd, POLLOUT, m_options.command_timeout)) return broken("write timed out");
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return broken("write: " + errno_text(errno));
        }
    }
    return {};
}

util::Result<Reply> Client::read_reply() {
    Context& c = *m_context;
    char buf[16384];
    for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(c.reader, &raw) != REDIS_OK) {
            return broken(std::string("protocol error: ") + c.reader->errstr);
        }
        if (raw != nullptr) {
            ReplyPtr owned(raw);
            return convert(*static_cast<redisReply*>(raw));
        }
        ssize_t n = 0;
        if (c.tls != nullptr) {
            ERR_clear_error();
            const int rc = SSL_read(c.tls, buf, sizeof buf);
            if (rc <= 0) {
                const int err = SSL_get_error(c.tls, rc);
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                    if (!wait_for(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, m_options.command_timeout)) {
                        return broken("timed out waiting for a reply");
                    }
                    continue;
                }
                if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) {
                    return broken("reading a reply: Server closed the connection");
                }
                return broken("reading a reply: " + (err == SSL_ERROR_SYSCALL ? errno_text(errno) : openssl_text()));
            }
            n = rc;
        } else {
            n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n == 0) return broken("reading a reply: Server closed the connection");
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    if (!wait_for(c.fd, POLLIN, m_options.command_timeout)) {
                        return broken("timed out waiting for a reply");
                    }
                    continue;
                }
                if (errno == EINTR) continue;
                return broken("reading a reply: " + errno_text(errno));
            }
        }
        if (redisReaderFeed(c.reader, buf, static_cast<size_t>(n)) != REDIS_OK) {
            return broken(std::string("protocol error: ") + c.reader->errstr);
        }
    }
}

util::Result<Reply> Client::command(const std::vector<std::string>& args) {
    MAILTRACK_TRY_ASSIGN(auto many, pipeline({args}));
    return std::move(many.front());
}

util::Result<std::vector<Reply>> Client::pipeline(const std::vector<std::vector<std::string>>& commands) {
    MAILTRACK_TRY(ensure_connected());
    std::string out;
    for (const auto& args : commands) {
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        argv.reserve(args.size());
        lens.reserve(args.size());
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        char* formatted = nullptr;
        const int len = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lens.data());
        if (len < 0 || formatted == nullptr) return broken("cannot format a command");
        out.append(formatted, static_cast<std::size_t>(len));
        redisFreeCommand(formatted);
    }
    MAILTRACK_TRY(write_all(out));
    std::vector<Reply> replies;
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        MAILTRACK_TRY_ASSIGN(auto r, read_reply());
        replies.push_back(std::move(r));
    }
    return replies;
}

}  // namespace mailtrack::redis
