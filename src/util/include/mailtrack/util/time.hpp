#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mailtrack/util/clock.hpp"

namespace mailtrack::util {

// Parses the ISO 8601 forms AWS uses, leniently: "2016-10-19T23:20:52.240Z",
// "2016-10-19T23:20:52Z", "2018-10-08T14:05:45 +0000", "2009-12-03T04:24:21.000-05:00",
// and a bare date "2016-10-19" (midnight UTC). Fractions beyond milliseconds are truncated.
// Returns nullopt for anything else, including out-of-range fields.
std::optional<UnixMillis> parse_timestamp(std::string_view text) noexcept;

// "YYYY-MM-DDTHH:MM:SS.mmmZ"
std::string format_timestamp(UnixMillis millis);

// A point in time given by a user: an ISO timestamp/date as above, or a duration back from
// `now` such as "90m", "24h", "7d". Returns nullopt if it is neither.
std::optional<UnixMillis> parse_since(std::string_view text, UnixMillis now) noexcept;

}  // namespace mailtrack::util
