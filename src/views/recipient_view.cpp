#include "mailtrack/views/recipient_view.hpp"

#include "mailtrack/views/json_time.hpp"

namespace mailtrack::views {

using nlohmann::json;

json engagement(const core::Engagement& e) {
    return {{"opens", e.opens},
            {"first_open_at", time(e.first_open_at)},
            {"last_open_at", time(e.last_open_at)},
            {"clicks", e.clicks},
            {"first_click_at", time(e.first_click_at)},
            {"last_click_at", time(e.last_click_at)},
            {"subscription_changes", e.subscription_changes},
            {"unsubscribed_at", time(e.unsubscribed_at)}};
}

json recipient(const core::RecipientState& r) {
    json j = {{"message_id", r.message_id},
              {"address", r.address},
              {"status", std::string(core::to_string(r.status.status))},
              {"status_at", time(r.status.at)},
              {"soft_bounces", r.soft_bounces},
              {"event_count", r.event_count},
              {"engagement", engagement(r.engagement)}};
    if (r.delivery) {
        j["delivery"] = {{"at", time(r.delivery->at)},
                         {"smtp_response", r.delivery->smtp_response},
                         {"reporting_mta", r.delivery->reporting_mta},
                         {"processing_time_millis", r.delivery->processing_time_millis}};
    }
    if (r.bounce) {
        j["bounce"] = {{"at", time(r.bounce->at)},
                       {"type", r.bounce->bounce_type},
                       {"subtype", r.bounce->bounce_subtype},
                       {"action", r.bounce->action},
                       {"status", r.bounce->status_code},
                       {"diagnostic_code", r.bounce->diagnostic_code}};
    }
    if (r.complaint) {
        j["complaint"] = {{"at", time(r.complaint->at)},
                          {"feedback_type", r.complaint->feedback_type},
                          {"subtype", r.complaint->complaint_subtype},
                          {"user_agent", r.complaint->user_agent}};
    }
    if (r.delay) {
        j["delay"] = {{"at", time(r.delay->at)},
                      {"type", r.delay->delay_type},
                      {"status", r.delay->status_code},
                      {"diagnostic_code", r.delay->diagnostic_code},
                      {"expiration_time", time(r.delay->expiration_time)}};
    }
    if (r.failure) {
        j["failure"] = {
            {"at", time(r.failure->at)}, {"reason", r.failure->reason}, {"template", r.failure->template_name}};
    }
    return j;
}

std::string recipient_detail(const core::RecipientState& r) {
    using core::RecipientStatus;
    switch (r.status.status) {
        case RecipientStatus::bounced:
        case RecipientStatus::soft_bounced:
            if (r.bounce) {
                std::string d = r.bounce->bounce_type + "/" + r.bounce->bounce_subtype;
                if (!r.bounce->diagnostic_code.empty()) d += " " + r.bounce->diagnostic_code.substr(0, 60);
                return d;
            }
            break;
        case RecipientStatus::complained:
            if (r.complaint)
                return "feedback: " + (r.complaint->feedback_type.empty() ? "-" : r.complaint->feedback_type);
            break;
        case RecipientStatus::delivery_delayed:
            if (r.delay)
                return r.delay->delay_type +
                       (r.delay->expiration_time ? " until " + util::format_timestamp(*r.delay->expiration_time) : "");
            break;
        case RecipientStatus::rejected:
        case RecipientStatus::rendering_failed:
            if (r.failure) return r.failure->reason.substr(0, 70);
            break;
        case RecipientStatus::delivered:
            if (r.delivery) return r.delivery->smtp_response.substr(0, 60);
            break;
        default: break;
    }
    return {};
}

}  // namespace mailtrack::views
