#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailtrack::worker {

// Metrics in Prometheus's shape: a name (snake_case, `_total` for counters, base units such
// as seconds), labels, and counters / gauges / histograms with fixed buckets. The HTTP API
// will serve prometheus_text(); the worker prints summary_line() periodically.

// The worker's metric names.
namespace metric {
inline constexpr std::string_view k_messages_received = "mailtrack_worker_messages_received_total";  // {queue}
inline constexpr std::string_view k_events = "mailtrack_worker_events_total";  // committed, new or duplicate {type}
inline constexpr std::string_view k_events_applied = "mailtrack_worker_events_applied_total";  // new, known type
inline constexpr std::string_view k_events_unknown = "mailtrack_worker_events_unknown_total";  // new, unknown type
inline constexpr std::string_view k_duplicates = "mailtrack_worker_events_duplicate_total";
inline constexpr std::string_view k_rejected = "mailtrack_worker_messages_rejected_total";  // {reason}
inline constexpr std::string_view k_dead_lettered = "mailtrack_worker_messages_dead_lettered_total";
inline constexpr std::string_view k_deleted = "mailtrack_worker_messages_deleted_total";
inline constexpr std::string_view k_delete_failures = "mailtrack_worker_delete_failures_total";  // {code}
inline constexpr std::string_view k_visibility_extended = "mailtrack_worker_visibility_extended_total";
inline constexpr std::string_view k_store_failures = "mailtrack_worker_store_failures_total";  // {kind}
inline constexpr std::string_view k_queue_calls = "mailtrack_worker_queue_calls_total";        // {operation, outcome}
inline constexpr std::string_view k_backpressure_waits = "mailtrack_worker_backpressure_waits_total";
inline constexpr std::string_view k_in_flight = "mailtrack_worker_messages_in_flight";          // gauge
inline constexpr std::string_view k_batch_size = "mailtrack_worker_batch_size_events";          // histogram
inline constexpr std::string_view k_apply_seconds = "mailtrack_worker_apply_duration_seconds";  // histogram
inline constexpr std::string_view k_event_age_seconds = "mailtrack_worker_event_age_seconds";   // histogram
// Redis beside the store (app::RedisSharedStore): failed calls, work went on without Redis {operation}
inline constexpr std::string_view k_redis_errors = "mailtrack_worker_redis_errors_total";
inline constexpr std::string_view k_cache_invalidations = "mailtrack_worker_cache_invalidations_total";
}  // namespace metric

using Labels = std::vector<std::pair<std::string, std::string>>;  // kept sorted by name

class Counter {
public:
    void add(std::int64_t n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> m_value{0};
};

class Gauge {
public:
    void set(std::int64_t v) noexcept { m_value.store(v, std::memory_order_relaxed); }
    void add(std::int64_t n) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> m_value{0};
};

struct HistogramData {
    std::vector<double> bounds;         // upper bounds, ascending; +Inf is implied
    std::vector<std::int64_t> buckets;  // per bucket (not cumulative), bounds.size() + 1 of them
    std::int64_t count = 0;
    double sum = 0;

    // An estimate of quantile q (0..1): the upper bound of the bucket holding it (the largest
    // finite bound for the +Inf bucket); 0 when empty.
    double quantile(double q) const;
    HistogramData minus(const HistogramData& earlier) const;
};

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value) noexcept;
    HistogramData data() const;

private:
    std::vector<double> m_bounds;
    std::unique_ptr<std::atomic<std::int64_t>[]> m_buckets;
    std::atomic<std::int64_t> m_count{0};
    std::atomic<double> m_sum{0};
};

enum class MetricType { counter, gauge, histogram };

struct MetricSample {
    std::string name;
    Labels labels;
    MetricType type = MetricType::counter;
    std::int64_t value = 0;  // counters and gauges
    HistogramData histogram;
};

struct MetricsSnapshot {
    std::vector<MetricSample> samples;  // ordered by name, then labels

    // Sum of a counter or gauge over all its label sets (0 if absent).
    std::int64_t total(std::string_view name) const;
    // One series; 0 if absent. `labels` in any order.
    std::int64_t value(std::string_view name, const Labels& labels) const;
    // A histogram merged over all its label sets (empty if absent).
    HistogramData histogram(std::string_view name) const;
};

// The registry. Registering returns a reference that stays valid for the registry's life;
// registering the same name and labels again returns the same metric.
//
// Thread safety: everything may be called from any thread. Updating a metric is lock-free;
// registering and snapshotting take a mutex (hot paths register once and keep the reference).
class MetricsRegistry {
public:
    Counter& counter(std::string_view name, Labels labels = {}, std::string_view help = {});
    Gauge& gauge(std::string_view name, Labels labels = {}, std::string_view help = {});
    // `bounds` is used by the first registration of a name only.
    Histogram& histogram(std::string_view name, std::vector<double> bounds, Labels labels = {},
                         std::string_view help = {});

    MetricsSnapshot snapshot() const;
    // The Prometheus text exposition format (version 0.0.4).
    std::string prometheus_text() const;

private:
    struct Family {
        MetricType type = MetricType::counter;
        std::string help;
        std::vector<double> bounds;
        std::map<Labels, std::unique_ptr<Counter>> counters;
        std::map<Labels, std::unique_ptr<Gauge>> gauges;
        std::map<Labels, std::unique_ptr<Histogram>> histograms;
    };
    Family& family(std::string_view name, MetricType type, std::string_view help);

    mutable std::mutex m_mutex;
    std::map<std::string, Family, std::less<>> m_families;
};

// Exponential bucket bounds: start, start*factor, ... (count of them).
std::vector<double> exponential_buckets(double start, double factor, int count);

// The one-line summary `--stats-interval` prints, e.g.
// "events 12000 (+1200, 1200.0/s) applied 11890 dup 110 rejected 3 dlq 1 | batch p50 256 |
//  apply p50 4ms p99 16ms | age p50 2s | in-flight 340 | sqs calls/1k events 205 | delete failures 0"
// `previous` (may be null) and `interval` give the rate since the previous line.
std::string summary_line(const MetricsSnapshot& now, const MetricsSnapshot* previous,
                         std::chrono::milliseconds interval);

}  // namespace mailtrack::worker
