#pragma once

#include <nlohmann/json.hpp>

#include "mailtrack/store/store.hpp"

namespace mailtrack::views {

// One API key as `apikey list --json` and GET /v1/apikeys show it:
// {prefix, name, scope, created_at, revoked_at} -- never the key or its hash.
nlohmann::json api_key(const store::ApiKeyRecord& k);

}  // namespace mailtrack::views
