#pragma once

// Builds SES event JSON for tests and benchmarks, in the shapes the SES developer guide
// documents. Not a parser: the parser under test never sees anything but the text.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/core/status.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::testing {

struct EventSpec {
    core::EventType type = core::EventType::send;
    std::string message_id;
    std::vector<std::string> destination;  // mail.destination
    std::vector<std::string> affected;     // recipients named by bounce/complaint/delivery/delay
    util::UnixMillis mail_timestamp = 0;
    util::UnixMillis timestamp = 0;  // the event's own timestamp
    std::string bounce_type = "Permanent";
    std::string bounce_subtype = "General";
    int variant = 0;                   // varies ids/user agents so events differ
    std::size_t header_bytes = 0;      // pad mail.headers to make realistic sizes
    bool notification_format = false;  // notificationType instead of eventType
    std::string send_id;               // the mailtrack-send-id tag; empty = derived from message_id
};

std::string ses_json(const EventSpec& spec);
std::string sns_wrap(std::string_view ses_json, std::string_view sns_message_id);

// A realistic stream: `emails` messages with 1-2 recipients each, 2-4 events per email
// (Send, then Delivery/Bounce/Complaint/DeliveryDelay/Open/Click...), some out of order,
// each about 2-3 KB once SNS-wrapped. Deterministic for a seed.
std::vector<std::string> realistic_stream(std::size_t emails, std::uint32_t seed, bool wrapped = true);

}  // namespace mailtrack::testing
