#pragma once
// Metrics: counters, gauges and histograms in a registry that renders the Prometheus text
// format. Used by the worker, the Redis roles and (next) the HTTP server's /metrics.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailtrack::util {

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

}  // namespace mailtrack::util
