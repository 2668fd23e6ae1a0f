#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "mailtrack/core/status.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::core {

using util::UnixMillis;

// The identity of one SES event: a 128-bit hash of its (minified) SES JSON, so an SNS
// re-delivery and a duplicate SES publish are the same event.
struct EventId {
    std::array<std::uint8_t, 16> bytes{};

    auto operator<=>(const EventId&) const = default;
    std::string hex() const;
    static EventId of_json(std::string_view minified_json) noexcept;
};

// Which of SES's two JSON formats an event came in.
enum class SesFormat : std::uint8_t { event_publishing, notification };
// How it reached us: the bare SES JSON (SNS raw message delivery) or inside an SNS envelope.
enum class Envelope : std::uint8_t { raw, sns };

struct Header {
    std::string name;
    std::string value;
};

using Tags = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct CommonHeaders {
    std::vector<std::string> from, to, cc, bcc, reply_to;
    std::string sender, return_path, date, message_id, subject;
};

// The `mail` object every SES event carries.
struct MailInfo {
    std::string message_id;  // the SES message id
    UnixMillis timestamp = 0;
    std::string source, source_arn, source_ip, sending_account_id, caller_identity;
    std::vector<std::string> destination;  // as sent; normalized only when keyed
    bool headers_truncated = false;
    std::vector<Header> headers;
    CommonHeaders common_headers;
    Tags tags;

    // The first value of a tag, or empty.
    std::string_view tag(std::string_view name) const noexcept;
};

struct BouncedRecipient {
    std::string address, action, status, diagnostic_code;
};
struct Bounce {
    std::string bounce_type, bounce_subtype;  // as SES spells them; unknown values kept
    std::vector<BouncedRecipient> recipients;
    UnixMillis timestamp = 0;
    std::string feedback_id, reporting_mta, remote_mta_ip;
};
struct Complaint {
    std::vector<std::string> recipients;
    UnixMillis timestamp = 0;
    std::string feedback_id, complaint_subtype, feedback_type, user_agent;
    std::optional<UnixMillis> arrival_date;
};
struct Delivery {
    std::vector<std::string> recipients;
    UnixMillis timestamp = 0;
    std::int64_t processing_time_millis = 0;
    std::string smtp_response, reporting_mta, remote_mta_ip;
};
struct Send {};
struct Reject {
    std::string reason;
};
struct Open {
    UnixMillis timestamp = 0;
    std::string ip_address, user_agent;
};
struct Click {
    UnixMillis timestamp = 0;
    std::string ip_address, user_agent, link;
    Tags link_tags;
};
struct RenderingFailure {
    std::string template_name, error_message;
};
struct DelayedRecipient {
    std::string address, status, diagnostic_code;
};
struct DeliveryDelay {
    std::string delay_type;
    std::vector<DelayedRecipient> recipients;
    std::optional<UnixMillis> expiration_time;
    UnixMillis timestamp = 0;
    std::string reporting_mta;
};
struct TopicPreference {
    std::string topic_name, subscription_status;
};
struct TopicPreferences {
    bool unsubscribe_all = false;
    std::vector<TopicPreference> topics;
};
struct Subscription {
    std::string contact_list, source;
    UnixMillis timestamp = 0;
    TopicPreferences new_preferences, old_preferences;
};
// An eventType this version does not know: kept with its raw JSON.
struct UnknownEvent {};

using EventDetail = std::variant<Send, Reject, Bounce, Complaint, Delivery, DeliveryDelay, Open, Click,
                                 RenderingFailure, Subscription, UnknownEvent>;

// One SES event, parsed. `raw_json` is the minified SES JSON (without any SNS envelope):
// the identity is computed from it and the store archives it.
struct SesEvent {
    EventId id;
    EventType type = EventType::unknown;
    std::string type_name;  // as SES spelled it (meaningful for unknown types)
    SesFormat format = SesFormat::event_publishing;
    Envelope envelope = Envelope::raw;
    std::string sns_message_id;  // empty for raw delivery
    MailInfo mail;
    EventDetail detail;
    // When the event happened, by the event itself: the detail's timestamp, or mail.timestamp
    // for Send, Reject and Rendering Failure, which carry none.
    UnixMillis occurred_at = 0;
    std::string raw_json;
};

}  // namespace mailtrack::core
