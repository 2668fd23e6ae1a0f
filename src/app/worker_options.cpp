#include "mailtrack/app/worker_options.hpp"

namespace mailtrack::app {

util::Result<worker::WorkerOptions> worker_options(const config::Config& c) {
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    const config::WorkerSettings& w = c.typed().worker;
    const std::pair<const char*, std::int64_t> non_negative[] = {
        {"worker.batch_max", w.batch_max},
        {"worker.linger_ms", w.linger_ms},
        {"worker.wait_time_s", w.wait_time_s},
        {"worker.visibility_timeout_s", w.visibility_timeout_s},
        {"worker.max_receive_count", w.max_receive_count},
        {"worker.max_in_flight", w.max_in_flight},
        {"worker.ack_delay_ms", w.ack_delay_ms},
        {"worker.store_backoff_initial_ms", w.store_backoff_initial_ms},
        {"worker.store_backoff_max_ms", w.store_backoff_max_ms},
        {"worker.queue_backoff_initial_ms", w.queue_backoff_initial_ms},
        {"worker.queue_backoff_max_ms", w.queue_backoff_max_ms},
        {"worker.stop_timeout_s", w.stop_timeout_s},
        {"worker.stats_interval_s", w.stats_interval_s},
        {"ingest.max_document_bytes", c.typed().ingest.max_document_bytes},
    };
    for (const auto& [key, value] : non_negative) {
        if (value < 0) return util::fail(util::ErrorKind::config, std::string(key) + " must not be negative");
    }
    const std::int64_t concurrency = c.typed().worker.concurrency;
    if (concurrency < 1 || concurrency > 16) {
        return util::fail(util::ErrorKind::config,
                          "worker.concurrency must be 1..16, got " + std::to_string(concurrency));
    }
    worker::WorkerOptions o;
    o.queue_urls = c.typed().worker.queue_urls;
    o.dlq_url = c.typed().worker.dlq_url;
    o.concurrency = static_cast<int>(concurrency);
    o.batch_max = static_cast<std::size_t>(c.typed().worker.batch_max);
    o.linger = milliseconds(c.typed().worker.linger_ms);
    o.wait_time = seconds(c.typed().worker.wait_time_s);
    o.visibility_timeout = seconds(c.typed().worker.visibility_timeout_s);
    o.heartbeat = c.typed().worker.heartbeat;
    o.max_receive_count = c.typed().worker.max_receive_count;
    o.max_in_flight = static_cast<std::size_t>(c.typed().worker.max_in_flight);
    o.ack_delay = milliseconds(c.typed().worker.ack_delay_ms);
    o.store_backoff_initial = milliseconds(c.typed().worker.store_backoff_initial_ms);
    o.store_backoff_max = milliseconds(c.typed().worker.store_backoff_max_ms);
    o.queue_backoff_initial = milliseconds(c.typed().worker.queue_backoff_initial_ms);
    o.queue_backoff_max = milliseconds(c.typed().worker.queue_backoff_max_ms);
    o.stop_timeout = seconds(c.typed().worker.stop_timeout_s);
    o.max_document_bytes = static_cast<std::size_t>(c.typed().ingest.max_document_bytes);
    MAILTRACK_TRY(worker::validate(o));
    return o;
}

}  // namespace mailtrack::app
