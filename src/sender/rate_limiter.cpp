#include "mailtrack/sender/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace mailtrack::sender {

TokenBucketRateLimiter::TokenBucketRateLimiter(double rate_per_second, double burst, const util::Clock& clock,
                                               util::Sleeper& sleeper)
    : m_clock(clock),
      m_sleeper(sleeper),
      m_max_rate(std::max(rate_per_second, 0.001)),
      m_rate(m_max_rate),
      m_burst(std::max(burst, 1.0)),
      m_tokens(m_burst),
      m_last(clock.steady_now()) {}

void TokenBucketRateLimiter::refill(std::chrono::steady_clock::time_point now) {
    const double elapsed = std::chrono::duration<double>(now - m_last).count();
    if (elapsed > 0) {
        m_tokens = std::min(m_burst, m_tokens + elapsed * m_rate);
        m_last = now;
    }
}

void TokenBucketRateLimiter::acquire() {
    for (;;) {
        std::chrono::milliseconds wait{0};
        {
            std::lock_guard lock(m_mutex);
            refill(m_clock.steady_now());
            if (m_tokens >= 1.0) {
                m_tokens -= 1.0;
                return;
            }
            wait = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil((1.0 - m_tokens) / m_rate * 1000.0)));
        }
        m_sleeper.sleep_for(std::max(wait, std::chrono::milliseconds(1)));
    }
}

void TokenBucketRateLimiter::on_throttled() {
    std::lock_guard lock(m_mutex);
    refill(m_clock.steady_now());
    m_rate = std::max(m_rate / 2.0, m_max_rate / 10.0);
    m_tokens = std::min(m_tokens, 0.0);  // the bucket was wrong about what SES allows right now
}

void TokenBucketRateLimiter::on_success() {
    std::lock_guard lock(m_mutex);
    if (m_rate < m_max_rate) {
        refill(m_clock.steady_now());
        m_rate = std::min(m_max_rate, m_rate + m_max_rate / 20.0);
    }
}

double TokenBucketRateLimiter::current_rate() const {
    std::lock_guard lock(m_mutex);
    return m_rate;
}

}  // namespace mailtrack::sender
