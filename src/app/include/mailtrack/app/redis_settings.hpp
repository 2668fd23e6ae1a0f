#pragma once

#include <memory>
#include <optional>

#include "mailtrack/adapters/redis_settings.hpp"
#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/util/metrics.hpp"

namespace mailtrack::app {

using adapters::RedisSettings;

// Reads redis.* (nullopt when redis.url is empty). The password comes from the environment
// variable MAILTRACK_REDIS_PASSWORD, else from the file redis.password_file (trailing newline
// dropped), else from the Secrets Manager secret redis.auth_secret_arn (a plain string, or JSON
// with "password" and optionally "username") -- never from the URL or a flag (resolve_secret).
// Errors (ErrorKind::config, io, or storage_unavailable when Secrets Manager cannot be reached
// now) name the setting: a malformed URL, an unreadable file, a missing secret, an out-of-range
// number.
util::Result<std::optional<RedisSettings>> redis_settings(const config::Config& c, const aws::Environment& env);

// Wraps `inner` in a RedisSharedStore when redis.url is set (returns it unchanged otherwise).
// Errors: the redis.* settings are invalid (see redis_settings). Redis being down is not an error.
util::Result<std::unique_ptr<store::Store>> share_through_redis(std::unique_ptr<store::Store> inner,
                                                                const config::Config& c, const aws::Environment& env,
                                                                const util::Clock& clock,
                                                                util::MetricsRegistry* metrics = nullptr);

}  // namespace mailtrack::app
