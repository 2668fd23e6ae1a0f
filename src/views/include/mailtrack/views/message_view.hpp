#pragma once

#include <nlohmann/json.hpp>

#include "mailtrack/store/store.hpp"

namespace mailtrack::views {

// One event of a message's timeline: {id, type, ses_type, timestamp} and, with_raw, raw (the
// archived SES JSON, parsed; null when it does not parse).
nlohmann::json event(const store::EventRecord& e, bool with_raw);

// One message: {message_id, status, mail_timestamp, source, subject, send_id, configuration_set,
// recipient_count, event_count, unknown_events, engagement, recipients: [recipient...],
// events: [event...]} (events in timeline order).
nlohmann::json message(const store::MessageView& v, bool with_raw);

}  // namespace mailtrack::views
