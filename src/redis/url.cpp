#include <charconv>

#include "mailtrack/redis/client.hpp"

namespace mailtrack::redis {
namespace {

util::Unexpected<util::Error> bad(std::string_view url, std::string why) {
    return util::fail(util::ErrorKind::config, "redis.url \"" + std::string(url) + "\": " + std::move(why));
}

bool parse_int(std::string_view text, int& out) {
    if (text.empty()) return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

util::Result<Endpoint> parse_url(std::string_view url) {
    constexpr std::string_view plain = "redis://", tls = "rediss://";
    Endpoint e;
    std::string_view rest;
    if (url.starts_with(tls)) {
        e.tls = true;
        rest = url.substr(tls.size());
    } else if (url.starts_with(plain)) {
        rest = url.substr(plain.size());
    } else {
        return bad(url, "must start with redis:// or rediss://");
    }
    if (const auto q = rest.find('?'); q != std::string_view::npos)
        return bad(url, "query parameters are not supported");
    std::string_view path;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (userinfo.find(':') != std::string_view::npos) {
            return util::fail(util::ErrorKind::config,
                              "redis.url: a password in the URL is not accepted (it would show in configs and "
                              "logs); set MAILTRACK_REDIS_PASSWORD, redis.password_file or redis.auth_secret_arn");
        }
        e.user = std::string(userinfo);
    }
    std::string_view port;
    if (rest.starts_with('[')) {  // [::1]:6379
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return bad(url, "unterminated [IPv6] host");
        e.host = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
        if (rest.starts_with(':'))
            port = rest.substr(1);
        else if (!rest.empty())
            return bad(url, "unexpected text after the host");
    } else {
        const auto colon = rest.rfind(':');
        e.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) port = rest.substr(colon + 1);
    }
    if (e.host.empty()) return bad(url, "no host");
    if (!port.empty() || rest.ends_with(':')) {
        if (!parse_int(port, e.port) || e.port < 1 || e.port > 65535) return bad(url, "port must be 1..65535");
    }
    if (!path.empty() && (!parse_int(path, e.database) || e.database < 0 || e.database > 15999)) {
        return bad(url, "the path must be a database number (/0)");
    }
    return e;
}

}  // namespace mailtrack::redis
