#include "mailtrack/views/message_view.hpp"

#include "mailtrack/views/json_time.hpp"
#include "mailtrack/views/recipient_view.hpp"

namespace mailtrack::views {

using nlohmann::json;

json event(const store::EventRecord& e, bool with_raw) {
    json j = {{"id", e.id.hex()},
              {"type", std::string(core::to_string(e.type))},
              {"ses_type", e.type_name},
              {"timestamp", time(e.occurred_at)}};
    if (with_raw) j["raw"] = json::parse(e.raw_json, nullptr, false);
    if (with_raw && j["raw"].is_discarded()) j["raw"] = nullptr;
    return j;
}

json message(const store::MessageView& v, bool with_raw) {
    const auto& m = v.message;
    json recipients = json::array();
    for (const auto& r : v.recipients) recipients.push_back(recipient(r));
    json events = json::array();
    for (const auto& e : v.events) events.push_back(event(e, with_raw));
    return {{"message_id", m.message_id},
            {"status", std::string(core::to_string(m.status.status))},
            {"mail_timestamp", time(m.mail_timestamp)},
            {"source", m.source},
            {"subject", m.subject},
            {"send_id", m.send_id},
            {"configuration_set", m.configuration_set},
            {"recipient_count", m.recipient_count},
            {"event_count", m.event_count},
            {"unknown_events", m.unknown_events},
            {"engagement", engagement(m.engagement)},
            {"recipients", std::move(recipients)},
            {"events", std::move(events)}};
}

}  // namespace mailtrack::views
