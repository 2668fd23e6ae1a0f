#include "mailtrack/store_sql/shared_sql.hpp"

#include "sqlite_db.hpp"

// The sending path: sends and their recipients, and the message rows a send's acceptance writes.

namespace mailtrack::store {

using util::ErrorKind;
using util::Result;
using util::UnixMillis;

namespace {
std::string status_sql(SendStatus s) {
    return std::to_string(sql::stored(s));
}
}  // namespace

Result<void> SqliteStore::Impl::prepare_send_statements() {
    const std::string select = "SELECT " + std::string(sql::k_send_columns) + " FROM sends ";
    const std::string queued = status_sql(SendStatus::queued);
    const std::string sent = status_sql(SendStatus::sent);
    const std::string failed = status_sql(SendStatus::failed);
    const std::pair<Statement*, std::string> statements[] = {
        {&sends.insert_send,
         "INSERT INTO sends (" + std::string(sql::k_send_columns) + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&sends.insert_recipient,
         "INSERT INTO send_recipients (" + std::string(sql::k_send_recipient_columns) + ") VALUES (?,?,?,?)"},
        {&sends.find_by_key, select + "WHERE idempotency_key = ?"},
        {&sends.get_send, select + "WHERE send_id = ?"},
        {&sends.get_recipients,
         std::string(sql::k_send_recipients_select) + "?" + std::string(sql::k_send_recipients_order)},
        {&sends.mark_attempt, "UPDATE sends SET status = " + queued +
                                  ", attempts = attempts + 1, updated_at = ?2, error_code = NULL, error_message = NULL "
                                  "WHERE send_id = ?1"},
        {&sends.mark_sent, "UPDATE sends SET status = " + sent +
                               ", ses_message_id = ?2, updated_at = ?3, error_code = NULL, error_message = NULL "
                               "WHERE send_id = ?1"},
        // A failure never overwrites a recorded success (a late error report of an accepted send).
        {&sends.mark_failed,
         "UPDATE sends SET status = " + failed +
             ", error_code = ?2, error_message = ?3, updated_at = ?4 WHERE send_id = ?1 AND status <> " + sent},
        {&sends.find_linked_message,
         std::string(sql::k_linked_message_select) + "?" + std::string(sql::k_linked_message_order)},
    };
    for (const auto& [stmt, text] : statements) MAILTRACK_TRY(prepare(*stmt, text));
    return {};
}

// Reads the send the statement has just stepped onto, then its recipients.
Result<SendRecord> SqliteStore::Impl::read_send(Statement& row) {
    SendRecord x = sql::read_send_row(row);
    row.reset();

    Statement& rs = sends.get_recipients;
    rs.reset();
    rs.bind(x.send_id);
    int rc = 0;
    while ((rc = rs.step()) == SQLITE_ROW) x.recipients.push_back(sql::read_send_recipient(rs));
    rs.reset();
    if (rc != SQLITE_DONE) return db_error(db, rc, "reading send recipients");

    if (x.ses_message_id.empty()) {
        Statement& link = sends.find_linked_message;
        link.reset();
        link.bind(x.send_id);
        rc = link.step();
        if (rc == SQLITE_ROW)
            sql::link_by_event(x, link.text());
        else if (rc != SQLITE_DONE)
            return db_error(db, rc, "looking for a message linked to a send");
        link.reset();
    }
    return x;
}

Result<SendClaim> SqliteStore::begin_send(const SendRecord& draft) {
    Impl& s = *m_impl;
    SendStatements& q = s.sends;
    return s.in_transaction([&]() -> Result<SendClaim> {
        if (!draft.idempotency_key.empty()) {
            q.find_by_key.reset();
            q.find_by_key.bind(draft.idempotency_key);
            const int rc = q.find_by_key.step();
            if (rc == SQLITE_ROW) {
                MAILTRACK_TRY_ASSIGN(SendRecord existing, s.read_send(q.find_by_key));
                return SendClaim{std::move(existing), false};
            }
            if (rc != SQLITE_DONE) return db_error(s.db, rc, "looking up an idempotency key");
        }
        q.insert_send.reset();
        q.insert_send.bind(draft.send_id);
        q.insert_send.bind(draft.idempotency_key);
        q.insert_send.bind(sql::stored(SendStatus::queued));
        q.insert_send.bind(draft.created_at);
        q.insert_send.bind(draft.created_at);
        q.insert_send.bind(std::int64_t{1});
        q.insert_send.bind(draft.from);
        q.insert_send.bind(draft.subject);
        q.insert_send.bind(draft.template_name);
        q.insert_send.bind(draft.configuration_set);
        q.insert_send.bind(std::string_view());
        q.insert_send.bind(std::string_view());
        q.insert_send.bind(std::string_view());
        MAILTRACK_TRY(s.run(q.insert_send, "recording a send"));
        for (const SendRecipient& r : draft.recipients) {
            q.insert_recipient.reset();
            q.insert_recipient.bind(draft.send_id);
            q.insert_recipient.bind(r.address);
            q.insert_recipient.bind(static_cast<std::int64_t>(r.role));
            q.insert_recipient.bind(r.skipped);
            MAILTRACK_TRY(s.run(q.insert_recipient, "recording a send recipient"));
        }
        return sql::claim_of_new_send(draft);
    });
}

Result<void> SqliteStore::retry_send(std::string_view send_id, UnixMillis at) {
    Impl& s = *m_impl;
    s.release_snapshot();
    s.sends.mark_attempt.reset();
    s.sends.mark_attempt.bind(send_id);
    s.sends.mark_attempt.bind(at);
    MAILTRACK_TRY(s.run(s.sends.mark_attempt, "starting a send attempt"));
    if (sqlite3_changes(s.db) == 0) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
    return {};
}

Result<void> SqliteStore::Impl::send_accepted_in_transaction(std::string_view send_id, std::string_view ses_message_id,
                                                             UnixMillis at) {
    sends.get_send.reset();
    sends.get_send.bind(send_id);
    const int rc = sends.get_send.step();
    if (rc == SQLITE_DONE) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
    if (rc != SQLITE_ROW) return db_error(db, rc, "reading a send");
    MAILTRACK_TRY_ASSIGN(const SendRecord stored, read_send(sends.get_send));

    sends.mark_sent.reset();
    sends.mark_sent.bind(send_id);
    sends.mark_sent.bind(ses_message_id);
    sends.mark_sent.bind(at);
    MAILTRACK_TRY(run(sends.mark_sent, "recording an SES message id"));

    // The rows as the sending path knows them, joined with what events may have stored: the
    // same join the event path uses, so the order of the two does not matter.
    sql::AcceptedRows rows = sql::accepted_rows(stored, ses_message_id, at);
    MAILTRACK_TRY(merge_message(rows.message));
    for (core::RecipientState& r : rows.recipients) MAILTRACK_TRY(merge_recipient(r));
    return {};
}

Result<void> SqliteStore::send_accepted(std::string_view send_id, std::string_view ses_message_id, UnixMillis at) {
    if (ses_message_id.empty()) return util::fail(ErrorKind::invalid_input, "empty SES message id");
    Impl& s = *m_impl;
    return s.in_transaction([&] { return s.send_accepted_in_transaction(send_id, ses_message_id, at); });
}

Result<void> SqliteStore::send_failed(std::string_view send_id, std::string_view error_code,
                                      std::string_view error_message, UnixMillis at) {
    Impl& s = *m_impl;
    s.release_snapshot();
    Statement& q = s.sends.mark_failed;
    q.reset();
    q.bind(send_id);
    q.bind(error_code);
    q.bind(error_message);
    q.bind(at);
    return s.run(q, "recording a failed send");
}

Result<std::optional<SendRecord>> SqliteStore::send(std::string_view send_id) {
    Impl& s = *m_impl;
    s.sends.get_send.reset();
    s.sends.get_send.bind(send_id);
    const int rc = s.sends.get_send.step();
    if (rc == SQLITE_DONE) {
        s.sends.get_send.reset();
        return std::optional<SendRecord>();
    }
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading a send");
    MAILTRACK_TRY_ASSIGN(SendRecord x, s.read_send(s.sends.get_send));
    return std::optional<SendRecord>(std::move(x));
}

}  // namespace mailtrack::store
