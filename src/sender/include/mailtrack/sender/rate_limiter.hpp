#pragma once

#include <chrono>
#include <mutex>

#include "mailtrack/aws/retry.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::sender {

// Paces SES calls. Thread-safe.
class RateLimiter {
public:
    virtual ~RateLimiter() = default;
    // Returns when one more send may start (waiting through the injected Sleeper).
    virtual void acquire() = 0;
    // SES throttled a call: slow down.
    virtual void on_throttled() = 0;
    // A call went through: may speed back up toward the configured rate.
    virtual void on_success() = 0;
};

class UnlimitedRateLimiter final : public RateLimiter {
public:
    void acquire() override {}
    void on_throttled() override {}
    void on_success() override {}
};

// A token bucket refilled at `rate_per_second` (SES GetAccount's MaxSendRate) holding at most
// `burst` tokens (it starts full). Throttling halves the current rate (down to a tenth of the
// configured one); each success after that adds back a twentieth of the configured rate.
// Time comes from the injected clock (steady_now) and waits go to the Sleeper, so tests never
// sleep. Precondition: rate_per_second > 0 and burst >= 1 (the constructor clamps to that).
class TokenBucketRateLimiter final : public RateLimiter {
public:
    TokenBucketRateLimiter(double rate_per_second, double burst, const util::Clock& clock, util::Sleeper& sleeper);
    void acquire() override;
    void on_throttled() override;
    void on_success() override;
    double current_rate() const;

private:
    void refill(std::chrono::steady_clock::time_point now);

    const util::Clock& m_clock;
    util::Sleeper& m_sleeper;
    double m_max_rate;
    double m_rate;
    double m_burst;
    double m_tokens;
    std::chrono::steady_clock::time_point m_last;
    mutable std::mutex m_mutex;
};

}  // namespace mailtrack::sender
