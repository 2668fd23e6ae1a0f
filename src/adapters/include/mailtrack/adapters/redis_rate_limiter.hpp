#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "mailtrack/adapters/redis_health.hpp"
#include "mailtrack/redis/client.hpp"
#include "mailtrack/sender/rate_limiter.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/util/sleeper.hpp"

namespace mailtrack::adapters {

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

}  // namespace mailtrack::adapters
