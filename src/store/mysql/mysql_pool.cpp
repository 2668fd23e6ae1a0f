#include <mysqld_error.h>

#include <chrono>

#include "mailtrack/util/log.hpp"

#include "mysql_db.hpp"

// Connections: connecting (TLS modes, timeouts, a rotated password read again) and the pool.

namespace mailtrack::store {

using util::ErrorKind;
using util::Result;

Result<std::unique_ptr<Connection>> MysqlStore::Impl::connect(bool with_database) {
    std::string password;
    {
        std::lock_guard lock(password_mutex);
        password = options.password;
    }
    unsigned refused = 0;
    auto first = connect_with(with_database, password, refused);
    if (first || !options.refresh_password || refused != ER_ACCESS_DENIED_ERROR) return first;
    auto fresh = options.refresh_password();
    if (!fresh) {
        return util::fail(first.error().kind,
                          first.error().message + "; reading the password again failed: " + fresh.error().describe());
    }
    if (*fresh == password) return first;
    auto second = connect_with(with_database, *fresh, refused);
    if (second) {
        std::lock_guard lock(password_mutex);
        options.password = std::move(*fresh);
        util::log::info("mysql: connected with the password read again (the secret was rotated)",
                        {{"user", options.user}});
    }
    return second;
}

Result<std::unique_ptr<Connection>> MysqlStore::Impl::connect_with(bool with_database, const std::string& password,
                                                                   unsigned& error_number) {
    auto c = std::make_unique<Connection>();
    c->db = mysql_init(nullptr);
    if (c->db == nullptr) return util::fail(ErrorKind::internal, "mysql: out of memory");
    const unsigned connect_timeout = static_cast<unsigned>(options.connect_timeout_s);
    const unsigned io_timeout = static_cast<unsigned>(options.io_timeout_s);
    mysql_optionsv(c->db, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_optionsv(c->db, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_optionsv(c->db, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    mysql_optionsv(c->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const bool socket = options.host.starts_with('/');
    const unsigned protocol = socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_optionsv(c->db, MYSQL_OPT_PROTOCOL, &protocol);
    if (options.ssl_mode != MysqlSslMode::disabled) {
        const my_bool enforce = 1;
        const my_bool verify = options.ssl_mode == MysqlSslMode::required ? 0 : 1;
        mysql_optionsv(c->db, MYSQL_OPT_SSL_ENFORCE, &enforce);
        mysql_optionsv(c->db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
        if (!options.ssl_ca.empty()) mysql_optionsv(c->db, MYSQL_OPT_SSL_CA, options.ssl_ca.c_str());
    }
    const char* host = socket ? nullptr : options.host.c_str();
    const char* unix_socket = socket ? options.host.c_str() : nullptr;
    if (mysql_real_connect(c->db, host, options.user.c_str(), password.c_str(),
                           with_database ? options.database.c_str() : nullptr, socket ? 0 : options.port, unix_socket,
                           0) == nullptr) {
        const unsigned e = mysql_errno(c->db);
        // Refused, unreachable or timed out: the server may come back. Anything else at
        // connect time (access denied, TLS verification, unknown database) is configuration.
        const bool transient = connection_lost(e) || mysql_kind_of(e) == ErrorKind::storage_unavailable;
        error_number = e;
        return util::fail(transient ? ErrorKind::storage_unavailable : ErrorKind::storage,
                          "mysql: connecting to " + options.host + ":" + std::to_string(options.port) + " as '" +
                              options.user + "' (ssl-mode " + std::string(to_string(options.ssl_mode)) +
                              "): " + mysql_error(c->db) + " (error " + std::to_string(e) + ")");
    }
    for (const char* setup : {"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                              "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"}) {
        MAILTRACK_TRY(c->exec(setup, setup));
    }
    return c;
}

Result<std::unique_ptr<Connection>> MysqlStore::Impl::acquire() {
    std::unique_lock lock(mutex);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.connect_timeout_s);
    while (idle.empty() && open_connections >= options.pool_size) {
        if (available.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
            open_connections >= options.pool_size) {
            return util::fail(ErrorKind::storage_unavailable,
                              "mysql: all " + std::to_string(options.pool_size) + " pooled connections stayed busy");
        }
    }
    if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
    }
    ++open_connections;
    lock.unlock();
    auto c = connect(true);
    if (!c) {
        lock.lock();
        --open_connections;
        available.notify_one();
    }
    return c;
}

void MysqlStore::Impl::release(std::unique_ptr<Connection> c) {
    std::vector<std::unique_ptr<Connection>> dropped;
    {
        std::lock_guard lock(mutex);
        if (connection_lost(c->last_errno)) {
            --open_connections;
            dropped.push_back(std::move(c));
            for (auto& i : idle) dropped.push_back(std::move(i));
            open_connections -= static_cast<int>(idle.size());
            idle.clear();
        } else {
            c->last_errno = 0;
            idle.push_back(std::move(c));
        }
    }
    available.notify_all();
}

}  // namespace mailtrack::store
