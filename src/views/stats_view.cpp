#include "mailtrack/views/stats_view.hpp"

namespace mailtrack::views {

using nlohmann::json;

core::ReputationAssessment reputation(const store::DeliveryCounts& n) {
    return core::assess_reputation(n.sent, n.hard_bounced, n.complained);
}

json stats(const store::DeliveryCounts& n) {
    json by_status = json::object();
    for (int i = 0; i < core::k_status_count; ++i) {
        by_status[std::string(core::to_string(static_cast<core::RecipientStatus>(i)))] = n.by_status[i];
    }
    const auto r = reputation(n);
    return {{"messages", n.messages},
            {"recipients", n.recipients},
            {"sent", n.sent},
            {"delivered", n.delivered},
            {"bounced", n.hard_bounced},
            {"complained", n.complained},
            {"opens", n.opens},
            {"clicks", n.clicks},
            {"by_status", std::move(by_status)},
            {"bounce_rate", r.bounce_rate},
            {"bounce_verdict", std::string(core::to_string(r.bounce_verdict))},
            {"complaint_rate", r.complaint_rate},
            {"complaint_verdict", std::string(core::to_string(r.complaint_verdict))}};
}

}  // namespace mailtrack::views
