#include "mailtrack/redis/client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

namespace mailtrack::redis {
namespace {

using util::ErrorKind;

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

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

}  // namespace

std::string_view Reply::error_code() const noexcept {
    if (type != Type::error) return {};
    const std::string_view t = text;
    return t.substr(0, t.find(' '));
}

struct Client::Context {
    redisContext* c = nullptr;
    ~Context() {
        if (c != nullptr) redisFree(c);
    }
};

Client::Client(ClientOptions options, const util::Clock& clock) : m_options(std::move(options)), m_clock(clock) {}
Client::~Client() = default;

bool Client::connected() const noexcept { return m_context != nullptr; }

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

util::Result<void> Client::ensure_connected() {
    if (m_context) return {};
    const Endpoint& e = m_options.endpoint;
    const std::string where = "redis " + e.host + ":" + std::to_string(e.port);
    if (m_clock.steady_now() < m_next_attempt) {
        return util::fail(ErrorKind::storage_unavailable, where + ": not connected (waiting to reconnect)");
    }
    auto ctx = std::make_unique<Context>();
    ctx->c = redisConnectWithTimeout(e.host.c_str(), e.port, to_timeval(m_options.connect_timeout));
    if (ctx->c == nullptr) return broken("cannot allocate a connection");
    if (ctx->c->err != 0) return broken(std::string("connect: ") + ctx->c->errstr);
    if (redisSetTimeout(ctx->c, to_timeval(m_options.command_timeout)) != REDIS_OK) {
        return broken(std::string("setting the command timeout: ") + ctx->c->errstr);
    }
    redisEnableKeepAlive(ctx->c);
    m_context = std::move(ctx);

    auto login = [&](const std::vector<std::string>& args, std::string_view what) -> util::Result<void> {
        auto r = command(args);
        if (!r) return util::Unexpected(std::move(r).error());
        if (r->is_error()) {
            m_context.reset();
            m_next_attempt = m_clock.steady_now() + m_options.reconnect_interval;
            return util::fail(ErrorKind::config, where + ": " + std::string(what) + " refused: " + r->text);
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

util::Result<Reply> Client::read_reply() {
    void* raw = nullptr;
    if (redisGetReply(m_context->c, &raw) != REDIS_OK || raw == nullptr) {
        return broken(std::string("reading a reply: ") + m_context->c->errstr);
    }
    ReplyPtr owned(raw);
    return convert(*static_cast<redisReply*>(raw));
}

util::Result<Reply> Client::command(const std::vector<std::string>& args) {
    auto many = pipeline({args});
    if (!many) return util::Unexpected(std::move(many).error());
    return std::move(many->front());
}

util::Result<std::vector<Reply>> Client::pipeline(const std::vector<std::vector<std::string>>& commands) {
    if (auto c = ensure_connected(); !c) return util::Unexpected(std::move(c).error());
    for (const auto& args : commands) {
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        argv.reserve(args.size());
        lens.reserve(args.size());
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (redisAppendCommandArgv(m_context->c, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
            return broken(std::string("queueing a command: ") + m_context->c->errstr);
        }
    }
    std::vector<Reply> replies;
    replies.reserve(commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        auto r = read_reply();
        if (!r) return util::Unexpected(std::move(r).error());
        replies.push_back(std::move(*r));
    }
    return replies;
}

}  // namespace mailtrack::redis
