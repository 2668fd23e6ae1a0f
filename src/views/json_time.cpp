#include "mailtrack/views/json_time.hpp"

namespace mailtrack::views {

nlohmann::json time(util::UnixMillis t) {
    return util::format_timestamp(t);
}

nlohmann::json time(const std::optional<util::UnixMillis>& t) {
    return t ? nlohmann::json(util::format_timestamp(*t)) : nlohmann::json(nullptr);
}

}  // namespace mailtrack::views
