#pragma once

#include <nlohmann/json.hpp>

#include <span>
#include <string>

#include "mailtrack/sender/bulk.hpp"
#include "mailtrack/sender/sender.hpp"
#include "mailtrack/store/store.hpp"

namespace mailtrack::views {

// Where one recipient of a send stands: skipped before the SES call, its status from the event
// path once events arrived (the recipient view), or the send's own status until then.
nlohmann::json send_recipient(const store::SendRecord& s, const store::SendRecipient& r,
                              const core::RecipientState* state);

// One send by its send id: {send_id, status, ses_message_id, linked_by_event, idempotency_key,
// created_at, updated_at, attempts, from, subject, template, configuration_set, error_code,
// error_message, recipients: [...]}; `states` are the recipients' states of the SES message
// (empty before SES accepted it or before any event).
nlohmann::json send(const store::SendRecord& s, std::span<const core::RecipientState> states);

// The state in `states` of `address`, or null.
const core::RecipientState* state_of(std::span<const core::RecipientState> states, const std::string& address);

// The answer to a send: {ok: true, send_id, ses_message_id, duplicate, skipped: [{address,
// reason, detail}], warnings}.
nlohmann::json send_result(const sender::SendResult& r);

// A send that failed: {ok: false, error, send_id?, aws_error_code?, suppressed?: [{address, reason}]}.
nlohmann::json send_error(const sender::SendError& e);

// The counts of a bulk send by outcome.
struct BulkTally {
    std::size_t sent = 0, already_sent = 0, suppressed = 0, failed = 0, in_doubt = 0;
    bool clean(std::size_t bad_rows) const { return bad_rows == 0 && failed == 0 && in_doubt == 0; }
};
BulkTally tally(std::span<const sender::BulkRowResult> results);

// One row that did not simply go out: {line, address, outcome, detail, send_id}.
nlohmann::json bulk_row(const sender::BulkRowResult& r);

// The answer to a bulk send: {ok, sent, already_sent, suppressed, failed, in_doubt,
// bad_rows: [{line, error}], rows: [bulk_row of every row neither sent nor already sent]}.
nlohmann::json bulk_result(std::span<const sender::BulkRowResult> results,
                           std::span<const sender::BulkRowError> bad_rows);

}  // namespace mailtrack::views
