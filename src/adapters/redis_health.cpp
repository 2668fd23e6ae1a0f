#include "mailtrack/adapters/redis_health.hpp"

#include "mailtrack/util/log.hpp"
#include "mailtrack/worker/metrics.hpp"

namespace mailtrack::adapters {

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

}  // namespace mailtrack::adapters
