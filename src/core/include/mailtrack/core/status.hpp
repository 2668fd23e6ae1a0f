#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mailtrack::core {

// A recipient's delivery status. Declared lowest to highest precedence: a recipient's status
// is the highest status any of its events implies (docs/STATUS_MODEL.md).
enum class RecipientStatus : std::uint8_t {
    queued,
    sent,
    delivery_delayed,
    soft_bounced,
    delivered,
    rendering_failed,
    rejected,
    bounced,
    complained,
};

inline constexpr int k_status_count = 9;

constexpr int precedence(RecipientStatus s) noexcept {
    return static_cast<int>(s);
}
std::string_view to_string(RecipientStatus s) noexcept;
std::optional<RecipientStatus> parse_status(std::string_view text) noexcept;
std::optional<RecipientStatus> status_from_precedence(int value) noexcept;

// The SES event types, plus `unknown` for types this version does not know (kept, reported).
enum class EventType : std::uint8_t {
    send,
    reject,
    bounce,
    complaint,
    delivery,
    delivery_delay,
    open,
    click,
    rendering_failure,
    subscription,
    unknown,
};

inline constexpr int k_event_type_count = 11;

// "send", "delivery_delay", ... (ours, stable, used in storage and output)
std::string_view to_string(EventType t) noexcept;
std::optional<EventType> parse_event_type(std::string_view text) noexcept;
// The eventType/notificationType spelling SES uses: "Send", "DeliveryDelay", "Rendering Failure".
std::string_view ses_name(EventType t) noexcept;
// Maps an SES eventType/notificationType value; unknown names give EventType::unknown.
EventType event_type_from_ses(std::string_view name) noexcept;

}  // namespace mailtrack::core
