#include <charconv>

#include "mailtrack/store/mysql_options.hpp"
#include "mailtrack/util/expected.hpp"

namespace mailtrack::store {
namespace {

using util::ErrorKind;
using util::Result;

util::Unexpected<util::Error> url_error(std::string what) {
    return util::fail(ErrorKind::config, "store.mysql_url: " + std::move(what));
}

Result<std::string> percent_decode(std::string_view in, std::string_view part) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        unsigned v = 0;
        if (i + 2 >= in.size() ||
            std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16).ptr != in.data() + i + 3) {
            return url_error("bad %-escape in the " + std::string(part));
        }
        out += static_cast<char>(v);
        i += 2;
    }
    return out;
}

Result<int> positive(std::string_view value, std::string_view key, int max) {
    int v = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < 1 || v > max) {
        return url_error(std::string(key) + " must be a whole number from 1 to " + std::to_string(max) + ", not '" +
                         std::string(value) + "'");
    }
    return v;
}

}  // namespace

std::string_view to_string(MysqlSslMode m) noexcept {
    switch (m) {
        case MysqlSslMode::disabled: return "DISABLED";
        case MysqlSslMode::required: return "REQUIRED";
        case MysqlSslMode::verify_ca: return "VERIFY_CA";
        case MysqlSslMode::verify_identity: return "VERIFY_IDENTITY";
    }
    return "VERIFY_IDENTITY";
}

Result<MysqlOptions> parse_mysql_url(std::string_view url) {
    constexpr std::string_view k_scheme = "mysql://";
    if (!url.starts_with(k_scheme)) {
        return url_error("must start with mysql:// (e.g. mysql://user@host:3306/mailtrack?ssl-mode=VERIFY_IDENTITY)");
    }
    std::string_view rest = url.substr(k_scheme.size());
    MysqlOptions o;
    o.database.clear();
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view path;
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (userinfo.find(':') != std::string_view::npos) {
            return url_error(
                "a password in the URL is not accepted; set MAILTRACK_MYSQL_PASSWORD, "
                "store.mysql_password_file or store.mysql_secret_arn instead");
        }
        MAILTRACK_TRY_ASSIGN(o.user, percent_decode(userinfo, "user name"));
    }
    std::string_view host = rest;
    if (!host.empty() && host.front() == '[') {  // [v6 address]:port
        const auto close = host.find(']');
        if (close == std::string_view::npos) return url_error("unclosed '[' in the host");
        std::string_view after = host.substr(close + 1);
        host = host.substr(1, close - 1);
        if (!after.empty()) {
            if (after.front() != ':') return url_error("unexpected text after the host");
            MAILTRACK_TRY_ASSIGN(const int port, positive(after.substr(1), "the port", 65535));
            o.port = static_cast<unsigned>(port);
        }
    } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        MAILTRACK_TRY_ASSIGN(const int port, positive(host.substr(colon + 1), "the port", 65535));
        o.port = static_cast<unsigned>(port);
        host = host.substr(0, colon);
    }
    if (host.empty()) return url_error("no host (mysql://user@HOST:3306/database)");
    o.host = std::string(host);
    if (!path.empty()) {
        MAILTRACK_TRY_ASSIGN(std::string db, percent_decode(path, "database name"));
        if (db.find('/') != std::string::npos || db.find('`') != std::string::npos) {
            return url_error("database name '" + db + "' may not contain '/' or '`'");
        }
        o.database = std::move(db);
    }
    if (o.database.empty()) return url_error("no database name (mysql://user@host:3306/DATABASE)");
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        MAILTRACK_TRY_ASSIGN(
            auto value, percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), key));
        if (key == "ssl-mode" || key == "ssl_mode" || key == "sslmode") {
            std::string v;
            for (char c : value) v += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
            if (v == "DISABLED")
                o.ssl_mode = MysqlSslMode::disabled;
            else if (v == "REQUIRED")
                o.ssl_mode = MysqlSslMode::required;
            else if (v == "VERIFY_CA")
                o.ssl_mode = MysqlSslMode::verify_ca;
            else if (v == "VERIFY_IDENTITY")
                o.ssl_mode = MysqlSslMode::verify_identity;
            else
                return url_error("ssl-mode must be DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY, not '" + value +
                                 "'");
        } else if (key == "ssl-ca" || key == "ssl_ca") {
            if (value.empty()) return url_error("ssl-ca is empty");
            o.ssl_ca = std::move(value);
        } else if (key == "pool-size") {
            MAILTRACK_TRY_ASSIGN(o.pool_size, positive(value, "pool-size", 256));
        } else if (key == "connect-timeout") {
            MAILTRACK_TRY_ASSIGN(o.connect_timeout_s, positive(value, "connect-timeout", 3600));
        } else if (key == "password") {
            return url_error(
                "a password in the URL is not accepted; set MAILTRACK_MYSQL_PASSWORD, "
                "store.mysql_password_file or store.mysql_secret_arn instead");
        } else {
            return url_error("unknown parameter '" + std::string(key) +
                             "' (known: ssl-mode, ssl-ca, pool-size, connect-timeout)");
        }
    }
    return o;
}

}  // namespace mailtrack::store
