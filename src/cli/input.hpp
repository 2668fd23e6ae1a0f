#pragma once

#include <string>
#include <utility>

#include "mailtrack/util/clock.hpp"

namespace mailtrack::cli {

// The whole of a file, or of standard input for "-". Throws CommandError naming the file.
std::string read_input(const std::string& path);

// "NAME<sep>VALUE" split at the first sep (after ':' one space is dropped, as in a header).
// Throws CommandError (exit 2) naming `what` when there is no NAME or no sep.
std::pair<std::string, std::string> split_pair(const std::string& text, char sep, const std::string& what);

// The --since/--expires forms: an ISO 8601 time, or a duration back from now such as 24h or 7d.
// Throws CommandError (exit 2) naming the flag.
util::UnixMillis parse_since_flag(const std::string& flag, const std::string& value);

}  // namespace mailtrack::cli
