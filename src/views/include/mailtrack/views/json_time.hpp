#pragma once

#include <nlohmann/json.hpp>

#include <optional>

#include "mailtrack/util/time.hpp"

namespace mailtrack::views {

// Every time in a view is an ISO 8601 UTC string with milliseconds; an absent one is null.
nlohmann::json time(util::UnixMillis t);
nlohmann::json time(const std::optional<util::UnixMillis>& t);

}  // namespace mailtrack::views
