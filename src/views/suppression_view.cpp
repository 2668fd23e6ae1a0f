#include "mailtrack/views/suppression_view.hpp"

#include "mailtrack/views/json_time.hpp"

namespace mailtrack::views {

nlohmann::json suppression(const core::Suppression& s) {
    return {{"address", s.address},
            {"reason", core::to_string(s.reason)},
            {"since", time(s.since)},
            {"detail", s.detail},
            {"expires_at", time(s.expires_at)}};
}

}  // namespace mailtrack::views
