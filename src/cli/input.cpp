#include "input.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/time.hpp"

#include "command_line.hpp"

namespace mailtrack::cli {

std::string read_input(const std::string& path) {
    if (path == "-") {
        return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CommandError{"cannot read " + path + ": " + std::strerror(errno)};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::pair<std::string, std::string> split_pair(const std::string& text, char sep, const std::string& what) {
    const auto at = text.find(sep);
    if (at == std::string::npos || at == 0)
        throw CommandError{what + " " + text + ": expected NAME" + sep + "VALUE", k_exit_partial};
    std::string value = text.substr(at + 1);
    if (sep == ':' && !value.empty() && value.front() == ' ') value.erase(0, 1);
    return {text.substr(0, at), value};
}

util::UnixMillis parse_since_flag(const std::string& flag, const std::string& value) {
    const util::SystemClock clock;
    const auto since = util::parse_since(value, clock.now_millis());
    if (!since)
        throw CommandError{flag + " " + value + ": expected an ISO 8601 time or a duration like 24h or 7d",
                           k_exit_partial};
    return *since;
}

}  // namespace mailtrack::cli
