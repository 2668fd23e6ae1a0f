#include "mailtrack/adapters/redis_rate_limiter.hpp"

#include <algorithm>
#include <cmath>

#include "mailtrack/util/log.hpp"

namespace mailtrack::adapters {
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

}  // namespace

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

}  // namespace mailtrack::adapters
