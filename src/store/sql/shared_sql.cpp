#include "mailtrack/store_sql/shared_sql.hpp"

namespace mailtrack::store::sql {

std::string recipient_counts_sql(std::string_view where) {
    // Bounces onto the account suppression list are not attempts and SES leaves them out of
    // the bounce rate; so do we.
    return "SELECT r.status, COUNT(*), SUM(r.delivered_at IS NOT NULL), SUM(r.status = " +
           std::to_string(core::precedence(core::RecipientStatus::bounced)) +
           " AND COALESCE(r.bounce_subtype, '') <> 'OnAccountSuppressionList'), "
           "SUM(r.complained_at IS NOT NULL) FROM recipients r JOIN messages m USING (message_id)" +
           std::string(where) + " GROUP BY r.status";
}

std::string message_counts_sql(std::string_view where) {
    return "SELECT COUNT(*), COALESCE(SUM(opens), 0), COALESCE(SUM(clicks), 0) FROM messages m" + std::string(where);
}

void add_status_counts(DeliveryCounts& c, std::int64_t status, std::int64_t n, std::int64_t delivered,
                       std::int64_t hard_bounced, std::int64_t complained) {
    if (status >= 0 && status < core::k_status_count) c.by_status[status] = n;
    c.recipients += n;
    c.delivered += delivered;
    c.hard_bounced += hard_bounced;
    c.complained += complained;
    const auto st = core::status_from_precedence(static_cast<int>(status)).value_or(core::RecipientStatus::queued);
    if (st != core::RecipientStatus::queued && st != core::RecipientStatus::rejected &&
        st != core::RecipientStatus::rendering_failed) {
        c.sent += n;
    }
}

SendStatus send_status_at(std::int64_t v) {
    if (v == stored(SendStatus::sent)) return SendStatus::sent;
    if (v == stored(SendStatus::failed)) return SendStatus::failed;
    return SendStatus::queued;
}

RecipientRole recipient_role_at(std::int64_t v) {
    if (v == static_cast<std::int64_t>(RecipientRole::cc)) return RecipientRole::cc;
    if (v == static_cast<std::int64_t>(RecipientRole::bcc)) return RecipientRole::bcc;
    return RecipientRole::to;
}

SendClaim claim_of_new_send(const SendRecord& draft) {
    SendClaim claim{draft, true};
    claim.send.status = SendStatus::queued;
    claim.send.attempts = 1;
    claim.send.updated_at = draft.created_at;
    return claim;
}

void link_by_event(SendRecord& send, std::string message_id) {
    send.ses_message_id = std::move(message_id);
    send.linked_by_event = true;
    send.status = SendStatus::sent;
}

AcceptedRows accepted_rows(const SendRecord& send, std::string_view ses_message_id, util::UnixMillis at) {
    AcceptedRows out;
    core::MessageState& m = out.message;
    m.message_id = std::string(ses_message_id);
    m.status = core::StatusStamp{core::RecipientStatus::queued, at, core::EventId{}};
    m.mail_timestamp = at;
    m.source = send.from;
    m.subject = send.subject;
    m.configuration_set = send.configuration_set;
    m.send_id = send.send_id;
    for (const SendRecipient& r : send.recipients) {
        if (!r.skipped.empty()) continue;
        core::RecipientState st;
        st.message_id = m.message_id;
        st.address = r.address;
        st.status = core::StatusStamp{core::RecipientStatus::queued, at, core::EventId{}};
        out.recipients.push_back(std::move(st));
    }
    m.recipient_count = static_cast<std::int64_t>(out.recipients.size());
    return out;
}

util::Result<std::string> raw_json_of(const TimelineRow& row, const std::string& archive) {
    if (row.archive_offset < 0 || row.archive_length < 0 ||
        static_cast<std::size_t>(row.archive_offset + row.archive_length) > archive.size()) {
        return util::fail(util::ErrorKind::storage, "event archive slice out of range for event " + row.event.id.hex());
    }
    return archive.substr(static_cast<std::size_t>(row.archive_offset), static_cast<std::size_t>(row.archive_length));
}

util::Unexpected<util::Error> archive_missing(std::int64_t archive_id) {
    return util::fail(util::ErrorKind::storage, "event archive " + std::to_string(archive_id) + " is missing");
}

}  // namespace mailtrack::store::sql
