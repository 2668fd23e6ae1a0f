#include "mailtrack/core/state.hpp"

#include <algorithm>
#include <tuple>

#include "mailtrack/core/address.hpp"

namespace mailtrack::core {
namespace {

// Joins of optional values. Each picks by a total order, so the result never depends on
// which side was "first".
void keep_min(std::optional<UnixMillis>& into, const std::optional<UnixMillis>& from) {
    if (from && (!into || *from < *into)) into = from;
}
void keep_max(std::optional<UnixMillis>& into, const std::optional<UnixMillis>& from) {
    if (from && (!into || *from > *into)) into = from;
}
// Descriptive text that should agree across events (the mail object): non-empty beats empty,
// and two different values resolve to the smaller, which is arbitrary but order-independent.
void keep_text(std::string& into, const std::string& from) {
    if (!from.empty() && (into.empty() || from < into)) into = from;
}

template <typename Fact, typename Better>
void keep_fact(std::optional<Fact>& into, const std::optional<Fact>& from, Better better) {
    if (from && (!into || better(*from, *into))) into = from;
}

// Earliest wins; the event id breaks ties.
template <typename Fact>
bool earlier(const Fact& a, const Fact& b) {
    return std::tie(a.at, a.event) < std::tie(b.at, b.event);
}

int bounce_severity(std::string_view type) {
    if (type == "Permanent") return 3;
    if (type == "Undetermined") return 2;
    if (type == "Transient") return 1;
    return 0;
}

bool better_bounce(const BounceFact& a, const BounceFact& b) {
    const int sa = bounce_severity(a.bounce_type);
    const int sb = bounce_severity(b.bounce_type);
    if (sa != sb) return sa > sb;
    return earlier(a, b);
}

// The latest delay is the one worth showing; ties by event id.
bool later_delay(const DelayFact& a, const DelayFact& b) {
    return std::tie(a.at, b.event) > std::tie(b.at, a.event);
}

void merge_status(StatusStamp& into, const StatusStamp& from) {
    if (precedence(from.status) != precedence(into.status)) {
        if (precedence(from.status) > precedence(into.status)) into = from;
        return;
    }
    if (std::tie(from.at, from.event) < std::tie(into.at, into.event)) into = from;
}

void merge_engagement(Engagement& into, const Engagement& from) {
    into.opens += from.opens;
    keep_min(into.first_open_at, from.first_open_at);
    keep_max(into.last_open_at, from.last_open_at);
    into.clicks += from.clicks;
    keep_min(into.first_click_at, from.first_click_at);
    keep_max(into.last_click_at, from.last_click_at);
    into.subscription_changes += from.subscription_changes;
    keep_min(into.unsubscribed_at, from.unsubscribed_at);
}

RecipientState& recipient_for(EventEffects& fx, const SesEvent& ev, std::string_view raw_address,
                              RecipientStatus status) {
    std::string address = normalize_address(raw_address);
    for (auto& r : fx.recipients) {
        if (r.address == address) return r;
    }
    RecipientState& r = fx.recipients.emplace_back();
    r.message_id = ev.mail.message_id;
    r.address = std::move(address);
    r.status = StatusStamp{status, ev.occurred_at, ev.id};
    r.event_count = 1;
    r.first_event_at = ev.occurred_at;
    r.last_event_at = ev.occurred_at;
    return r;
}

}  // namespace

RecipientStatus status_of_bounce(std::string_view bounce_type) noexcept {
    return bounce_type == "Permanent" ? RecipientStatus::bounced : RecipientStatus::soft_bounced;
}

std::string_view to_string(SuppressionReason r) noexcept {
    switch (r) {
        case SuppressionReason::manual: return "manual";
        case SuppressionReason::soft_bounce_policy: return "soft_bounce_policy";
        case SuppressionReason::bounce: return "bounce";
        case SuppressionReason::complaint: return "complaint";
    }
    return "?";
}

std::optional<SuppressionReason> parse_suppression_reason(std::string_view text) noexcept {
    for (auto r : {SuppressionReason::manual, SuppressionReason::soft_bounce_policy, SuppressionReason::bounce,
                   SuppressionReason::complaint}) {
        if (to_string(r) == text) return r;
    }
    return std::nullopt;
}

EventEffects effects_of(const SesEvent& ev) {
    EventEffects fx;
    MessageState& m = fx.message;
    m.message_id = ev.mail.message_id;
    m.mail_timestamp = ev.mail.timestamp;
    m.source = ev.mail.source;
    m.subject = ev.mail.common_headers.subject;
    m.sending_account_id = ev.mail.sending_account_id;
    m.source_arn = ev.mail.source_arn;
    m.configuration_set = std::string(ev.mail.tag("ses:configuration-set"));
    m.send_id = std::string(ev.mail.tag(k_send_id_tag));
    m.recipient_count = static_cast<std::int64_t>(ev.mail.destination.size());
    m.event_count = 1;
    m.first_event_at = ev.occurred_at;
    m.last_event_at = ev.occurred_at;
    if (ev.type == EventType::unknown) {
        m.unknown_events = 1;
        m.status = StatusStamp{RecipientStatus::queued, 0, EventId{}};
        return fx;
    }

    // Calls f on each destination's state as it is created: holding references across
    // recipient_for() calls would dangle when the vector grows.
    auto each_destination = [&](RecipientStatus status, const auto& f) {
        for (const auto& d : ev.mail.destination) f(recipient_for(fx, ev, d, status));
    };
    // SES does not say who opened or clicked: only a single-recipient message tells.
    auto sole_recipient = [&](RecipientStatus status) -> RecipientState* {
        return ev.mail.destination.size() == 1 ? &recipient_for(fx, ev, ev.mail.destination.front(), status) : nullptr;
    };

    RecipientStatus message_status = RecipientStatus::queued;
    std::visit(
        [&](const auto& d) {
            using D = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<D, Send>) {
                message_status = RecipientStatus::sent;
                each_destination(message_status, [](RecipientState&) {});
            } else if constexpr (std::is_same_v<D, Reject> || std::is_same_v<D, RenderingFailure>) {
                constexpr bool is_reject = std::is_same_v<D, Reject>;
                message_status = is_reject ? RecipientStatus::rejected : RecipientStatus::rendering_failed;
                FailureFact f{ev.occurred_at, ev.id, {}, {}};
                if constexpr (is_reject) {
                    f.reason = d.reason;
                } else {
                    f.reason = d.error_message;
                    f.template_name = d.template_name;
                }
                each_destination(message_status, [&f](RecipientState& r) { r.failure = f; });
            } else if constexpr (std::is_same_v<D, Bounce>) {
                message_status = status_of_bounce(d.bounce_type);
                for (const auto& b : d.recipients) {
                    RecipientState& r = recipient_for(fx, ev, b.address, message_status);
                    r.bounce = BounceFact{ev.occurred_at, ev.id,    d.bounce_type,    d.bounce_subtype,
                                          b.action,       b.status, b.diagnostic_code};
                    if (message_status == RecipientStatus::bounced) {
                        fx.suppressions.push_back(Suppression{r.address, SuppressionReason::bounce, ev.occurred_at,
                                                              ev.id, d.bounce_type + "/" + d.bounce_subtype,
                                                              std::nullopt});
                    } else {
                        r.soft_bounces = 1;
                        fx.soft_bounced.push_back(r.address);
                    }
                }
            } else if constexpr (std::is_same_v<D, Complaint>) {
                message_status = RecipientStatus::complained;
                for (const auto& a : d.recipients) {
                    RecipientState& r = recipient_for(fx, ev, a, message_status);
                    r.complaint =
                        ComplaintFact{ev.occurred_at, ev.id, d.feedback_type, d.complaint_subtype, d.user_agent};
                    fx.suppressions.push_back(Suppression{r.address, SuppressionReason::complaint, ev.occurred_at,
                                                          ev.id, d.feedback_type, std::nullopt});
                }
            } else if constexpr (std::is_same_v<D, Delivery>) {
                message_status = RecipientStatus::delivered;
                for (const auto& a : d.recipients) {
                    recipient_for(fx, ev, a, message_status).delivery =
                        DeliveryFact{ev.occurred_at, ev.id, d.smtp_response, d.reporting_mta, d.processing_time_millis};
                }
            } else if constexpr (std::is_same_v<D, DeliveryDelay>) {
                message_status = RecipientStatus::delivery_delayed;
                for (const auto& a : d.recipients) {
                    recipient_for(fx, ev, a.address, message_status).delay =
                        DelayFact{ev.occurred_at, ev.id, d.delay_type, a.status, a.diagnostic_code, d.expiration_time};
                }
            } else if constexpr (std::is_same_v<D, Open> || std::is_same_v<D, Click> ||
                                 std::is_same_v<D, Subscription>) {
                message_status = RecipientStatus::delivered;
                Engagement e;
                if constexpr (std::is_same_v<D, Open>) {
                    e.opens = 1;
                    e.first_open_at = e.last_open_at = ev.occurred_at;
                } else if constexpr (std::is_same_v<D, Click>) {
                    e.clicks = 1;
                    e.first_click_at = e.last_click_at = ev.occurred_at;
                } else {
                    e.subscription_changes = 1;
                    if (d.new_preferences.unsubscribe_all) e.unsubscribed_at = ev.occurred_at;
                }
                m.engagement = e;
                if (RecipientState* r = sole_recipient(message_status)) r->engagement = e;
            }
        },
        ev.detail);
    m.status = StatusStamp{message_status, ev.occurred_at, ev.id};
    return fx;
}

void merge_into(RecipientState& into, const RecipientState& from) {
    merge_status(into.status, from.status);
    keep_fact(into.delivery, from.delivery, earlier<DeliveryFact>);
    keep_fact(into.bounce, from.bounce, better_bounce);
    keep_fact(into.complaint, from.complaint, earlier<ComplaintFact>);
    keep_fact(into.delay, from.delay, later_delay);
    keep_fact(into.failure, from.failure, [](const FailureFact& a, const FailureFact& b) {
        // Reject outranks rendering failure (it has a reason, not a template); then earliest.
        const bool ra = a.template_name.empty();
        const bool rb = b.template_name.empty();
        if (ra != rb) return ra;
        return earlier(a, b);
    });
    merge_engagement(into.engagement, from.engagement);
    into.soft_bounces += from.soft_bounces;
    into.event_count += from.event_count;
    keep_min(into.first_event_at, from.first_event_at);
    keep_max(into.last_event_at, from.last_event_at);
}

void merge_into(MessageState& into, const MessageState& from) {
    merge_status(into.status, from.status);
    keep_min(into.mail_timestamp, from.mail_timestamp);
    keep_text(into.source, from.source);
    keep_text(into.subject, from.subject);
    keep_text(into.sending_account_id, from.sending_account_id);
    keep_text(into.source_arn, from.source_arn);
    keep_text(into.configuration_set, from.configuration_set);
    keep_text(into.send_id, from.send_id);
    into.recipient_count = std::max(into.recipient_count, from.recipient_count);
    merge_engagement(into.engagement, from.engagement);
    into.event_count += from.event_count;
    into.unknown_events += from.unknown_events;
    keep_min(into.first_event_at, from.first_event_at);
    keep_max(into.last_event_at, from.last_event_at);
}

void merge_into(Suppression& into, const Suppression& from) {
    const auto key = [](const Suppression& s) {
        return std::tuple(-static_cast<int>(s.reason), s.since, s.source_event);
    };
    if (key(from) < key(into)) into = from;
}

}  // namespace mailtrack::core
