#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/util/metrics.hpp"

namespace mailtrack::adapters {

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

}  // namespace mailtrack::adapters
