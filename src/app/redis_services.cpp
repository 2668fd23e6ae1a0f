#include "mailtrack/app/redis_services.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "mailtrack/app/secrets.hpp"
#include "mailtrack/util/log.hpp"
#include "mailtrack/worker/metrics.hpp"

namespace mailtrack::app {
namespace {

using util::ErrorKind;

// GCRA ("generic cell rate algorithm"): the key holds the theoretical arrival time (TAT) of the
// next send in microseconds of the server's clock. A send may go when now >= TAT - tolerance;
// it then moves TAT one emission interval later. One key, one atomic script: no race between
// instances, and nothing to clean up (the key expires once the budget is idle).
constexpr std::string_view k_gcra_script = R"lua(
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then return allow_at - now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
)lua";

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

RedisHealth::RedisHealth(const util::Clock& clock, std::string component, util::MetricsRegistry* metrics,
                         std::chrono::milliseconds log_interval)
    : m_clock(clock), m_component(std::move(component)), m_metrics(metrics), m_log_interval(log_interval) {}

void RedisHealth::failed(std::string_view operation, const util::Error& error) {
    m_failures.fetch_add(1, std::memory_order_relaxed);
    m_down.store(true, std::memory_order_relaxed);
    if (m_metrics != nullptr) {
        m_metrics
            ->counter(worker::metric::k_redis_errors, {{"operation", std::string(operation)}},
                      "Redis calls that failed (the work went on without Redis)")
            .add();
    }
    std::lock_guard lock(m_mutex);
    const auto now = m_clock.steady_now();
    if (m_logged_once && now - m_last_log < m_log_interval) {
        ++m_unlogged;
        return;
    }
    util::log::warn("redis unavailable; continuing without it", {{"component", m_component},
                                                                 {"operation", operation},
                                                                 {"error", error.describe()},
                                                                 {"not_logged_since_last", m_unlogged}});
    m_logged_once = true;
    m_last_log = now;
    m_unlogged = 0;
}

void RedisHealth::succeeded() {
    if (!m_down.exchange(false, std::memory_order_relaxed)) return;
    util::log::info("redis reachable again", {{"component", m_component}, {"failures_total", failures()}});
}

std::string_view RedisRateLimiter::script() noexcept {
    return k_gcra_script;
}

RedisRateLimiter::RedisRateLimiter(std::unique_ptr<redis::Client> client, Options options, const util::Clock& clock,
                                   util::Sleeper& sleeper, RedisHealth& health)
    : m_client(std::move(client)),
      m_options(std::move(options)),
      m_sleeper(sleeper),
      m_health(health),
      m_fallback(std::max(m_options.rate_per_second, 0.001) / std::max(m_options.fallback_instances, 1),
                 std::max(m_options.burst, 1.0), clock, sleeper),
      m_rate(std::max(m_options.rate_per_second, 0.001)) {}

util::Result<std::int64_t> RedisRateLimiter::ask_redis() {
    const auto interval_us = static_cast<std::int64_t>(std::ceil(1'000'000.0 / m_rate));
    const auto tolerance_us =
        static_cast<std::int64_t>(std::max(m_options.burst - 1.0, 0.0) * static_cast<double>(interval_us));
    const std::vector<std::string> args{m_options.key, std::to_string(interval_us), std::to_string(tolerance_us)};
    auto with = [&](std::vector<std::string> head) {
        head.insert(head.end(), args.begin(), args.end());
        return m_client->command(head);
    };
    if (m_sha.empty()) {
        MAILTRACK_TRY_ASSIGN(auto loaded, m_client->command({"SCRIPT", "LOAD", std::string(k_gcra_script)}));
        if (loaded.is_error() || loaded.type != redis::Reply::Type::string) {
            return util::fail(ErrorKind::internal, "redis SCRIPT LOAD: " + loaded.text);
        }
        m_sha = loaded.text;
    }
    auto r = with({"EVALSHA", m_sha, "1"});
    if (r && r->is_error() && r->error_code() == "NOSCRIPT") {
        r = with({"EVAL", std::string(k_gcra_script), "1"});  // loads it again for the next EVALSHA
    }
    if (!r) return util::Unexpected(std::move(r).error());
    if (r->type != redis::Reply::Type::integer) {
        return util::fail(ErrorKind::internal,
                          "redis rate script answered " + (r->is_error() ? r->text : "a non-integer"));
    }
    return r->integer;
}

void RedisRateLimiter::acquire() {
    for (;;) {
        std::int64_t wait_us = 0;
        {
            std::unique_lock lock(m_mutex);
            auto answer = ask_redis();
            if (!answer) {
                lock.unlock();
                m_health.failed("rate_limit", answer.error());
                m_fallback.acquire();
                m_fallback_count.fetch_add(1);
                return;
            }
            m_health.succeeded();
            if (*answer <= 0) {
                m_shared.fetch_add(1);
                return;
            }
            wait_us = *answer;
        }
        m_sleeper.sleep_for(std::chrono::milliseconds(std::max<std::int64_t>(1, (wait_us + 999) / 1000)));
    }
}

void RedisRateLimiter::on_throttled() {
    {
        std::lock_guard lock(m_mutex);
        m_rate = std::max(m_rate / 2.0, m_options.rate_per_second / 10.0);
    }
    m_fallback.on_throttled();
}

void RedisRateLimiter::on_success() {
    {
        std::lock_guard lock(m_mutex);
        m_rate = std::min(m_options.rate_per_second, m_rate + m_options.rate_per_second / 20.0);
    }
    m_fallback.on_success();
}

}  // namespace mailtrack::app
