#include <zstd.h>

#include <unordered_map>

#include "mailtrack/store_sql/shared_sql.hpp"

#include "mysql_db.hpp"

// Reads: a message with its recipients and timeline, recipient lists, counts, store info.

namespace mailtrack::store {

using core::RecipientState;
using util::ErrorKind;
using util::Result;
using util::UnixMillis;

Result<std::string> MysqlStore::Impl::decompress(std::string_view frame, std::int64_t raw_size) {
    std::string out(static_cast<std::size_t>(raw_size), '\0');
    const std::size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != out.size()) {
        return util::fail(ErrorKind::storage, std::string("event archive is corrupt: ") +
                                                  (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
    }
    return out;
}

Result<std::optional<MessageView>> MysqlStore::message(std::string_view message_id, bool with_raw_json) {
    Impl& s = *m_impl;
    return s.with_connection([&](Connection& c) -> Result<std::optional<MessageView>> {
        MAILTRACK_TRY_ASSIGN(Rows m,
                             c.select(s.message_select + "WHERE message_id = " + bin(message_id), "reading a message"));
        if (!m.next()) return std::optional<MessageView>();
        MessageView view;
        view.message = sql::read_row<core::MessageState>(sql::k_message_columns, m);
        MAILTRACK_TRY_ASSIGN(
            Rows rs, c.select(s.recipient_select + "WHERE message_id = " + bin(message_id) + " ORDER BY address",
                              "reading recipients"));
        while (rs.next()) view.recipients.push_back(sql::read_row<RecipientState>(sql::k_recipient_columns, rs));
        MAILTRACK_TRY_ASSIGN(Rows es, c.select(std::string(sql::k_timeline_select) + bin(message_id) +
                                                   std::string(sql::k_timeline_order),
                                               "reading events"));
        std::unordered_map<std::int64_t, std::string> archives;
        while (es.next()) {
            sql::TimelineRow row = sql::read_timeline_row(es, message_id);
            if (with_raw_json) {
                auto it = archives.find(row.archive_id);
                if (it == archives.end()) {
                    MAILTRACK_TRY_ASSIGN(
                        Rows a,
                        c.select("SELECT raw_size, data FROM event_archive WHERE archive_id = " + num(row.archive_id),
                                 "reading the event archive"));
                    if (!a.next()) return sql::archive_missing(row.archive_id);
                    const auto raw_size = a.int64();
                    const std::string frame = a.text();
                    MAILTRACK_TRY_ASSIGN(std::string data, s.decompress(frame, raw_size));
                    it = archives.emplace(row.archive_id, std::move(data)).first;
                }
                MAILTRACK_TRY_ASSIGN(row.event.raw_json, sql::raw_json_of(row, it->second));
            }
            view.events.push_back(std::move(row.event));
        }
        return std::optional<MessageView>(std::move(view));
    });
}

Result<std::vector<RecipientState>> MysqlStore::recipients(const RecipientFilter& filter) {
    Impl& s = *m_impl;
    struct Literal {
        std::string operator()(std::string_view v) const { return bin(v); }
        std::string operator()(std::int64_t v) const { return num(v); }
    };
    const std::string query = s.recipient_select + sql::recipient_filter_sql(filter, Literal{});
    return s.with_connection([&](Connection& c) -> Result<std::vector<RecipientState>> {
        MAILTRACK_TRY_ASSIGN(Rows rows, c.select(query, "listing recipients"));
        std::vector<RecipientState> out;
        while (rows.next()) out.push_back(sql::read_row<RecipientState>(sql::k_recipient_columns, rows));
        return out;
    });
}

Result<DeliveryCounts> MysqlStore::counts(std::optional<UnixMillis> since) {
    Impl& s = *m_impl;
    const std::string where = since ? " WHERE m.mail_timestamp >= " + num(*since) : "";
    return s.with_connection([&](Connection& c) -> Result<DeliveryCounts> {
        MAILTRACK_TRY_ASSIGN(Rows q, c.select(sql::recipient_counts_sql(where), "counting recipients"));
        DeliveryCounts out;
        while (q.next()) {
            const auto status = q.int64();
            const auto n = q.int64();
            const auto delivered = q.int64();
            const auto hard_bounced = q.int64();
            sql::add_status_counts(out, status, n, delivered, hard_bounced, q.int64());
        }
        MAILTRACK_TRY_ASSIGN(Rows m, c.select(sql::message_counts_sql(where), "counting messages"));
        if (m.next()) {
            out.messages = m.int64();
            out.opens = m.int64();
            out.clicks = m.int64();
        }
        return out;
    });
}

Result<StoreInfo> MysqlStore::info() {
    return m_impl->with_connection([&](Connection& c) -> Result<StoreInfo> {
        MAILTRACK_TRY_ASSIGN(Rows q, c.select(sql::k_info_sql, "reading store info"));
        StoreInfo i;
        if (q.next()) {
            i.events = q.int64();
            i.archived_raw_bytes = q.int64();
            i.archived_stored_bytes = q.int64();
        }
        return i;
    });
}

}  // namespace mailtrack::store
