#include "mailtrack/store/store.hpp"

#include <algorithm>

#include "mailtrack/store/batch_effects.hpp"

namespace mailtrack::store {

std::string_view to_string(SendStatus s) noexcept {
    switch (s) {
        case SendStatus::queued: return "queued";
        case SendStatus::sent: return "sent";
        case SendStatus::failed: return "failed";
    }
    return "?";
}

std::string_view to_string(RecipientRole r) noexcept {
    switch (r) {
        case RecipientRole::to: return "to";
        case RecipientRole::cc: return "cc";
        case RecipientRole::bcc: return "bcc";
    }
    return "?";
}

namespace {
util::Unexpected<util::Error> no_sends() {
    return util::fail(util::ErrorKind::unsupported, "this store does not record sends");
}
}  // namespace

util::Result<SendClaim> Store::begin_send(const SendRecord&) { return no_sends(); }
util::Result<void> Store::retry_send(std::string_view, util::UnixMillis) { return no_sends(); }
util::Result<void> Store::send_accepted(std::string_view, std::string_view, util::UnixMillis) { return no_sends(); }
util::Result<void> Store::send_failed(std::string_view, std::string_view, std::string_view, util::UnixMillis) {
    return no_sends();
}
util::Result<std::optional<SendRecord>> Store::send(std::string_view) { return no_sends(); }

}  // namespace mailtrack::store

namespace mailtrack::store {

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
        if (auto it = recipients.find(key); it != recipients.end()) merge_into(it->second, r);
        else recipients.emplace(std::move(key), std::move(r));
    }
    for (core::Suppression& x : fx.suppressions) {
        if (auto it = suppressions.find(x.address); it != suppressions.end()) merge_into(it->second, x);
        else suppressions.emplace(x.address, std::move(x));
    }
    for (const std::string& a : fx.soft_bounced) {
        auto& [count, last] = soft_bounces[a];
        ++count;
        last = std::max(last, event.occurred_at);
    }
}

}  // namespace mailtrack::store
