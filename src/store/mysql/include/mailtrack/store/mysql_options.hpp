#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "mailtrack/store/open_mode.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::store {

// How the connection is protected, as MySQL's --ssl-mode names it.
enum class MysqlSslMode : std::uint8_t {
    disabled,         // plain TCP
    required,         // TLS, server certificate not checked
    verify_ca,        // TLS, certificate chain checked against ssl_ca (Connector/C 3.3 also checks the host name)
    verify_identity,  // TLS, chain and host name checked (what RDS should be reached with)
};
std::string_view to_string(MysqlSslMode m) noexcept;

struct MysqlOptions {
    std::string host = "127.0.0.1";
    unsigned port = 3306;
    std::string user;
    std::string password;  // never from a URL or the command line (see app::resolve_secret)
    std::string database = "mailtrack";
    MysqlSslMode ssl_mode = MysqlSslMode::verify_identity;
    std::string ssl_ca;  // PEM CA bundle (RDS: global-bundle.pem); empty = the system's
    int pool_size = 4;   // connections kept open; calls beyond wait for one
    int connect_timeout_s = 10;
    int io_timeout_s = 60;  // read/write timeout of one statement round trip
    int max_retries = 10;   // deadlock / lock-wait retries of one transaction
    int archive_zstd_level = 1;
    bool create_database = false;  // CREATE DATABASE IF NOT EXISTS before migrating (tests, first start)
    // must_exist: an unknown database is ErrorKind::not_found naming it, and create_database is
    // ignored (nothing is created).
    OpenMode mode = OpenMode::create_if_missing;
    // Called when the server refuses the password (error 1045) at connect time: a secret that
    // was rotated (RDS rotates a managed master password every 7 days by default) is read again
    // and the connect retried once with what it returns. Unset: the refusal is the error.
    std::function<util::Result<std::string>()> refresh_password;
};

// Parses `mysql://user@host:3306/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem` (also
// `pool-size`, `connect-timeout`). A password in the URL is refused: it would end up in
// shell history, process lists and logs; it comes from the environment, a file or Secrets
// Manager instead. Errors (ErrorKind::config) name the part of the URL that is wrong.
util::Result<MysqlOptions> parse_mysql_url(std::string_view url);

}  // namespace mailtrack::store
