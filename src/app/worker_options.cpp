#include "mailtrack/app/worker_options.hpp"

namespace mailtrack::app {

util::Result<worker::WorkerOptions> worker_options(const config::Config& c) {
    using std::chrono::milliseconds;
    using std::chrono::seconds;
    auto negative = [&](std::string_view key) -> bool { return c.integer(key) < 0; };
    for (const auto key :
         {"worker.batch_max", "worker.linger_ms", "worker.wait_time_s", "worker.visibility_timeout_s",
          "worker.max_receive_count", "worker.max_in_flight", "worker.ack_delay_ms", "worker.store_backoff_initial_ms",
          "worker.store_backoff_max_ms", "worker.queue_backoff_initial_ms", "worker.queue_backoff_max_ms",
          "worker.stop_timeout_s", "worker.stats_interval_s", "ingest.max_document_bytes"}) {
        if (negative(key)) return util::fail(util::ErrorKind::config, std::string(key) + " must not be negative");
    }
    const std::int64_t concurrency = c.integer("worker.concurrency");
    if (concurrency < 1 || concurrency > 16) {
        return util::fail(util::ErrorKind::config,
                          "worker.concurrency must be 1..16, got " + std::to_string(concurrency));
    }
    worker::WorkerOptions o;
    o.queue_urls = c.list("worker.queue_urls");
    o.dlq_url = c.text("worker.dlq_url");
    o.concurrency = static_cast<int>(concurrency);
    o.batch_max = static_cast<std::size_t>(c.integer("worker.batch_max"));
    o.linger = milliseconds(c.integer("worker.linger_ms"));
    o.wait_time = seconds(c.integer("worker.wait_time_s"));
    o.visibility_timeout = seconds(c.integer("worker.visibility_timeout_s"));
    o.heartbeat = c.boolean("worker.heartbeat");
    o.max_receive_count = c.integer("worker.max_receive_count");
    o.max_in_flight = static_cast<std::size_t>(c.integer("worker.max_in_flight"));
    o.ack_delay = milliseconds(c.integer("worker.ack_delay_ms"));
    o.store_backoff_initial = milliseconds(c.integer("worker.store_backoff_initial_ms"));
    o.store_backoff_max = milliseconds(c.integer("worker.store_backoff_max_ms"));
    o.queue_backoff_initial = milliseconds(c.integer("worker.queue_backoff_initial_ms"));
    o.queue_backoff_max = milliseconds(c.integer("worker.queue_backoff_max_ms"));
    o.stop_timeout = seconds(c.integer("worker.stop_timeout_s"));
    o.max_document_bytes = static_cast<std::size_t>(c.integer("ingest.max_document_bytes"));
    if (auto ok = worker::validate(o); !ok) return util::Unexpected(std::move(ok).error());
    return o;
}

}  // namespace mailtrack::app
