#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailtrack/util/metrics.hpp"

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
// Redis beside the store (adapters::RedisSharedStore): failed calls, work went on without Redis {operation}
inline constexpr std::string_view k_redis_errors = "mailtrack_worker_redis_errors_total";
inline constexpr std::string_view k_cache_invalidations = "mailtrack_worker_cache_invalidations_total";
}  // namespace metric

// The registry is util's; these are the worker's names for its parts.
using util::Counter;
using util::exponential_buckets;
using util::Gauge;
using util::Histogram;
using util::HistogramData;
using util::Labels;
using util::MetricSample;
using util::MetricsRegistry;
using util::MetricsSnapshot;
using util::MetricType;

// The one-line summary `--stats-interval` prints, e.g.
// "events 12000 (+1200, 1200.0/s) applied 11890 dup 110 rejected 3 dlq 1 | batch p50 256 |
//  apply p50 4ms p99 16ms | age p50 2s | in-flight 340 | sqs calls/1k events 205 | delete failures 0"
// `previous` (may be null) and `interval` give the rate since the previous line.
std::string summary_line(const MetricsSnapshot& now, const MetricsSnapshot* previous,
                         std::chrono::milliseconds interval);

}  // namespace mailtrack::worker
