#include "mailtrack/store_sql/shared_sql.hpp"

#include "sqlite_db.hpp"

// The suppression list and the per-address soft-bounce counts.

namespace mailtrack::store {

using util::Result;

Result<std::vector<core::Suppression>> SqliteStore::suppressions() {
    Impl& s = *m_impl;
    Statement q;
    MAILTRACK_TRY(s.prepare(q, sql::select_from(sql::k_suppression_columns, "suppressions") + "ORDER BY address"));
    std::vector<core::Suppression> out;
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW)
        out.push_back(sql::read_row<core::Suppression>(sql::k_suppression_columns, q));
    if (rc != SQLITE_DONE) return db_error(s.db, rc, "listing suppressions");
    return out;
}

Result<std::optional<core::Suppression>> SqliteStore::suppression(std::string_view address) {
    Impl& s = *m_impl;
    s.get_suppression.reset();
    s.get_suppression.bind(address);
    const int rc = s.get_suppression.step();
    if (rc == SQLITE_DONE) return std::optional<core::Suppression>();
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading a suppression");
    auto x = sql::read_row<core::Suppression>(sql::k_suppression_columns, s.get_suppression);
    s.get_suppression.reset();
    return std::optional<core::Suppression>(std::move(x));
}

Result<void> SqliteStore::suppress(const core::Suppression& entry) {
    MAILTRACK_TRY_ASSIGN(const auto existing, suppression(entry.address));
    core::Suppression merged = entry;
    if (existing) merge_into(merged, *existing);
    Impl& s = *m_impl;
    s.release_snapshot();
    s.put_suppression.reset();
    s.put_suppression.bind_row(sql::k_suppression_columns, merged);
    return s.run(s.put_suppression, "writing a suppression");
}

Result<bool> SqliteStore::unsuppress(std::string_view address) {
    Impl& s = *m_impl;
    s.release_snapshot();
    s.delete_suppression.reset();
    s.delete_suppression.bind(address);
    MAILTRACK_TRY(s.run(s.delete_suppression, "removing a suppression"));
    return sqlite3_changes(s.db) > 0;
}

Result<std::int64_t> SqliteStore::soft_bounces(std::string_view address) {
    Impl& s = *m_impl;
    s.get_soft_bounces.reset();
    s.get_soft_bounces.bind(address);
    const int rc = s.get_soft_bounces.step();
    if (rc == SQLITE_DONE) return std::int64_t{0};
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading soft bounces");
    const auto n = s.get_soft_bounces.int64();
    s.get_soft_bounces.reset();
    return n;
}

}  // namespace mailtrack::store
