#include "mailtrack/views/send_view.hpp"

#include "mailtrack/views/json_time.hpp"
#include "mailtrack/views/recipient_view.hpp"

namespace mailtrack::views {

using nlohmann::json;

const core::RecipientState* state_of(std::span<const core::RecipientState> states, const std::string& address) {
    for (const auto& r : states) {
        if (r.address == address) return &r;
    }
    return nullptr;
}

json send_recipient(const store::SendRecord& s, const store::SendRecipient& r, const core::RecipientState* state) {
    const std::string role(store::to_string(r.role));
    if (!r.skipped.empty())
        return {{"address", r.address}, {"role", role}, {"status", "skipped"}, {"skipped", r.skipped}};
    if (state != nullptr) {
        json x = recipient(*state);
        x["role"] = role;
        return x;
    }
    return {{"address", r.address}, {"role", role}, {"status", std::string(store::to_string(s.status))}};
}

json send(const store::SendRecord& s, std::span<const core::RecipientState> states) {
    json recipients = json::array();
    for (const auto& r : s.recipients) recipients.push_back(send_recipient(s, r, state_of(states, r.address)));
    return {{"send_id", s.send_id},
            {"status", std::string(store::to_string(s.status))},
            {"ses_message_id", s.ses_message_id},
            {"linked_by_event", s.linked_by_event},
            {"idempotency_key", s.idempotency_key},
            {"created_at", time(s.created_at)},
            {"updated_at", time(s.updated_at)},
            {"attempts", s.attempts},
            {"from", s.from},
            {"subject", s.subject},
            {"template", s.template_name},
            {"configuration_set", s.configuration_set},
            {"error_code", s.error_code},
            {"error_message", s.error_message},
            {"recipients", std::move(recipients)}};
}

json send_result(const sender::SendResult& r) {
    json skipped = json::array();
    for (const auto& x : r.skipped) {
        skipped.push_back({{"address", x.address}, {"reason", core::to_string(x.reason)}, {"detail", x.detail}});
    }
    return {{"ok", true},
            {"send_id", r.send_id},
            {"ses_message_id", r.ses_message_id},
            {"duplicate", r.duplicate},
            {"skipped", std::move(skipped)},
            {"warnings", r.warnings}};
}

json send_error(const sender::SendError& e) {
    json out = {{"ok", false}, {"error", e.message}};
    if (!e.send_id.empty()) out["send_id"] = e.send_id;
    if (e.aws) out["aws_error_code"] = e.aws->code;
    if (!e.suppressed.empty()) {
        json list = json::array();
        for (const auto& x : e.suppressed)
            list.push_back({{"address", x.address}, {"reason", core::to_string(x.reason)}});
        out["suppressed"] = std::move(list);
    }
    return out;
}

BulkTally tally(std::span<const sender::BulkRowResult> results) {
    BulkTally t;
    for (const auto& x : results) {
        switch (x.outcome) {
            case sender::BulkOutcome::sent: ++t.sent; break;
            case sender::BulkOutcome::already_sent: ++t.already_sent; break;
            case sender::BulkOutcome::suppressed: ++t.suppressed; break;
            case sender::BulkOutcome::failed: ++t.failed; break;
            case sender::BulkOutcome::in_doubt: ++t.in_doubt; break;
        }
    }
    return t;
}

json bulk_row(const sender::BulkRowResult& r) {
    return {{"line", r.line},
            {"address", r.address},
            {"outcome", sender::to_string(r.outcome)},
            {"detail", r.detail},
            {"send_id", r.send_id}};
}

json bulk_result(std::span<const sender::BulkRowResult> results, std::span<const sender::BulkRowError> bad_rows) {
    const BulkTally t = tally(results);
    json rows = json::array();
    for (const auto& x : results) {
        if (x.outcome != sender::BulkOutcome::sent && x.outcome != sender::BulkOutcome::already_sent)
            rows.push_back(bulk_row(x));
    }
    json bad = json::array();
    for (const auto& e : bad_rows) bad.push_back({{"line", e.line}, {"error", e.message}});
    return {{"ok", t.clean(bad_rows.size())}, {"sent", t.sent},         {"already_sent", t.already_sent},
            {"suppressed", t.suppressed},     {"failed", t.failed},     {"in_doubt", t.in_doubt},
            {"bad_rows", std::move(bad)},     {"rows", std::move(rows)}};
}

}  // namespace mailtrack::views
