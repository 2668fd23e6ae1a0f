#include "mailtrack/core/status.hpp"

#include <array>

namespace mailtrack::core {
namespace {

constexpr std::array<std::string_view, k_status_count> k_status_names = {
    "queued",           "sent",     "delivery_delayed", "soft_bounced", "delivered",
    "rendering_failed", "rejected", "bounced",          "complained"};

constexpr std::array<std::string_view, k_event_type_count> k_type_names = {
    "send",         "reject", "bounce", "complaint", "delivery", "delivery_delay", "open", "click", "rendering_failure",
    "subscription", "unknown"};

constexpr std::array<std::string_view, k_event_type_count> k_ses_names = {
    "Send",         "Reject", "Bounce", "Complaint", "Delivery", "DeliveryDelay", "Open", "Click", "Rendering Failure",
    "Subscription", ""};

}  // namespace

std::string_view to_string(RecipientStatus s) noexcept {
    return k_status_names[static_cast<std::size_t>(s)];
}

std::optional<RecipientStatus> parse_status(std::string_view text) noexcept {
    for (std::size_t i = 0; i < k_status_names.size(); ++i) {
        if (k_status_names[i] == text) return static_cast<RecipientStatus>(i);
    }
    return std::nullopt;
}

std::optional<RecipientStatus> status_from_precedence(int value) noexcept {
    if (value < 0 || value >= k_status_count) return std::nullopt;
    return static_cast<RecipientStatus>(value);
}

std::string_view to_string(EventType t) noexcept {
    return k_type_names[static_cast<std::size_t>(t)];
}

std::optional<EventType> parse_event_type(std::string_view text) noexcept {
    for (std::size_t i = 0; i < k_type_names.size(); ++i) {
        if (k_type_names[i] == text) return static_cast<EventType>(i);
    }
    return std::nullopt;
}

std::string_view ses_name(EventType t) noexcept {
    return k_ses_names[static_cast<std::size_t>(t)];
}

EventType event_type_from_ses(std::string_view name) noexcept {
    for (std::size_t i = 0; i + 1 < k_ses_names.size(); ++i) {
        if (k_ses_names[i] == name) return static_cast<EventType>(i);
    }
    // The SES documentation spells the rendering failure type with a space; accept the
    // spacing-free variant some tools emit as well.
    if (name == "RenderingFailure") return EventType::rendering_failure;
    return EventType::unknown;
}

}  // namespace mailtrack::core
