#include "mailtrack/store_sql/shared_sql.hpp"

#include "mysql_db.hpp"

// The suppression list and the per-address soft-bounce counts.

namespace mailtrack::store {

using util::Result;

Result<std::vector<core::Suppression>> MysqlStore::suppressions() {
    Impl& s = *m_impl;
    return s.with_connection([&](Connection& c) -> Result<std::vector<core::Suppression>> {
        MAILTRACK_TRY_ASSIGN(Rows q, c.select(s.suppression_select + "ORDER BY address", "listing suppressions"));
        std::vector<core::Suppression> out;
        while (q.next()) out.push_back(sql::read_row<core::Suppression>(sql::k_suppression_columns, q));
        return out;
    });
}

Result<std::optional<core::Suppression>> MysqlStore::suppression(std::string_view address) {
    Impl& s = *m_impl;
    return s.with_connection([&](Connection& c) -> Result<std::optional<core::Suppression>> {
        MAILTRACK_TRY_ASSIGN(
            Rows q, c.select(s.suppression_select + "WHERE address = " + bin(address), "reading a suppression"));
        if (!q.next()) return std::optional<core::Suppression>();
        return std::optional<core::Suppression>(sql::read_row<core::Suppression>(sql::k_suppression_columns, q));
    });
}

Result<void> MysqlStore::suppress(const core::Suppression& entry) {
    Impl& s = *m_impl;
    // A transaction of its own so that a deadlock with an apply() touching the address is retried.
    return s.in_transaction(
        [&](Connection& c) { return c.exec(s.suppression_upsert(entry), "writing a suppression"); });
}

Result<bool> MysqlStore::unsuppress(std::string_view address) {
    return m_impl->with_connection([&](Connection& c) -> Result<bool> {
        MAILTRACK_TRY(c.exec("DELETE FROM suppressions WHERE address = " + bin(address), "removing a suppression"));
        return c.affected() > 0;
    });
}

Result<std::int64_t> MysqlStore::soft_bounces(std::string_view address) {
    return m_impl->with_connection([&](Connection& c) -> Result<std::int64_t> {
        MAILTRACK_TRY_ASSIGN(Rows q, c.select("SELECT soft_bounces FROM address_stats WHERE address = " + bin(address),
                                              "reading soft bounces"));
        if (!q.next()) return std::int64_t{0};
        return q.int64();
    });
}

}  // namespace mailtrack::store
