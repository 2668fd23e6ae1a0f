#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/util/sleeper.hpp"
#include "mailtrack/worker/metrics.hpp"
#include "mailtrack/worker/queue_client.hpp"

namespace mailtrack::worker {

struct WorkerOptions {
    std::vector<std::string> queue_urls;   // one or more; each gets `concurrency` pollers
    std::string dlq_url;                   // empty: poison is left to the queue's redrive policy
    int concurrency = 4;                   // concurrent long polls per queue, 1..16
    std::size_t batch_max = 500;           // most events per store transaction
    std::chrono::milliseconds linger{20};  // how long a partial batch waits for more
    std::chrono::seconds wait_time{20};    // ReceiveMessage WaitTimeSeconds, 0..20
    std::chrono::seconds visibility_timeout{60};
    bool heartbeat = true;  // extend the visibility of messages still in flight at half their timeout
    // A message that does not parse goes to dlq_url once its ApproximateReceiveCount reaches this.
    std::int64_t max_receive_count = 5;
    std::size_t max_in_flight = 1000;  // messages received and not yet deleted; pollers wait beyond it
    // Pollers delete committed messages themselves, before each receive; an acknowledger deletes
    // what a poller has not taken within this delay (and does the heartbeats and retries).
    // 0: acknowledgers delete as soon as a batch commits.
    std::chrono::milliseconds ack_delay{0};
    std::chrono::milliseconds store_backoff_initial{100};
    std::chrono::milliseconds store_backoff_max{30'000};
    std::chrono::milliseconds queue_backoff_initial{200};
    std::chrono::milliseconds queue_backoff_max{20'000};
    // A graceful stop turns immediate if in-flight work is not finished by then.
    std::chrono::seconds stop_timeout{25};
    std::size_t max_document_bytes = 1024 * 1024;
};

// Errors: ErrorKind::config naming the option that is out of range.
util::Result<void> validate(const WorkerOptions& options);

enum class StopMode {
    graceful,   // stop polling, commit what was received, delete it, then return
    immediate,  // return as soon as every thread notices; uncommitted messages reappear later
};

// The queue-agnostic SES event consumer.
//
// Pollers long-poll each queue and parse the messages (the same ses::EventParser the Ingestor
// uses); one committer groups the parsed events of many polls into one Store::apply
// transaction. Before each receive a poller deletes up to ten messages whose events are
// committed, so a busy queue costs one receive and one delete per ten events with no hand-off
// between threads; acknowledgers (one per four polls of a queue) delete what pollers leave
// for longer than ack_delay (a quiet queue's pollers sit in long polls), retry failed deletes,
// and keep the visibility of messages still in flight from expiring. A message is deleted
// only after its event is committed, so a crash at any point loses nothing: uncommitted
// messages reappear after their visibility timeout and committed-but-undeleted ones are
// duplicates the store recognises.
//
// Messages that do not parse are logged with their SQS message id and reason, counted, and
// left to the queue's redrive policy, or sent to dlq_url and deleted once their receive count
// reaches max_receive_count. When the store is unavailable the committer keeps its batch and
// retries with exponential backoff (the pollers stop at max_in_flight meanwhile).
//
// Thread safety: start(), request_stop() and wait() may be called from any thread, but
// request_stop() is not async-signal-safe (forward signals from a thread, e.g. via sigwait).
// Between start() and the end of wait() the store belongs to the worker's committer thread;
// the queue client, clock, sleeper and metrics must outlive the worker.
class Worker {
public:
    Worker(WorkerOptions options, QueueClient& queue, store::Store& store, util::Clock& clock, util::Sleeper& sleeper,
           MetricsRegistry& metrics);
    // Stops immediately (if running) and joins the threads.
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Validates the options and starts the threads. Errors: ErrorKind::config.
    util::Result<void> start();
    // A second call may escalate graceful to immediate, never the reverse.
    void request_stop(StopMode mode) noexcept;
    // Blocks until every thread has finished (after request_stop()).
    void wait();

    // Messages received and not yet deleted or abandoned (for tests and the stats line).
    std::size_t in_flight() const;

    struct Impl;

private:
    std::unique_ptr<Impl> m_impl;
};

}  // namespace mailtrack::worker
