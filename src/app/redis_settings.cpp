#include "mailtrack/app/redis_settings.hpp"

#include "mailtrack/adapters/redis_store.hpp"
#include "mailtrack/app/secrets.hpp"

namespace mailtrack::app {
namespace {

using util::ErrorKind;

util::Result<std::int64_t> positive(std::string_view key, std::int64_t v, std::int64_t max) {
    if (v < 1 || v > max) {
        return util::fail(ErrorKind::config,
                          std::string(key) + " = " + std::to_string(v) + ": must be 1.." + std::to_string(max));
    }
    return v;
}

}  // namespace

util::Result<std::optional<RedisSettings>> redis_settings(const config::Config& c, const aws::Environment& env) {
    const std::string& url = c.typed().redis.url;
    if (url.empty()) return std::optional<RedisSettings>{};
    MAILTRACK_TRY_ASSIGN(auto endpoint, redis::parse_url(url));
    RedisSettings s;
    s.client.endpoint = std::move(endpoint);

    // The AUTH password (token): environment, then file, then Secrets Manager (a plain-string
    // secret, or JSON with "password" and optionally "username" for an ACL user).
    MAILTRACK_TRY_ASSIGN(
        auto secret,
        resolve_secret(
            SecretSources{"the Redis password (MAILTRACK_REDIS_PASSWORD, redis.password_file or redis.auth_secret_arn)",
                          "MAILTRACK_REDIS_PASSWORD", c.typed().redis.password_file, c.typed().redis.auth_secret_arn},
            env, secrets_manager_fetcher(c, env)));
    if (secret) {
        s.client.endpoint.password = std::move((secret)->password);
        if (s.client.endpoint.user.empty()) s.client.endpoint.user = std::move((secret)->username);
    }

    MAILTRACK_TRY_ASSIGN(auto connect,
                         positive("redis.connect_timeout_ms", c.typed().redis.connect_timeout_ms, 60'000));
    MAILTRACK_TRY_ASSIGN(auto command,
                         positive("redis.command_timeout_ms", c.typed().redis.command_timeout_ms, 60'000));
    MAILTRACK_TRY_ASSIGN(auto reconnect,
                         positive("redis.reconnect_interval_ms", c.typed().redis.reconnect_interval_ms, 600'000));
    MAILTRACK_TRY_ASSIGN(auto instances,
                         positive("redis.fallback_instances", c.typed().redis.fallback_instances, 10'000));
    MAILTRACK_TRY_ASSIGN(auto burst, positive("redis.send_burst", c.typed().redis.send_burst, 10'000));
    MAILTRACK_TRY_ASSIGN(auto cache_ttl, positive("redis.cache_ttl_s", c.typed().redis.cache_ttl_s, 30 * 86'400));
    MAILTRACK_TRY_ASSIGN(auto idem_ttl,
                         positive("redis.idempotency_ttl_s", c.typed().redis.idempotency_ttl_s, 365 * 86'400));
    s.client.connect_timeout = std::chrono::milliseconds(connect);
    s.client.command_timeout = std::chrono::milliseconds(command);
    s.client.reconnect_interval = std::chrono::milliseconds(reconnect);
    s.fallback_instances = static_cast<int>(instances);
    s.send_burst = static_cast<int>(burst);
    s.cache_ttl = std::chrono::seconds(cache_ttl);
    s.idempotency_ttl = std::chrono::seconds(idem_ttl);
    s.key_prefix = c.typed().redis.key_prefix;
    s.client.tls_ca_file = c.typed().redis.tls_ca_file;
    return std::optional<RedisSettings>(std::move(s));
}

util::Result<std::unique_ptr<store::Store>> share_through_redis(std::unique_ptr<store::Store> inner,
                                                                const config::Config& c, const aws::Environment& env,
                                                                const util::Clock& clock,
                                                                util::MetricsRegistry* metrics) {
    MAILTRACK_TRY_ASSIGN(auto settings, redis_settings(c, env));
    if (!settings) return inner;
    auto client = std::make_unique<redis::Client>((settings)->client, clock);
    return std::unique_ptr<store::Store>(
        std::make_unique<adapters::RedisSharedStore>(std::move(inner), std::move(client), *settings, clock, metrics));
}

}  // namespace mailtrack::app
