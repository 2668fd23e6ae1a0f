#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "mailtrack/core/state.hpp"

namespace mailtrack::views {

// {opens, first_open_at, last_open_at, clicks, first_click_at, last_click_at,
//  subscription_changes, unsubscribed_at}
nlohmann::json engagement(const core::Engagement& e);

// One recipient of one message: {message_id, address, status, status_at, soft_bounces,
// event_count, engagement} and, when known, the facts delivery, bounce, complaint, delay, failure.
nlohmann::json recipient(const core::RecipientState& r);

// The facts worth a glance in a table cell for the recipient's current status ("" when none).
std::string recipient_detail(const core::RecipientState& r);

}  // namespace mailtrack::views
