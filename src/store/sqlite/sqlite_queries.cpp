#include <unordered_map>

#include "mailtrack/store_sql/shared_sql.hpp"

#include "sqlite_db.hpp"

// Reads: a message with its recipients and timeline, recipient lists, counts, store info.

namespace mailtrack::store {

using core::RecipientState;
using util::Result;
using util::UnixMillis;

Result<std::optional<MessageView>> SqliteStore::message(std::string_view message_id, bool with_raw_json) {
    Impl& s = *m_impl;
    s.get_message.reset();
    s.get_message.bind(message_id);
    const int rc = s.get_message.step();
    if (rc == SQLITE_DONE) return std::optional<MessageView>();
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading a message");
    MessageView view;
    view.message = sql::read_row<core::MessageState>(sql::k_message_columns, s.get_message);
    s.get_message.reset();

    Statement rs;
    MAILTRACK_TRY(s.prepare(
        rs, sql::select_from(sql::k_recipient_columns, "recipients") + "WHERE message_id = ? ORDER BY address"));
    rs.bind(message_id);
    int step = 0;
    while ((step = rs.step()) == SQLITE_ROW)
        view.recipients.push_back(sql::read_row<RecipientState>(sql::k_recipient_columns, rs));
    if (step != SQLITE_DONE) return db_error(s.db, step, "reading recipients");

    Statement es;
    MAILTRACK_TRY(s.prepare(es, std::string(sql::k_timeline_select) + "?" + std::string(sql::k_timeline_order)));
    es.bind(message_id);
    std::unordered_map<std::int64_t, std::string> archives;
    Statement as;
    if (with_raw_json) MAILTRACK_TRY(s.prepare(as, "SELECT raw_size, data FROM event_archive WHERE archive_id = ?"));
    while ((step = es.step()) == SQLITE_ROW) {
        sql::TimelineRow row = sql::read_timeline_row(es, message_id);
        if (with_raw_json) {
            auto it = archives.find(row.archive_id);
            if (it == archives.end()) {
                as.reset();
                as.bind(row.archive_id);
                if (as.step() != SQLITE_ROW) return sql::archive_missing(row.archive_id);
                const auto raw_size = as.int64();
                MAILTRACK_TRY_ASSIGN(std::string data, s.decompress(as.blob(), raw_size));
                it = archives.emplace(row.archive_id, std::move(data)).first;
            }
            MAILTRACK_TRY_ASSIGN(row.event.raw_json, sql::raw_json_of(row, it->second));
        }
        view.events.push_back(std::move(row.event));
    }
    if (step != SQLITE_DONE) return db_error(s.db, step, "reading events");
    return std::optional<MessageView>(std::move(view));
}

Result<std::vector<RecipientState>> SqliteStore::recipients(const RecipientFilter& filter) {
    Impl& s = *m_impl;
    const std::string text = sql::select_from(sql::k_recipient_columns, "recipients") +
                             sql::recipient_filter_sql(filter, [](const auto&) { return std::string("?"); });
    Statement q;
    MAILTRACK_TRY(s.prepare(q, text));
    // In the order recipient_filter_sql asks for them.
    if (filter.address) q.bind(*filter.address);
    if (filter.status) q.bind(static_cast<std::int64_t>(core::precedence(*filter.status)));
    if (filter.since) q.bind(*filter.since);
    q.bind(static_cast<std::int64_t>(filter.limit));
    std::vector<RecipientState> out;
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(sql::read_row<RecipientState>(sql::k_recipient_columns, q));
    if (rc != SQLITE_DONE) return db_error(s.db, rc, "listing recipients");
    return out;
}

Result<DeliveryCounts> SqliteStore::counts(std::optional<UnixMillis> since) {
    Impl& s = *m_impl;
    const std::string where = since ? " WHERE m.mail_timestamp >= ?1" : "";
    Statement q;
    MAILTRACK_TRY(s.prepare(q, sql::recipient_counts_sql(where)));
    if (since) q.bind(*since);
    DeliveryCounts c;
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW) {
        const auto status = q.int64();
        const auto n = q.int64();
        const auto delivered = q.int64();
        const auto hard_bounced = q.int64();
        sql::add_status_counts(c, status, n, delivered, hard_bounced, q.int64());
    }
    if (rc != SQLITE_DONE) return db_error(s.db, rc, "counting recipients");
    Statement m;
    MAILTRACK_TRY(s.prepare(m, sql::message_counts_sql(where)));
    if (since) m.bind(*since);
    if ((rc = m.step()) != SQLITE_ROW) return db_error(s.db, rc, "counting messages");
    c.messages = m.int64();
    c.opens = m.int64();
    c.clicks = m.int64();
    return c;
}

Result<StoreInfo> SqliteStore::info() {
    Impl& s = *m_impl;
    Statement q;
    MAILTRACK_TRY(s.prepare(q, std::string(sql::k_info_sql)));
    if (const int rc = q.step(); rc != SQLITE_ROW) return db_error(s.db, rc, "reading store info");
    StoreInfo i;
    i.events = q.int64();
    i.archived_raw_bytes = q.int64();
    i.archived_stored_bytes = q.int64();
    return i;
}

}  // namespace mailtrack::store
