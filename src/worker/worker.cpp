#include "worker_impl.hpp"

namespace mailtrack::worker {

void Worker::Impl::register_metrics() {
    in_flight_gauge = &metrics.gauge(metric::k_in_flight, {}, "messages received and not yet deleted");
    applied = &metrics.counter(metric::k_events_applied, {}, "new events of known types committed");
    unknown = &metrics.counter(metric::k_events_unknown, {}, "new events of unknown types committed");
    duplicates = &metrics.counter(metric::k_duplicates, {}, "events already stored (redelivery or duplicate publish)");
    dead_lettered = &metrics.counter(metric::k_dead_lettered, {}, "messages moved to the dead-letter queue");
    deleted = &metrics.counter(metric::k_deleted, {}, "messages deleted from their queue");
    visibility_extended = &metrics.counter(metric::k_visibility_extended, {}, "visibility heartbeats that succeeded");
    backpressure_waits = &metrics.counter(metric::k_backpressure_waits, {}, "times a poller waited for in-flight room");
    metrics.counter(metric::k_rejected, {}, "messages that are not SES events, by reason");
    metrics.counter(metric::k_delete_failures, {}, "messages whose deletion failed, by SQS code");
    metrics.counter(metric::k_store_failures, {}, "failed store transactions, by error kind");
    batch_size =
        &metrics.histogram(metric::k_batch_size, exponential_buckets(1, 2, 12), {}, "events per store transaction");
    apply_seconds = &metrics.histogram(metric::k_apply_seconds, exponential_buckets(0.001, 2, 14), {},
                                       "duration of one store transaction");
    event_age = &metrics.histogram(metric::k_event_age_seconds, exponential_buckets(0.001, 2, 27), {},
                                   "commit time minus the SES event's own timestamp");
    for (int t = 0; t < core::k_event_type_count; ++t) {
        events_by_type.push_back(&metrics.counter(
            metric::k_events, {{"type", std::string(core::to_string(static_cast<core::EventType>(t)))}},
            "events committed (new or duplicate), by type"));
    }
    for (const char* op : {"receive", "delete_batch", "change_visibility_batch", "send"}) {
        call_counters[op] = {&metrics.counter(metric::k_queue_calls, {{"operation", op}, {"outcome", "ok"}}),
                             &metrics.counter(metric::k_queue_calls, {{"operation", op}, {"outcome", "error"}})};
    }
    for (const auto& url : options.queue_urls) {
        received_by_queue.push_back(
            &metrics.counter(metric::k_messages_received, {{"queue", url}}, "messages received"));
    }
}

void Worker::Impl::run_poller(std::size_t queue_index, int poller) {
    const std::string& url = options.queue_urls[queue_index];
    ses::EventParser parser(options.max_document_bytes);
    milliseconds backoff{0};
    UnixMillis retry_at = 0;
    const auto batch = static_cast<std::size_t>(QueueClient::k_max_batch);
    constexpr UnixMillis any_time = std::numeric_limits<UnixMillis>::max();
    std::vector<Tracked> received_now;
    for (;;) {
        {
            std::unique_lock lock(mutex);
            // What is committed is deleted here, before asking for more: one receive and one
            // delete per ten events, as in a plain consume loop, and no other thread to wake.
            if (!stopping) delete_some(lock, queue_index, any_time);
            bool counted = false;
            // Backpressure: never hold more than max_in_flight messages. Meanwhile help delete
            // what is committed; wait only when everything in flight awaits the committer.
            while (!stopping && tracked.size() + reserved + batch > options.max_in_flight) {
                if (delete_some(lock, queue_index, any_time)) continue;
                if (!counted) backpressure_waits->add();
                counted = true;
                ++pollers_waiting_room;
                sleeper.wait(lock, poll_cv, k_idle_wait);
                --pollers_waiting_room;
            }
            while (!stopping && clock.now_millis() < retry_at) {
                sleeper.wait(lock, poll_cv, milliseconds(retry_at - clock.now_millis()));
            }
            if (stopping) break;
            reserved += batch;
        }
        auto received = queue.receive(url, QueueClient::k_max_batch, options.wait_time, options.visibility_timeout);
        count_call("receive", received.has_value());
        const UnixMillis now = clock.now_millis();
        if (!received) {
            {
                std::lock_guard lock(mutex);
                reserved -= batch;
                room_made_locked();
            }
            const QueueError& e = received.error();
            backoff = next_backoff(backoff, options.queue_backoff_initial, options.queue_backoff_max);
            // Non-retryable errors (auth, missing queue) are configuration problems an operator can
            // fix while we keep trying at the slowest rate.
            if (!e.retryable) backoff = options.queue_backoff_max;
            retry_at = now + backoff.count();
            receive_log.failure(clock, "receive failed; backing off",
                                {{"queue", url},
                                 {"error", e.describe()},
                                 {"retryable", e.retryable},
                                 {"backoff_ms", static_cast<std::int64_t>(backoff.count())}});
            continue;
        }
        backoff = milliseconds{0};
        receive_log.recovered("receive works again");
        std::vector<QueueMessage>& messages = *received;
        received_by_queue[queue_index]->add(static_cast<std::int64_t>(messages.size()));
        std::uint64_t first_seq = 0;
        std::vector<core::SesEvent> slots;
        slots.reserve(messages.size());
        // Built before taking the lock, which every thread shares.
        received_now.clear();
        for (QueueMessage& m : messages) {
            received_now.push_back(
                Tracked{queue_index, m.message_id, std::move(m.receipt_handle), m.approximate_receive_count,
                        now + std::chrono::milliseconds(options.visibility_timeout).count(), Stage::parsed, 0, 0, 0});
        }
        committer.take_spares(slots, messages.size());
        {
            std::lock_guard lock(mutex);
            reserved -= batch;
            first_seq = next_seq;
            next_seq += messages.size();
            for (std::size_t i = 0; i < received_now.size(); ++i)
                track_locked(first_seq + i, std::move(received_now[i]));
            update_in_flight_locked();
        }
        // Parsing happens here, in parallel across pollers; the committer only applies.
        std::vector<ingest::Submitted> parsed;
        parsed.reserve(messages.size());
        slots.resize(messages.size());
        for (std::size_t i = 0; i < messages.size(); ++i) {
            if (auto ok = parser.parse_into(messages[i].body, slots[i]); !ok) {
                handle_poison(queue_index, first_seq + i, messages[i], ok.error());
                continue;
            }
            parsed.push_back(ingest::Submitted{first_seq + i, std::move(slots[i])});
        }
        committer.submit(parsed);
    }
    bool last = false;
    {
        std::lock_guard lock(mutex);
        last = --pollers_running == 0;
    }
    if (last) committer.close();  // nothing more will be submitted: it commits what it has, then ends
    log::debug("poller stopped", {{"queue", url}, {"poller", poller}});
}

void Worker::Impl::handle_poison(std::size_t queue_index, std::uint64_t seq, const QueueMessage& message,
                                 const util::Error& why) {
    const std::string& url = options.queue_urls[queue_index];
    const std::string reason = why.describe();
    metrics.counter(metric::k_rejected, {{"reason", kind_label(why.kind)}}).add();
    const bool to_dlq = !options.dlq_url.empty() && message.approximate_receive_count >= options.max_receive_count;
    log::warn("rejected message", {{"queue", url},
                                   {"sqs_message_id", message.message_id},
                                   {"reason", reason},
                                   {"receive_count", message.approximate_receive_count},
                                   {"action", to_dlq ? "dead-letter" : "left for redrive"}});
    if (to_dlq) {
        auto sent = queue.send(options.dlq_url, message.body,
                               {{"mailtrack.reject_reason", reason},
                                {"mailtrack.source_queue", url},
                                {"mailtrack.source_message_id", message.message_id},
                                {"mailtrack.receive_count", std::to_string(message.approximate_receive_count)}});
        count_call("send", sent.has_value());
        if (sent) {
            dead_lettered->add();
            std::lock_guard lock(mutex);
            auto it = tracked.find(seq);
            // Only this poller and the acknowledgers touch a parsed entry before it is queued,
            // and acknowledgers never remove parsed entries, so it is still there.
            assert(it != tracked.end());
            it->second.stage = Stage::committed;
            to_delete[queue_index].push_back(seq);
            ack_cv.notify_all();
            return;
        }
        log::warn("could not move message to the dead-letter queue; it will reappear",
                  {{"sqs_message_id", message.message_id}, {"error", sent.error().describe()}});
    }
    // Left invisible until its timeout, so the queue's redrive policy counts the receive.
    std::lock_guard lock(mutex);
    abandon_locked(seq);
}

void Worker::Impl::committed(std::span<const std::uint64_t> seqs, std::span<const core::SesEvent> events,
                             const store::ApplyResult& result, std::chrono::duration<double> took) {
    {
        std::lock_guard lock(mutex);
        const UnixMillis committed_at = clock.now_millis();
        // Acknowledgers sleep until the oldest undeleted message has waited ack_delay; newer
        // ones cannot be due sooner, so they are woken only when a queue had none waiting.
        // (Behind a delete retry that is backing off, they are seen within k_idle_wait.)
        bool wake_acknowledgers = stopping || options.ack_delay.count() == 0;
        for (const std::uint64_t seq : seqs) {
            auto it = tracked.find(seq);
            assert(it != tracked.end());  // parsed entries leave `tracked` only through the committer
            it->second.stage = Stage::committed;
            it->second.committed_at = committed_at;
            auto& waiting = to_delete[it->second.queue];
            wake_acknowledgers = wake_acknowledgers || waiting.empty();
            waiting.push_back(seq);
        }
        if (wake_acknowledgers) ack_cv.notify_all();
        room_made_locked();
    }
    store_log.recovered("store available again");
    apply_seconds->observe(took.count());
    batch_size->observe(static_cast<double>(events.size()));
    applied->add(result.applied);
    unknown->add(result.unknown);
    duplicates->add(result.duplicates);
    const UnixMillis now = clock.now_millis();
    for (const auto& e : events) {
        events_by_type[static_cast<std::size_t>(e.type)]->add();
        event_age->observe(static_cast<double>(std::max<UnixMillis>(0, now - e.occurred_at)) / 1000.0);
    }
}

void Worker::Impl::rejected(std::uint64_t seq, const util::Error& error) {
    metrics.counter(metric::k_store_failures, {{"kind", kind_label(error.kind)}}).add();
    metrics.counter(metric::k_rejected, {{"reason", "store"}}).add();
    // The event fails on its own: its message is left to reappear (and eventually be redriven).
    std::lock_guard lock(mutex);
    const auto it = tracked.find(seq);
    assert(it != tracked.end());
    log::error("store rejected an event; leaving its message for redrive",
               {{"sqs_message_id", it->second.message_id}, {"error", error.describe()}});
    abandon_locked(seq);
}

void Worker::Impl::failed(const util::Error& error, std::size_t events, milliseconds backoff) {
    metrics.counter(metric::k_store_failures, {{"kind", kind_label(error.kind)}}).add();
    // The batch is kept and retried; the heartbeat keeps its messages' visibility.
    if (backoff.count() == 0) return;  // not an outage: the committer isolates the failing event
    store_log.failure(clock, "store unavailable; keeping the batch and backing off",
                      {{"error", error.describe()},
                       {"events", static_cast<std::int64_t>(events)},
                       {"backoff_ms", static_cast<std::int64_t>(backoff.count())}});
}

Worker::Worker(WorkerOptions options, QueueClient& queue, store::Store& store, util::Clock& clock,
               util::Sleeper& sleeper, MetricsRegistry& metrics)
    : m_impl(std::make_unique<Impl>(std::move(options), queue, store, clock, sleeper, metrics)) {}

Worker::~Worker() {
    request_stop(StopMode::immediate);
    wait();
}

util::Result<void> validate(const WorkerOptions& o) {
    auto bad = [](std::string what) { return util::fail(util::ErrorKind::config, std::move(what)); };
    if (o.queue_urls.empty()) return bad("worker.queue_urls: at least one queue URL is needed");
    if (o.concurrency < 1 || o.concurrency > 16) return bad("worker.concurrency must be 1..16");
    if (o.batch_max < 1) return bad("worker.batch_max must be at least 1");
    if (o.linger.count() < 0) return bad("worker.linger_ms must not be negative");
    if (o.wait_time.count() < 0 || o.wait_time.count() > 20) return bad("worker.wait_time_s must be 0..20");
    if (o.visibility_timeout.count() < 2 || o.visibility_timeout.count() > 43'200) {
        return bad("worker.visibility_timeout_s must be 2..43200");
    }
    if (o.max_receive_count < 1) return bad("worker.max_receive_count must be at least 1");
    if (o.max_in_flight < static_cast<std::size_t>(QueueClient::k_max_batch)) {
        return bad("worker.max_in_flight must be at least 10");
    }
    if (o.store_backoff_initial.count() < 1 || o.store_backoff_max < o.store_backoff_initial) {
        return bad("worker.store_backoff_*: need 1 <= initial <= max");
    }
    if (o.queue_backoff_initial.count() < 1 || o.queue_backoff_max < o.queue_backoff_initial) {
        return bad("worker.queue_backoff_*: need 1 <= initial <= max");
    }
    return {};
}

util::Result<void> Worker::start() {
    Impl& w = *m_impl;
    if (auto ok = validate(w.options); !ok) return ok;
    std::lock_guard lock(w.mutex);
    if (w.started) return util::fail(util::ErrorKind::internal, "worker already started");
    w.started = true;
    w.register_metrics();
    w.to_delete.resize(w.options.queue_urls.size());
    w.by_visibility.resize(w.options.queue_urls.size());
    w.pollers_running = w.options.queue_urls.size() * static_cast<std::size_t>(w.options.concurrency);
    w.committer_running = true;
    w.threads.emplace_back([&w] {
        name_this_thread("mt-commit");
        w.committer.run();
        std::lock_guard done(w.mutex);
        w.committer_running = false;
        w.ack_cv.notify_all();
    });
    // Deletes are as many calls as receives: one acknowledger per four polls keeps them from
    // queueing behind each other (each takes its own entries under the mutex).
    const int acknowledgers = std::max(1, w.options.concurrency / 4);
    for (std::size_t q = 0; q < w.options.queue_urls.size(); ++q) {
        for (int a = 0; a < acknowledgers; ++a) {
            w.threads.emplace_back([&w, q] {
                name_this_thread("mt-ack-" + std::to_string(q));
                w.run_acknowledger(q);
            });
        }
        for (int p = 0; p < w.options.concurrency; ++p) {
            w.threads.emplace_back([&w, q, p] {
                name_this_thread("mt-poll-" + std::to_string(q) + "-" + std::to_string(p));
                w.run_poller(q, p);
            });
        }
    }
    log::info("worker started", {{"queues", static_cast<std::int64_t>(w.options.queue_urls.size())},
                                 {"concurrency", w.options.concurrency},
                                 {"batch_max", static_cast<std::int64_t>(w.options.batch_max)}});
    return {};
}

void Worker::request_stop(StopMode mode) noexcept {
    Impl& w = *m_impl;
    UnixMillis deadline = 0;
    {
        std::lock_guard lock(w.mutex);
        if (!w.stopping) {
            w.stopping = true;
            w.stop_deadline = w.clock.now_millis() + std::chrono::milliseconds(w.options.stop_timeout).count();
        }
        deadline = w.stop_deadline;
        if (mode == StopMode::immediate) w.immediate = true;
        w.poll_cv.notify_all();
        w.ack_cv.notify_all();
    }
    w.committer.stop_by(deadline);
    if (mode == StopMode::immediate) w.committer.abort();
    w.queue.interrupt_receives();
}

void Worker::wait() {
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(m_impl->mutex);
        threads.swap(m_impl->threads);
    }
    for (auto& t : threads) t.join();
}

std::size_t Worker::in_flight() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->tracked.size();
}

}  // namespace mailtrack::worker
