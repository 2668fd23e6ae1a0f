#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"

struct addrinfo;

namespace mailtrack::redis {

// Where a Redis server is and how to log in: parsed from `redis://[user@]host[:port][/db]`
// (`rediss://` for TLS).
// The password never comes from the URL (it would end up in configs, command lines and logs):
// the caller fills it in from the environment or a file.
struct Endpoint {
    std::string host;
    int port = 6379;
    int database = 0;
    std::string user;      // ACL user; empty = AUTH with the password only (the `default` user)
    std::string password;  // empty = no AUTH
    bool tls = false;      // rediss://: TLS 1.2+, the server's certificate verified against the host
};

// Parses a redis:// or rediss:// URL. Errors (ErrorKind::config) name what is wrong.
// A password in the URL (`user:password@`) is refused as well: it belongs in the environment
// (MAILTRACK_REDIS_PASSWORD) or a file (redis.password_file).
util::Result<Endpoint> parse_url(std::string_view url);

struct ClientOptions {
    Endpoint endpoint;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds command_timeout{500};
    // After a failed connect or a lost connection, calls fail at once (ErrorKind::storage_unavailable)
    // for this long before the next connect is tried, so an outage costs no timeout per call.
    std::chrono::milliseconds reconnect_interval{1000};
    // With TLS: the CA certificates (PEM) that may sign the server's certificate; empty = the
    // system's (/etc/ssl/certs), which is what ElastiCache's Amazon-issued certificates need.
    std::string tls_ca_file;
    // How a host name is looked up, getaddrinfo's contract (what it finds is released with
    // freeaddrinfo); empty = ::getaddrinfo. A lookup that has not answered within
    // connect_timeout fails the connect; tests put a slow resolver here.
    using Resolver = std::function<int(const char* host, const char* service, const addrinfo* hints, addrinfo** found)>;
    Resolver resolve;
};

// One RESP reply. Server error replies (`-NOSCRIPT ...`, `-WRONGTYPE ...`) are replies of type
// `error`, not failures: the connection is fine and the caller decides.
struct Reply {
    enum class Type { nil, string, status, integer, array, error };
    Type type = Type::nil;
    std::string text;  // string, status and error
    std::int64_t integer = 0;
    std::vector<Reply> elements;

    bool is_error() const noexcept { return type == Type::error; }
    bool is_nil() const noexcept { return type == Type::nil; }
    // For an error reply, its first word ("NOSCRIPT", "WRONGPASS", ...).
    std::string_view error_code() const noexcept;
};

// A blocking connection to one Redis server with timeouts, optional TLS, AUTH (password or ACL
// user + password), SELECT of the database and reconnect after loss. hiredis formats commands
// and parses replies; the socket and TLS (OpenSSL) are ours, since Debian 12's hiredis 0.14.1
// has no TLS.
//
// Every call connects first if needed. Failures:
//   storage_unavailable -- cannot resolve or connect, TLS handshake or certificate refused, the
//                          connection broke, or a timeout (the connection is dropped and re-made
//                          on a later call, after reconnect_interval);
//   config              -- the server refused AUTH or SELECT (wrong password, user, database),
//                          or tls_ca_file cannot be loaded.
// Not thread-safe: one Client per thread, or a caller-held lock.
class Client {
public:
    Client(ClientOptions options, const util::Clock& clock);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends one command (`{"SET", key, value, "NX"}`) and returns the reply.
    util::Result<Reply> command(const std::vector<std::string>& args);
    // Sends all commands in one write and reads all replies (one round trip).
    util::Result<std::vector<Reply>> pipeline(const std::vector<std::vector<std::string>>& commands);

    // Whether a connection is currently open (it may still turn out to be dead).
    bool connected() const noexcept;
    // Drops the connection now (the next call reconnects at once).
    void disconnect() noexcept;
    const Endpoint& endpoint() const noexcept { return m_options.endpoint; }

private:
    struct Context;
    util::Result<void> ensure_connected();
    util::Result<void> open_socket();
    util::Result<void> start_tls();
    util::Result<void> write_all(std::string_view data);
    util::Result<Reply> read_reply();
    util::Unexpected<util::Error> broken(std::string what);

    ClientOptions m_options;
    const util::Clock& m_clock;
    std::unique_ptr<Context> m_context;
    std::chrono::steady_clock::time_point m_next_attempt{};
};

}  // namespace mailtrack::redis
