#include "mailtrack/store_sql/shared_sql.hpp"

#include "mysql_db.hpp"

// API keys: each stored as its SHA-256, found by its prefix.

namespace mailtrack::store {

using util::Result;

Result<void> MysqlStore::create_api_key(const ApiKeyRecord& key) {
    return m_impl->with_connection([&](Connection& c) -> Result<void> {
        const std::string insert =
            "INSERT IGNORE INTO api_keys (prefix, hash, name, scope, created_at, revoked_at) VALUES (" +
            bin(key.prefix) + ", " + bin(key.hash) + ", " + bin(key.name) + ", " +
            num(static_cast<std::int64_t>(key.scope)) + ", " + num(key.created_at) + ", " + num(key.revoked_at) + ")";
        MAILTRACK_TRY(c.exec(insert, "creating an API key"));
        if (c.affected() == 0) {
            return util::fail(util::ErrorKind::invalid_input, "an API key with prefix " + key.prefix + " exists");
        }
        return {};
    });
}

Result<std::optional<ApiKeyRecord>> MysqlStore::api_key(std::string_view prefix) {
    return m_impl->with_connection([&](Connection& c) -> Result<std::optional<ApiKeyRecord>> {
        MAILTRACK_TRY_ASSIGN(Rows q, c.select(std::string(sql::k_api_key_select) + "WHERE prefix = " + bin(prefix),
                                              "reading an API key"));
        if (!q.next()) return std::optional<ApiKeyRecord>();
        return std::optional<ApiKeyRecord>(sql::read_api_key(q));
    });
}

Result<std::vector<ApiKeyRecord>> MysqlStore::api_keys() {
    return m_impl->with_connection([&](Connection& c) -> Result<std::vector<ApiKeyRecord>> {
        MAILTRACK_TRY_ASSIGN(
            Rows q, c.select(std::string(sql::k_api_key_select) + "ORDER BY created_at, prefix", "listing API keys"));
        std::vector<ApiKeyRecord> out;
        while (q.next()) out.push_back(sql::read_api_key(q));
        return out;
    });
}

Result<bool> MysqlStore::revoke_api_key(std::string_view prefix, util::UnixMillis at) {
    return m_impl->with_connection([&](Connection& c) -> Result<bool> {
        MAILTRACK_TRY(c.exec("UPDATE api_keys SET revoked_at = " + num(at) + " WHERE prefix = " + bin(prefix) +
                                 " AND revoked_at IS NULL",
                             "revoking an API key"));
        return c.affected() > 0;
    });
}

}  // namespace mailtrack::store
