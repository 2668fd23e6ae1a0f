#include "mailtrack/store_sql/shared_sql.hpp"

#include "sqlite_db.hpp"

// API keys: each stored as its SHA-256, found by its prefix.

namespace mailtrack::store {

using util::Result;

Result<void> SqliteStore::create_api_key(const ApiKeyRecord& key) {
    MAILTRACK_TRY_ASSIGN(const auto existing, api_key(key.prefix));
    if (existing) return util::fail(util::ErrorKind::invalid_input, "an API key with prefix " + key.prefix + " exists");
    Impl& s = *m_impl;
    s.release_snapshot();
    Statement q;
    MAILTRACK_TRY(s.prepare(q,
                            "INSERT INTO api_keys (prefix, hash, name, scope, created_at, revoked_at) "
                            "VALUES (?,?,?,?,?,?)"));
    q.bind(key.prefix);
    q.bind(key.hash);
    q.bind(key.name);
    q.bind(static_cast<std::int64_t>(key.scope));
    q.bind(key.created_at);
    q.bind(key.revoked_at);
    return s.run(q, "creating an API key");
}

Result<std::optional<ApiKeyRecord>> SqliteStore::api_key(std::string_view prefix) {
    Impl& s = *m_impl;
    Statement q;
    MAILTRACK_TRY(s.prepare(q, std::string(sql::k_api_key_select) + "WHERE prefix = ?"));
    q.bind(prefix);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<ApiKeyRecord>();
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading an API key");
    auto k = sql::read_api_key(q);
    q.reset();
    return std::optional<ApiKeyRecord>(std::move(k));
}

Result<std::vector<ApiKeyRecord>> SqliteStore::api_keys() {
    Impl& s = *m_impl;
    Statement q;
    MAILTRACK_TRY(s.prepare(q, std::string(sql::k_api_key_select) + "ORDER BY created_at, prefix"));
    std::vector<ApiKeyRecord> out;
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(sql::read_api_key(q));
    if (rc != SQLITE_DONE) return db_error(s.db, rc, "listing API keys");
    q.reset();
    return out;
}

Result<bool> SqliteStore::revoke_api_key(std::string_view prefix, util::UnixMillis at) {
    Impl& s = *m_impl;
    s.release_snapshot();
    Statement q;
    MAILTRACK_TRY(s.prepare(q, "UPDATE api_keys SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL"));
    q.bind(at);
    q.bind(prefix);
    MAILTRACK_TRY(s.run(q, "revoking an API key"));
    return sqlite3_changes(s.db) > 0;
}

}  // namespace mailtrack::store
