#pragma once

// The status model (docs/STATUS_MODEL.md): what each event implies for a message and its
// recipients, and how those implications combine.
//
// Every fact below is combined by a join that is commutative, associative and idempotent,
// so any order of events reaches the same state. Counters are the one exception: they add,
// which is why the store applies each event identity exactly once.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mailtrack/core/event.hpp"
#include "mailtrack/core/status.hpp"

namespace mailtrack::core {

struct DeliveryFact {
    UnixMillis at = 0;
    EventId event;
    std::string smtp_response, reporting_mta;
    std::int64_t processing_time_millis = 0;
    bool operator==(const DeliveryFact&) const = default;
};

struct BounceFact {
    UnixMillis at = 0;
    EventId event;
    std::string bounce_type, bounce_subtype, action, status_code, diagnostic_code;
    bool operator==(const BounceFact&) const = default;
};

struct ComplaintFact {
    UnixMillis at = 0;
    EventId event;
    std::string feedback_type, complaint_subtype, user_agent;
    bool operator==(const ComplaintFact&) const = default;
};

struct DelayFact {
    UnixMillis at = 0;
    EventId event;
    std::string delay_type, status_code, diagnostic_code;
    std::optional<UnixMillis> expiration_time;
    bool operator==(const DelayFact&) const = default;
};

struct FailureFact {  // Reject ("Bad content") and Rendering Failure
    UnixMillis at = 0;
    EventId event;
    std::string reason, template_name;
    bool operator==(const FailureFact&) const = default;
};

// Open, click and subscription facts: counts plus first and last time.
struct Engagement {
    std::int64_t opens = 0;
    std::optional<UnixMillis> first_open_at, last_open_at;
    std::int64_t clicks = 0;
    std::optional<UnixMillis> first_click_at, last_click_at;
    std::int64_t subscription_changes = 0;
    std::optional<UnixMillis> unsubscribed_at;  // first Subscription event that unsubscribed from all
    bool operator==(const Engagement&) const = default;
};

struct StatusStamp {
    RecipientStatus status = RecipientStatus::queued;
    UnixMillis at = 0;
    EventId event;  // zero when set by the sending path rather than an event
    bool operator==(const StatusStamp&) const = default;
};

struct RecipientState {
    std::string message_id;
    std::string address;  // normalized
    StatusStamp status;
    std::optional<DeliveryFact> delivery;
    std::optional<BounceFact> bounce;
    std::optional<ComplaintFact> complaint;
    std::optional<DelayFact> delay;
    std::optional<FailureFact> failure;
    Engagement engagement;
    std::int64_t soft_bounces = 0;
    std::int64_t event_count = 0;
    std::optional<UnixMillis> first_event_at, last_event_at;
    bool operator==(const RecipientState&) const = default;
};

struct MessageState {
    std::string message_id;
    StatusStamp status;
    std::optional<UnixMillis> mail_timestamp;
    std::string source, subject, sending_account_id, source_arn, configuration_set;
    std::string send_id;  // our send id, from the mail tag k_send_id_tag
    std::int64_t recipient_count = 0;
    Engagement engagement;
    std::int64_t event_count = 0;
    std::int64_t unknown_events = 0;
    std::optional<UnixMillis> first_event_at, last_event_at;
    bool operator==(const MessageState&) const = default;
};

// Why an address is on the suppression list. Higher wins when several apply.
enum class SuppressionReason : std::uint8_t { manual, soft_bounce_policy, bounce, complaint };
std::string_view to_string(SuppressionReason r) noexcept;
std::optional<SuppressionReason> parse_suppression_reason(std::string_view text) noexcept;

struct Suppression {
    std::string address;
    SuppressionReason reason = SuppressionReason::manual;
    UnixMillis since = 0;
    EventId source_event;
    std::string detail;
    std::optional<UnixMillis> expires_at;
    bool operator==(const Suppression&) const = default;
};

// The tag every send carries with our send id, so events link back to the send.
inline constexpr std::string_view k_send_id_tag = "mailtrack-send-id";

// Everything one event implies.
struct EventEffects {
    MessageState message;
    std::vector<RecipientState> recipients;  // one per affected (normalized) address
    std::vector<Suppression> suppressions;   // permanent bounces and complaints
    std::vector<std::string> soft_bounced;   // addresses with a transient/undetermined bounce
};

EventEffects effects_of(const SesEvent& event);

// The joins. `into` and `from` must describe the same message (and address).
void merge_into(RecipientState& into, const RecipientState& from);
void merge_into(MessageState& into, const MessageState& from);
void merge_into(Suppression& into, const Suppression& from);

// The status a bounce type implies: Permanent -> bounced; Transient, Undetermined and
// unknown types -> soft_bounced.
RecipientStatus status_of_bounce(std::string_view bounce_type) noexcept;

}  // namespace mailtrack::core
