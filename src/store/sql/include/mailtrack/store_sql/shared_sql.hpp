#pragma once

// The SQL and row handling both SQL stores share beyond the column table (columns.hpp): the
// events, sends and suppressions column lists, the counts and info queries, and what a store
// derives from rows it read. Backends add only what their dialect and API differ in (parameter
// style, upserts, transactions). Not part of the Store interface.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/core/state.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/store_sql/columns.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::store::sql {

// The events table: every event once, by identity, pointing at its slice of an archive frame.
inline constexpr std::string_view k_event_columns =
    "message_id, event_id, type, type_name, occurred_at, archive_id, archive_offset, archive_length";
// A message's timeline, read with read_timeline_row; the backend appends the message id condition
// (a parameter or a literal) and then k_timeline_order.
inline constexpr std::string_view k_timeline_select =
    "SELECT event_id, type, type_name, occurred_at, archive_offset, archive_length, archive_id FROM events "
    "WHERE message_id = ";
inline constexpr std::string_view k_timeline_order = " ORDER BY occurred_at, event_id";

inline constexpr std::string_view k_info_sql =
    "SELECT (SELECT COUNT(*) FROM events), (SELECT COALESCE(SUM(raw_size), 0) FROM event_archive), "
    "(SELECT COALESCE(SUM(LENGTH(data)), 0) FROM event_archive)";

inline constexpr std::string_view k_send_columns =
    "send_id, idempotency_key, status, created_at, updated_at, attempts, from_address, subject, template_name, "
    "configuration_set, ses_message_id, error_code, error_message";
inline constexpr std::string_view k_send_recipient_columns = "send_id, address, role, skipped";
// The backend appends the send id condition, then k_send_recipients_order.
inline constexpr std::string_view k_send_recipients_select =
    "SELECT address, role, skipped FROM send_recipients WHERE send_id = ";
inline constexpr std::string_view k_send_recipients_order = " ORDER BY role, address";
// The backend appends the send id condition, then k_linked_message_order.
inline constexpr std::string_view k_linked_message_select = "SELECT message_id FROM messages WHERE send_id = ";
inline constexpr std::string_view k_linked_message_order = " ORDER BY message_id LIMIT 1";

// "SELECT <columns> FROM <table> " for a column table.
template <typename Table>
std::string select_from(const Table& table, std::string_view from) {
    return "SELECT " + column_names(table) + " FROM " + std::string(from) + " ";
}

// Counting recipients per stored status (columns: status, count, delivered, hard bounced,
// complained), over messages matching `where` ("" or " WHERE m.mail_timestamp >= <since>").
std::string recipient_counts_sql(std::string_view where);
// Columns: messages, opens, clicks.
std::string message_counts_sql(std::string_view where);
// Adds one row of recipient_counts_sql to `c`.
void add_status_counts(DeliveryCounts& c, std::int64_t status, std::int64_t n, std::int64_t delivered,
                       std::int64_t hard_bounced, std::int64_t complained);

// The WHERE/ORDER/LIMIT of Store::recipients after "SELECT <recipient columns> FROM recipients ".
// `param(value)` renders each value where the statement takes it (a placeholder that the caller
// binds in the same order, or a literal), called in order with std::string_view or std::int64_t.
template <typename Param>
std::string recipient_filter_sql(const RecipientFilter& f, Param&& param) {
    std::string sql = "WHERE 1=1";
    if (f.address) sql += " AND address = " + param(std::string_view(*f.address));
    if (f.status) sql += " AND status = " + param(static_cast<std::int64_t>(core::precedence(*f.status)));
    if (f.since) sql += " AND last_event_at >= " + param(static_cast<std::int64_t>(*f.since));
    sql += " ORDER BY last_event_at DESC, message_id, address LIMIT " + param(static_cast<std::int64_t>(f.limit));
    return sql;
}

inline constexpr std::int64_t stored(SendStatus s) {
    return static_cast<std::int64_t>(s);
}
SendStatus send_status_at(std::int64_t v);
RecipientRole recipient_role_at(std::int64_t v);

// A sends row (k_send_columns), without its recipients.
template <typename Reader>
SendRecord read_send_row(Reader& row) {
    SendRecord x;
    x.send_id = row.text();
    x.idempotency_key = row.text();
    x.status = send_status_at(row.int64());
    x.created_at = row.int64();
    x.updated_at = row.int64();
    x.attempts = row.int64();
    x.from = row.text();
    x.subject = row.text();
    x.template_name = row.text();
    x.configuration_set = row.text();
    x.ses_message_id = row.text();
    x.error_code = row.text();
    x.error_message = row.text();
    return x;
}

// A send_recipients row as k_send_recipients_select reads it.
template <typename Reader>
SendRecipient read_send_recipient(Reader& row) {
    SendRecipient r;
    r.address = row.text();
    r.role = recipient_role_at(row.int64());
    r.skipped = row.text();
    return r;
}

// What begin_send() answers for a draft it recorded.
SendClaim claim_of_new_send(const SendRecord& draft);

// A message found through the send-id tag links a send whose message id was never recorded.
void link_by_event(SendRecord& send, std::string message_id);

// The rows send_accepted() joins into messages and recipients: the message as the sending path
// knows it, and a `queued` recipient for each address that was sent to.
struct AcceptedRows {
    core::MessageState message;
    std::vector<core::RecipientState> recipients;  // in the send's recipient order
};
AcceptedRows accepted_rows(const SendRecord& send, std::string_view ses_message_id, util::UnixMillis at);

// One timeline row (k_timeline_select) and where its raw JSON is.
struct TimelineRow {
    EventRecord event;
    std::int64_t archive_offset = 0;
    std::int64_t archive_length = 0;
    std::int64_t archive_id = 0;
};
template <typename Reader>
TimelineRow read_timeline_row(Reader& r, std::string_view message_id) {
    TimelineRow t;
    t.event.id = r.event_id();
    const auto type = r.int64();
    t.event.type =
        type >= 0 && type < core::k_event_type_count ? static_cast<core::EventType>(type) : core::EventType::unknown;
    t.event.type_name = r.text();
    t.event.message_id = std::string(message_id);
    t.event.occurred_at = r.int64();
    t.archive_offset = r.int64();
    t.archive_length = r.int64();
    t.archive_id = r.int64();
    return t;
}
// The row's raw JSON out of its decompressed archive frame; ErrorKind::storage when the slice
// lies outside it.
util::Result<std::string> raw_json_of(const TimelineRow& row, const std::string& archive);
util::Unexpected<util::Error> archive_missing(std::int64_t archive_id);

// API keys (migration 3), read the same way from a SQLite statement or a MySQL result.
inline constexpr std::string_view k_api_key_select =
    "SELECT prefix, hash, name, scope, created_at, revoked_at FROM api_keys ";
template <typename Row>
ApiKeyRecord read_api_key(Row& q) {
    ApiKeyRecord k;
    k.prefix = q.text();
    k.hash = q.text();
    k.name = q.text();
    k.scope = static_cast<ApiScope>(q.int64());
    k.created_at = q.int64();
    k.revoked_at = q.opt_int64();
    return k;
}

}  // namespace mailtrack::store::sql
