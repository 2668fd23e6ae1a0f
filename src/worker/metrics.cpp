#include "mailtrack/worker/metrics.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace mailtrack::worker {

std::string summary_line(const MetricsSnapshot& now, const MetricsSnapshot* previous,
                         std::chrono::milliseconds interval) {
    const std::int64_t events = now.total(metric::k_events);
    char buf[512];
    std::string out = "events " + std::to_string(events);
    if (previous != nullptr && interval.count() > 0) {
        const std::int64_t delta = events - previous->total(metric::k_events);
        std::snprintf(buf, sizeof buf, " (+%lld, %.1f/s)", static_cast<long long>(delta),
                      static_cast<double>(delta) * 1000.0 / static_cast<double>(interval.count()));
        out += buf;
    }
    HistogramData batch = now.histogram(metric::k_batch_size);
    HistogramData apply = now.histogram(metric::k_apply_seconds);
    HistogramData age = now.histogram(metric::k_event_age_seconds);
    if (previous != nullptr) {
        // Latencies of this interval, not since start.
        batch = batch.minus(previous->histogram(metric::k_batch_size));
        apply = apply.minus(previous->histogram(metric::k_apply_seconds));
        age = age.minus(previous->histogram(metric::k_event_age_seconds));
    }
    const std::int64_t calls = now.total(metric::k_queue_calls);
    std::snprintf(buf, sizeof buf,
                  " applied %lld dup %lld unknown %lld rejected %lld dlq %lld | batch p50 %.0f | apply p50 %.0fms "
                  "p99 %.0fms | age p50 %.0f%s | in-flight %lld | sqs calls/1k events %.0f | delete failures %lld | "
                  "store failures %lld",
                  static_cast<long long>(now.total(metric::k_events_applied)),
                  static_cast<long long>(now.total(metric::k_duplicates)),
                  static_cast<long long>(now.total(metric::k_events_unknown)),
                  static_cast<long long>(now.total(metric::k_rejected)),
                  static_cast<long long>(now.total(metric::k_dead_lettered)), batch.quantile(0.5),
                  apply.quantile(0.5) * 1000, apply.quantile(0.99) * 1000,
                  age.quantile(0.5) < 1 ? age.quantile(0.5) * 1000 : age.quantile(0.5),
                  age.quantile(0.5) < 1 ? "ms" : "s", static_cast<long long>(now.total(metric::k_in_flight)),
                  events == 0 ? 0.0 : static_cast<double>(calls) * 1000.0 / static_cast<double>(events),
                  static_cast<long long>(now.total(metric::k_delete_failures)),
                  static_cast<long long>(now.total(metric::k_store_failures)));
    out += buf;
    const std::int64_t redis_errors = now.total(metric::k_redis_errors);
    const std::int64_t invalidations = now.total(metric::k_cache_invalidations);
    if (redis_errors > 0 || invalidations > 0) {  // only with Redis configured
        std::snprintf(buf, sizeof buf, " | redis errors %lld cache invalidations %lld",
                      static_cast<long long>(redis_errors), static_cast<long long>(invalidations));
        out += buf;
    }
    return out;
}

}  // namespace mailtrack::worker
