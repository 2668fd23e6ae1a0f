#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/aws/retry.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/redis/client.hpp"
#include "mailtrack/sender/rate_limiter.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/util/metrics.hpp"

namespace mailtrack::app {

// The redis.* settings. Redis is optional: with an empty redis.url there is none, and every
// user of it falls back to its in-process equivalent.
struct RedisSettings {
    redis::ClientOptions client;
    std::string key_prefix = "mailtrack:";
    int fallback_instances = 1;  // senders sharing the budget; each takes rate / this while Redis is down
    int send_burst = 1;          // sends that may go back to back under the shared rate
    std::chrono::milliseconds cache_ttl{std::chrono::minutes(5)};
    std::chrono::milliseconds idempotency_ttl{std::chrono::hours(24)};
};

// Reads redis.* (nullopt when redis.url is empty). The password comes from the environment
// variable MAILTRACK_REDIS_PASSWORD, else from the file redis.password_file (trailing newline
// dropped), else from the Secrets Manager secret redis.auth_secret_arn (a plain string, or JSON
// with "password" and optionally "username") -- never from the URL or a flag (resolve_secret).
// Errors (ErrorKind::config, io, or storage_unavailable when Secrets Manager cannot be reached
// now) name the setting: a malformed URL, an unreadable file, a missing secret, an out-of-range
// number.
util::Result<std::optional<RedisSettings>> redis_settings(const config::Config& c, const aws::Environment& env);

// Counts Redis failures of one component and logs them at a bounded rate: the first failure
// after a healthy period at once, then at most one line per `log_interval` (with how many were
// not logged), and one line when Redis answers again. With a metrics registry each failure also
// counts in mailtrack_worker_redis_errors_total{operation}. Thread-safe.
class RedisHealth {
public:
    RedisHealth(const util::Clock& clock, std::string component, util::MetricsRegistry* metrics = nullptr,
                std::chrono::milliseconds log_interval = std::chrono::seconds(30));
    void failed(std::string_view operation, const util::Error& error);
    void succeeded();
    std::int64_t failures() const noexcept { return m_failures.load(std::memory_order_relaxed); }
    bool healthy() const noexcept { return !m_down.load(std::memory_order_relaxed); }

private:
    const util::Clock& m_clock;
    std::string m_component;
    util::MetricsRegistry* m_metrics;
    std::chrono::milliseconds m_log_interval;
    std::atomic<std::int64_t> m_failures{0};
    std::atomic<bool> m_down{false};
    std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_last_log{};
    bool m_logged_once = false;
    std::int64_t m_unlogged = 0;
};

// The SES send-rate budget shared by every sender through Redis: GCRA in a Lua script run
// atomically by the server (EVALSHA, EVAL again after NOSCRIPT, e.g. when the server restarted),
// on the server's clock (TIME), so N processes on N hosts together stay within `rate` per
// second. `burst` sends may go back to back after an idle period (1 = evenly spaced).
//
// While Redis cannot be reached, acquire() paces with an in-process token bucket at
// rate / fallback_instances (each instance's share of the budget); every call tries Redis
// again once the client's reconnect interval has passed, and uses it as soon as it answers.
// Throttling by SES lowers the rate used (down to a tenth), successes raise it back, as in
// TokenBucketRateLimiter. Thread-safe (one connection, used under a lock).
class RedisRateLimiter final : public sender::RateLimiter {
public:
    struct Options {
        double rate_per_second = 1;
        double burst = 1;
        int fallback_instances = 1;
        std::string key = "mailtrack:ses-send-rate";
    };
    RedisRateLimiter(std::unique_ptr<redis::Client> client, Options options, const util::Clock& clock,
                     util::Sleeper& sleeper, RedisHealth& health);
    void acquire() override;
    void on_throttled() override;
    void on_success() override;

    // Sends paced by Redis and by the fallback bucket so far.
    std::int64_t shared_acquires() const noexcept { return m_shared.load(); }
    std::int64_t fallback_acquires() const noexcept { return m_fallback_count.load(); }

    // The GCRA script (KEYS[1] the budget's key, ARGV[1] microseconds per send, ARGV[2] the
    // burst tolerance in microseconds); returns 0 when a send may go now, else how many
    // microseconds to wait before asking again.
    static std::string_view script() noexcept;

private:
    // Microseconds to wait (0: go), or an error when Redis did not answer.
    util::Result<std::int64_t> ask_redis();

    std::unique_ptr<redis::Client> m_client;
    Options m_options;
    util::Sleeper& m_sleeper;
    RedisHealth& m_health;
    sender::TokenBucketRateLimiter m_fallback;
    std::mutex m_mutex;  // guards m_client, m_sha, m_rate
    std::string m_sha;
    double m_rate;
    std::atomic<std::int64_t> m_shared{0};
    std::atomic<std::int64_t> m_fallback_count{0};
};

}  // namespace mailtrack::app
