#include "mailtrack/store_sql/batch_effects.hpp"

#include <algorithm>

namespace mailtrack::store::sql {

void BatchEffects::add(const core::SesEvent& event) {
    core::EventEffects fx = core::effects_of(event);
    if (auto it = messages.find(fx.message.message_id); it != messages.end()) {
        merge_into(it->second, fx.message);
    } else {
        std::string key = fx.message.message_id;
        messages.emplace(std::move(key), std::move(fx.message));
    }
    for (core::RecipientState& r : fx.recipients) {
        auto key = std::make_pair(r.message_id, r.address);
        if (auto it = recipients.find(key); it != recipients.end())
            merge_into(it->second, r);
        else
            recipients.emplace(std::move(key), std::move(r));
    }
    for (core::Suppression& x : fx.suppressions) {
        if (auto it = suppressions.find(x.address); it != suppressions.end())
            merge_into(it->second, x);
        else
            suppressions.emplace(x.address, std::move(x));
    }
    for (const std::string& a : fx.soft_bounced) {
        auto& [count, last] = soft_bounces[a];
        ++count;
        last = std::max(last, event.occurred_at);
    }
}

}  // namespace mailtrack::store::sql
