#pragma once

#include <nlohmann/json.hpp>

#include "mailtrack/core/state.hpp"

namespace mailtrack::views {

// One suppression-list entry: {address, reason, since, detail, expires_at}.
nlohmann::json suppression(const core::Suppression& s);

}  // namespace mailtrack::views
