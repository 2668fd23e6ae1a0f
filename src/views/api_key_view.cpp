#include "mailtrack/views/api_key_view.hpp"

#include "mailtrack/views/json_time.hpp"

namespace mailtrack::views {

nlohmann::json api_key(const store::ApiKeyRecord& k) {
    return {{"prefix", k.prefix},
            {"name", k.name},
            {"scope", store::to_string(k.scope)},
            {"created_at", time(k.created_at)},
            {"revoked_at", time(k.revoked_at)}};
}

}  // namespace mailtrack::views
