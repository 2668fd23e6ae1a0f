#include <map>

#include "mailtrack/store_sql/shared_sql.hpp"

#include "mysql_db.hpp"

// The sending path: sends and their recipients, and the message rows a send's acceptance
// writes through the event path's upserts.

namespace mailtrack::store {

using core::MessageState;
using core::RecipientState;
using util::ErrorKind;
using util::Result;
using util::UnixMillis;

namespace {
std::string status_sql(SendStatus s) {
    return num(sql::stored(s));
}
}  // namespace

Result<std::optional<SendRecord>> MysqlStore::Impl::read_send(Connection& c, std::string_view where, bool for_update) {
    MAILTRACK_TRY_ASSIGN(Rows row, c.select("SELECT " + std::string(sql::k_send_columns) + " FROM sends WHERE " +
                                                std::string(where) + (for_update ? " FOR UPDATE" : ""),
                                            "reading a send"));
    if (!row.next()) return std::optional<SendRecord>();
    SendRecord x = sql::read_send_row(row);
    MAILTRACK_TRY_ASSIGN(Rows rs, c.select(std::string(sql::k_send_recipients_select) + bin(x.send_id) +
                                               std::string(sql::k_send_recipients_order),
                                           "reading send recipients"));
    while (rs.next()) x.recipients.push_back(sql::read_send_recipient(rs));
    if (x.ses_message_id.empty()) {
        MAILTRACK_TRY_ASSIGN(Rows link, c.select(std::string(sql::k_linked_message_select) + bin(x.send_id) +
                                                     std::string(sql::k_linked_message_order),
                                                 "looking for a message linked to a send"));
        if (link.next()) sql::link_by_event(x, link.text());
    }
    return std::optional<SendRecord>(std::move(x));
}

Result<SendClaim> MysqlStore::begin_send(const SendRecord& draft) {
    Impl& s = *m_impl;
    // Two senders racing on one key: the second insert waits on the first's unique-key lock
    // and then fails with a duplicate (1062), which restarts this transaction; the retry
    // finds the first send.
    return s.in_transaction([&](Connection& c) -> Result<SendClaim> {
        if (!draft.idempotency_key.empty()) {
            MAILTRACK_TRY_ASSIGN(auto existing,
                                 s.read_send(c, "idempotency_key = " + bin(draft.idempotency_key), false));
            if (existing) return SendClaim{std::move(*existing), false};
        }
        const std::string insert = "INSERT INTO sends (" + std::string(sql::k_send_columns) + ") VALUES (" +
                                   bin(draft.send_id) + "," + text(draft.idempotency_key) + "," +
                                   status_sql(SendStatus::queued) + "," + num(draft.created_at) + "," +
                                   num(draft.created_at) + ",1," + bin(draft.from) + "," + text(draft.subject) + "," +
                                   text(draft.template_name) + "," + text(draft.configuration_set) + ",NULL,NULL,NULL)";
        MAILTRACK_TRY(c.exec(insert, "recording a send"));
        std::vector<std::string> rows;
        for (const SendRecipient& r : draft.recipients) {
            rows.push_back("(" + bin(draft.send_id) + "," + bin(r.address) + "," +
                           num(static_cast<std::int64_t>(r.role)) + "," + text(r.skipped) + ")");
        }
        MAILTRACK_TRY(
            insert_rows(c, "INSERT INTO send_recipients (" + std::string(sql::k_send_recipient_columns) + ") VALUES ",
                        rows, "", "recording send recipients"));
        return sql::claim_of_new_send(draft);
    });
}

Result<void> MysqlStore::retry_send(std::string_view send_id, UnixMillis at) {
    return m_impl->with_connection([&](Connection& c) -> Result<void> {
        MAILTRACK_TRY(c.exec("UPDATE sends SET status = " + status_sql(SendStatus::queued) +
                                 ", attempts = attempts + 1, updated_at = " + num(at) +
                                 ", error_code = NULL, error_message = NULL WHERE send_id = " + bin(send_id),
                             "starting a send attempt"));
        if (c.affected() == 0) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
        return {};
    });
}

Result<void> MysqlStore::send_accepted(std::string_view send_id, std::string_view ses_message_id, UnixMillis at) {
    if (ses_message_id.empty()) return util::fail(ErrorKind::invalid_input, "empty SES message id");
    Impl& s = *m_impl;
    return s.in_transaction([&](Connection& c) -> Result<void> {
        MAILTRACK_TRY_ASSIGN(const auto stored, s.read_send(c, "send_id = " + bin(send_id), true));
        if (!stored) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
        MAILTRACK_TRY(c.exec("UPDATE sends SET status = " + status_sql(SendStatus::sent) +
                                 ", ses_message_id = " + bin(ses_message_id) + ", updated_at = " + num(at) +
                                 ", error_code = NULL, error_message = NULL WHERE send_id = " + bin(send_id),
                             "recording an SES message id"));
        // The rows as the sending path knows them, joined by the same SQL as events' effects,
        // so the order of the two does not matter.
        sql::AcceptedRows accepted = sql::accepted_rows(*stored, ses_message_id, at);
        std::map<std::pair<std::string, std::string>, RecipientState> recipients;
        for (RecipientState& r : accepted.recipients) {
            auto key = std::make_pair(r.message_id, r.address);
            recipients.emplace(std::move(key), std::move(r));
        }
        std::map<std::string, MessageState, std::less<>> messages;
        messages.emplace(accepted.message.message_id, std::move(accepted.message));
        return s.write_states(c, messages, recipients);
    });
}

Result<void> MysqlStore::send_failed(std::string_view send_id, std::string_view error_code,
                                     std::string_view error_message, UnixMillis at) {
    // A failure never overwrites a recorded success (a late error report of an accepted send).
    return m_impl->with_connection([&](Connection& c) {
        return c.exec("UPDATE sends SET status = " + status_sql(SendStatus::failed) + ", error_code = " +
                          text(error_code) + ", error_message = " + text(error_message) + ", updated_at = " + num(at) +
                          " WHERE send_id = " + bin(send_id) + " AND status <> " + status_sql(SendStatus::sent),
                      "recording a failed send");
    });
}

Result<std::optional<SendRecord>> MysqlStore::send(std::string_view send_id) {
    Impl& s = *m_impl;
    return s.with_connection([&](Connection& c) { return s.read_send(c, "send_id = " + bin(send_id), false); });
}

}  // namespace mailtrack::store
