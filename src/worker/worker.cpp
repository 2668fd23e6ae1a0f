#include "mailtrack/worker/worker.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "mailtrack/core/status.hpp"
#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/util/log.hpp"

namespace mailtrack::worker {
namespace {

using std::chrono::milliseconds;
using util::UnixMillis;
namespace log = util::log;

constexpr milliseconds k_idle_wait{1000};    // longest wait before re-checking deadlines
constexpr milliseconds k_log_every{30'000};  // repeated failures are logged at most this often
constexpr int k_max_delete_attempts = 8;     // then the message is left to reappear (a duplicate)

std::string kind_label(util::ErrorKind kind) {
    std::string s(util::to_string(kind));
    std::replace(s.begin(), s.end(), ' ', '_');
    return s;
}

std::string kind_label(QueueErrorKind kind) {
    std::string s(to_string(kind));
    std::replace(s.begin(), s.end(), ' ', '_');
    return s;
}

// Names the calling thread as `top -H`, `ps -L` and debuggers show it (at most 15 bytes).
void name_this_thread(const std::string& name) {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

milliseconds next_backoff(milliseconds current, milliseconds initial, milliseconds cap) {
    if (current.count() == 0) return initial;
    return std::min(current * 2, cap);
}

// Logs the first of a run of failures, then at most once per k_log_every with how many were
// suppressed, so a long outage does not flood the log.
class RateLimitedLog {
public:
    void failure(const util::Clock& clock, std::string_view message, std::initializer_list<log::Field> fields) {
        const UnixMillis now = clock.now_millis();
        std::int64_t suppressed = 0;
        {
            std::lock_guard lock(m_mutex);
            if (now < m_next_at) {
                ++m_suppressed;
                return;
            }
            suppressed = m_suppressed;
            m_suppressed = 0;
            m_next_at = now + k_log_every.count();
            m_failing = true;
        }
        log::warn(message, fields);
        if (suppressed > 0) log::warn("similar failures not logged", {{"count", suppressed}});
    }
    void recovered(std::string_view message) {
        {
            std::lock_guard lock(m_mutex);
            if (!m_failing) return;
            m_failing = false;
            m_next_at = 0;
            m_suppressed = 0;
        }
        log::info(message);
    }

private:
    std::mutex m_mutex;
    UnixMillis m_next_at = 0;
    std::int64_t m_suppressed = 0;
    bool m_failing = false;
};

enum class Stage {
    parsed,     // waiting for (or in) a store transaction
    committed,  // its event is committed (or it was dead-lettered): waiting for deletion
};

// One received message, from receive until it is deleted or abandoned.
struct Tracked {
    std::size_t queue = 0;
    std::string message_id;
    std::string receipt_handle;
    std::int64_t receive_count = 0;
    UnixMillis visible_at = 0;  // when SQS will show it again unless extended
    Stage stage = Stage::parsed;
    int delete_attempts = 0;
    UnixMillis delete_not_before = 0;
    UnixMillis committed_at = 0;  // when its event committed (an acknowledger waits ack_delay after it)
};

struct Pending {
    std::uint64_t seq = 0;
    core::SesEvent event;
};

}  // namespace

struct Worker::Impl {
    Impl(WorkerOptions o, QueueClient& q, store::Store& s, util::Clock& c, Sleeper& sl, MetricsRegistry& m)
        : options(std::move(o)), queue(q), store(s), clock(c), sleeper(sl), metrics(m) {}

    WorkerOptions options;
    QueueClient& queue;
    store::Store& store;
    util::Clock& clock;
    Sleeper& sleeper;
    MetricsRegistry& metrics;

    // Everything below is guarded by `mutex`.
    mutable std::mutex mutex;
    std::condition_variable poll_cv;    // pollers: in-flight room, stop
    std::condition_variable commit_cv;  // committer: pending events, stop
    std::condition_variable ack_cv;     // acknowledgers: deletions, stop
    std::map<std::uint64_t, Tracked> tracked;
    std::size_t reserved = 0;  // in-flight room taken by receive calls in progress
    std::uint64_t next_seq = 1;
    std::deque<Pending> pending;
    // Events the committer is done with, handed back to the pollers to parse into: their strings
    // and vectors keep their capacity, so a warm worker parses without allocating.
    std::vector<core::SesEvent> spare_events;
    std::vector<std::deque<std::uint64_t>> to_delete;  // per queue
    // Per queue, every tracked message by (visible_at, seq): the heartbeat finds what is due
    // and when the next one is due without scanning everything in flight.
    std::vector<std::set<std::pair<UnixMillis, std::uint64_t>>> by_visibility;
    std::size_t pollers_running = 0;
    std::size_t pollers_waiting_room = 0;  // pollers waiting on poll_cv for in-flight room
    bool committer_idle = false;           // the committer waits for a first pending event
    bool committer_running = false;
    bool stopping = false;
    bool immediate = false;
    UnixMillis stop_deadline = 0;

    std::vector<std::thread> threads;
    bool started = false;
    RateLimitedLog receive_log, store_log, delete_log, visibility_log;

    // Metrics resolved once.
    Gauge* in_flight_gauge = nullptr;
    Counter* applied = nullptr;
    Counter* unknown = nullptr;
    Counter* duplicates = nullptr;
    Counter* dead_lettered = nullptr;
    Counter* deleted = nullptr;
    Counter* visibility_extended = nullptr;
    Counter* backpressure_waits = nullptr;
    Histogram* batch_size = nullptr;
    Histogram* apply_seconds = nullptr;
    Histogram* event_age = nullptr;
    std::vector<Counter*> events_by_type;
    std::vector<Counter*> received_by_queue;

    void register_metrics();
    // Per operation, the ok and error counters: resolved once, counted on every SQS call.
    std::map<std::string, std::pair<Counter*, Counter*>, std::less<>> call_counters;
    void count_call(std::string_view operation, bool ok) {
        auto it = call_counters.find(operation);  // filled in register_metrics(), read-only after
        if (it == call_counters.end()) return;
        (ok ? it->second.first : it->second.second)->add();
    }
    void update_in_flight_locked() { in_flight_gauge->set(static_cast<std::int64_t>(tracked.size())); }

    // Whether threads should stop at once: an immediate stop, or a graceful one past its deadline.
    bool must_quit_locked() const { return immediate || (stopping && clock.now_millis() >= stop_deadline); }

    void run_poller(std::size_t queue_index, int poller);
    void handle_poison(std::size_t queue_index, std::uint64_t seq, const QueueMessage& message, const util::Error& why);
    void track_locked(std::uint64_t seq, Tracked t) {
        by_visibility[t.queue].emplace(t.visible_at, seq);
        tracked.emplace(seq, std::move(t));
    }
    void untrack_locked(std::uint64_t seq) {
        const auto it = tracked.find(seq);
        if (it == tracked.end()) return;
        by_visibility[it->second.queue].erase({it->second.visible_at, seq});
        tracked.erase(it);
    }
    void abandon_locked(std::uint64_t seq) {
        untrack_locked(seq);
        update_in_flight_locked();
        room_made_locked();
    }
    // Wakes pollers waiting for in-flight room (only they wait on poll_cv, apart from a stop).
    void room_made_locked() {
        if (pollers_waiting_room > 0) poll_cv.notify_all();
    }
    void run_committer();
    void run_acknowledger(std::size_t queue_index);
    bool delete_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index, UnixMillis committed_by);
    bool heartbeat_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index);
    UnixMillis heartbeat_due_locked(std::size_t queue_index) const;
};

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
        {
            std::lock_guard lock(mutex);
            while (slots.size() < messages.size() && !spare_events.empty()) {
                slots.push_back(std::move(spare_events.back()));
                spare_events.pop_back();
            }
            reserved -= batch;
            first_seq = next_seq;
            next_seq += messages.size();
            for (std::size_t i = 0; i < received_now.size(); ++i)
                track_locked(first_seq + i, std::move(received_now[i]));
            update_in_flight_locked();
        }
        // Parsing happens here, in parallel across pollers; the committer only applies.
        std::vector<Pending> parsed;
        parsed.reserve(messages.size());
        slots.resize(messages.size());
        for (std::size_t i = 0; i < messages.size(); ++i) {
            if (auto ok = parser.parse_into(messages[i].body, slots[i]); !ok) {
                handle_poison(queue_index, first_seq + i, messages[i], ok.error());
                continue;
            }
            parsed.push_back(Pending{first_seq + i, std::move(slots[i])});
        }
        if (!parsed.empty()) {
            std::lock_guard lock(mutex);
            for (auto& p : parsed) pending.push_back(std::move(p));
            // A lingering committer wakes by itself when its linger ends; it needs a nudge only
            // when idle or when a full batch is waiting.
            if (committer_idle || pending.size() >= options.batch_max) commit_cv.notify_one();
        }
    }
    std::lock_guard lock(mutex);
    if (--pollers_running == 0) commit_cv.notify_all();
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

void Worker::Impl::run_committer() {
    milliseconds backoff{0};
    std::size_t isolate = 0;  // after a non-transient store error: apply this many events one by one
    std::vector<Pending> batch;
    std::vector<core::SesEvent> events;
    for (;;) {
        std::unique_lock lock(mutex);
        // The last batch's events go back to the pollers (bounded: at most one full batch).
        for (auto& e : events) {
            if (spare_events.size() >= options.batch_max) break;
            spare_events.push_back(std::move(e));
        }
        events.clear();
        for (;;) {
            if (must_quit_locked()) break;
            if (!pending.empty()) break;
            if (stopping && pollers_running == 0) break;
            committer_idle = true;
            sleeper.wait(lock, commit_cv, k_idle_wait);
            committer_idle = false;
        }
        if (must_quit_locked() || pending.empty()) break;
        if (options.linger.count() > 0 && pending.size() < options.batch_max && !stopping && isolate == 0) {
            const UnixMillis until = clock.now_millis() + options.linger.count();
            while (pending.size() < options.batch_max && !stopping && clock.now_millis() < until) {
                sleeper.wait(lock, commit_cv, milliseconds(until - clock.now_millis()));
            }
        }
        const std::size_t take = std::min(pending.size(), isolate > 0 ? std::size_t{1} : options.batch_max);
        batch.clear();
        events.clear();
        for (std::size_t i = 0; i < take; ++i) {
            batch.push_back(std::move(pending.front()));
            pending.pop_front();
        }
        lock.unlock();

        for (auto& p : batch) events.push_back(std::move(p.event));
        const auto apply_began = clock.steady_now();
        auto result = store.apply(events);
        const double seconds = std::chrono::duration<double>(clock.steady_now() - apply_began).count();

        lock.lock();
        if (result) {
            if (isolate > 0) --isolate;
            backoff = milliseconds{0};
            const UnixMillis committed_at = clock.now_millis();
            // Acknowledgers sleep until the oldest undeleted message has waited ack_delay; newer
            // ones cannot be due sooner, so they are woken only when a queue had none waiting.
            // (Behind a delete retry that is backing off, they are seen within k_idle_wait.)
            bool wake_acknowledgers = stopping || options.ack_delay.count() == 0;
            for (const auto& p : batch) {
                auto it = tracked.find(p.seq);
                assert(it != tracked.end());  // parsed entries leave `tracked` only through the committer
                it->second.stage = Stage::committed;
                it->second.committed_at = committed_at;
                auto& waiting = to_delete[it->second.queue];
                wake_acknowledgers = wake_acknowledgers || waiting.empty();
                waiting.push_back(p.seq);
            }
            if (wake_acknowledgers) ack_cv.notify_all();
            room_made_locked();
            lock.unlock();
            store_log.recovered("store available again");
            apply_seconds->observe(seconds);
            batch_size->observe(static_cast<double>(events.size()));
            applied->add(result->applied);
            unknown->add(result->unknown);
            duplicates->add(result->duplicates);
            const UnixMillis now = clock.now_millis();
            for (const auto& e : events) {
                events_by_type[static_cast<std::size_t>(e.type)]->add();
                event_age->observe(static_cast<double>(std::max<UnixMillis>(0, now - e.occurred_at)) / 1000.0);
            }
            continue;
        }

        const util::Error& error = result.error();
        metrics.counter(metric::k_store_failures, {{"kind", kind_label(error.kind)}}).add();
        if (error.kind != util::ErrorKind::storage_unavailable && events.size() == 1) {
            // This one event fails on its own: leave its message to reappear (and eventually be
            // redriven) instead of blocking everything behind it.
            const auto it = tracked.find(batch.front().seq);
            assert(it != tracked.end());
            log::error("store rejected an event; leaving its message for redrive",
                       {{"sqs_message_id", it->second.message_id}, {"error", error.describe()}});
            metrics.counter(metric::k_rejected, {{"reason", "store"}}).add();
            abandon_locked(batch.front().seq);
            if (isolate > 0) --isolate;
            continue;
        }
        // Keep the batch (in order) and retry; its visibility is kept by the heartbeat.
        for (std::size_t i = batch.size(); i-- > 0;) {
            batch[i].event = std::move(events[i]);
            pending.push_front(std::move(batch[i]));
        }
        if (error.kind != util::ErrorKind::storage_unavailable) {
            isolate = batch.size();  // find the event that fails
            continue;
        }
        backoff = next_backoff(backoff, options.store_backoff_initial, options.store_backoff_max);
        lock.unlock();
        store_log.failure(clock, "store unavailable; keeping the batch and backing off",
                          {{"error", error.describe()},
                           {"events", static_cast<std::int64_t>(events.size())},
                           {"backoff_ms", static_cast<std::int64_t>(backoff.count())}});
        lock.lock();
        const UnixMillis retry_at = clock.now_millis() + backoff.count();
        while (!must_quit_locked() && clock.now_millis() < retry_at) {
            sleeper.wait(lock, commit_cv, milliseconds(retry_at - clock.now_millis()));
        }
    }
    std::lock_guard lock(mutex);
    committer_running = false;
    ack_cv.notify_all();
}

UnixMillis Worker::Impl::heartbeat_due_locked(std::size_t queue_index) const {
    if (!options.heartbeat) return std::numeric_limits<UnixMillis>::max();
    const auto half = std::chrono::milliseconds(options.visibility_timeout).count() / 2;
    const auto& index = by_visibility[queue_index];
    return index.empty() ? std::numeric_limits<UnixMillis>::max() : index.begin()->first - half;
}

// Deletes up to 10 messages of the queue committed by `committed_by`. Returns whether it did
// anything.
bool Worker::Impl::delete_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index, UnixMillis committed_by) {
    auto& queue_of = to_delete[queue_index];
    if (queue_of.empty()) return false;
    const UnixMillis now = clock.now_millis();
    std::vector<std::uint64_t> seqs;
    std::vector<DeleteEntry> entries;
    for (auto it = queue_of.begin(); it != queue_of.end() && entries.size() < QueueClient::k_max_batch;) {
        const Tracked& t = tracked.at(*it);
        if (t.delete_not_before > now || t.committed_at > committed_by) {
            ++it;
            continue;
        }
        entries.push_back({std::string(1, static_cast<char>('0' + entries.size())), t.receipt_handle});
        seqs.push_back(*it);
        it = queue_of.erase(it);
    }
    if (entries.empty()) return false;
    lock.unlock();
    auto outcome = queue.delete_batch(options.queue_urls[queue_index], entries);
    count_call("delete_batch", outcome.has_value());
    lock.lock();

    auto retry_later = [&](std::uint64_t seq, std::string_view code) {
        Tracked& t = tracked.at(seq);
        if (++t.delete_attempts >= k_max_delete_attempts) {
            // It reappears after its visibility timeout and is then recognised as a duplicate.
            metrics.counter(metric::k_delete_failures, {{"code", std::string(code)}}).add();
            abandon_locked(seq);
            return;
        }
        const auto delay =
            std::min<std::int64_t>(options.queue_backoff_initial.count() << std::min(t.delete_attempts, 16),
                                   options.queue_backoff_max.count());
        t.delete_not_before = now + delay;
        queue_of.push_back(seq);
    };
    if (!outcome) {
        const QueueError& e = outcome.error();
        lock.unlock();
        delete_log.failure(clock, "delete failed; will retry",
                           {{"queue", options.queue_urls[queue_index]},
                            {"error", e.describe()},
                            {"messages", static_cast<std::int64_t>(seqs.size())}});
        lock.lock();
        for (const auto seq : seqs) retry_later(seq, kind_label(e.kind));
        return true;
    }
    std::vector<bool> failed(seqs.size(), false);
    for (const EntryFailure& f : outcome->failed) {
        std::size_t index = 0;
        const auto [p, ec] = std::from_chars(f.id.data(), f.id.data() + f.id.size(), index);
        if (ec != std::errc() || index >= seqs.size()) {
            log::warn("delete answer names an unknown entry", {{"id", f.id}});
            continue;
        }
        failed[index] = true;
        const std::uint64_t seq = seqs[index];
        if (f.retryable) {
            retry_later(seq, f.code);
        } else {
            // A stale receipt handle: the message was received again (or already deleted); its
            // next delivery is a duplicate the store recognises.
            metrics.counter(metric::k_delete_failures, {{"code", f.code}}).add();
            log::debug("delete refused", {{"sqs_message_id", tracked.at(seq).message_id}, {"code", f.code}});
            abandon_locked(seq);
        }
    }
    std::int64_t ok = 0;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        if (failed[i]) continue;
        untrack_locked(seqs[i]);
        ++ok;
    }
    deleted->add(ok);
    update_in_flight_locked();
    room_made_locked();
    if (ok > 0) {
        lock.unlock();
        delete_log.recovered("delete works again");
        lock.lock();
    }
    return true;
}

// Extends the visibility of up to 10 messages of the queue that are past half their timeout.
bool Worker::Impl::heartbeat_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index) {
    const UnixMillis now = clock.now_millis();
    const auto half = std::chrono::milliseconds(options.visibility_timeout).count() / 2;
    std::vector<std::uint64_t> seqs;
    std::vector<VisibilityEntry> entries;
    auto& index = by_visibility[queue_index];
    for (const auto& [visible_at, seq] : index) {
        if (visible_at - half > now || entries.size() == QueueClient::k_max_batch) break;
        entries.push_back({std::string(1, static_cast<char>('0' + entries.size())), tracked.at(seq).receipt_handle,
                           options.visibility_timeout});
        seqs.push_back(seq);
    }
    if (entries.empty()) return false;
    // Pushed forward now so that a failing call is not retried in a tight loop; a failure
    // only means the message may reappear, which is safe.
    for (const auto seq : seqs) {
        Tracked& t = tracked.at(seq);
        index.erase({t.visible_at, seq});
        t.visible_at = now + std::chrono::milliseconds(options.visibility_timeout).count();
        index.emplace(t.visible_at, seq);
    }
    lock.unlock();
    auto outcome = queue.change_visibility_batch(options.queue_urls[queue_index], entries);
    count_call("change_visibility_batch", outcome.has_value());
    if (!outcome) {
        visibility_log.failure(clock, "visibility heartbeat failed; messages may reappear",
                               {{"queue", options.queue_urls[queue_index]}, {"error", outcome.error().describe()}});
        lock.lock();
        return true;
    }
    visibility_extended->add(static_cast<std::int64_t>(entries.size() - outcome->failed.size()));
    for (const auto& f : outcome->failed) {
        log::debug("visibility heartbeat refused for a message; it may reappear", {{"id", f.id}, {"code", f.code}});
    }
    lock.lock();
    return true;
}

void Worker::Impl::run_acknowledger(std::size_t queue_index) {
    std::unique_lock lock(mutex);
    for (;;) {
        if (must_quit_locked()) break;
        if (stopping && !committer_running && to_delete[queue_index].empty()) break;
        if (heartbeat_due_locked(queue_index) <= clock.now_millis() && heartbeat_some(lock, queue_index)) continue;
        // Pollers delete what is committed before their next receive; what they leave for
        // ack_delay is deleted here (everything once stopping, when pollers have gone).
        const bool all = stopping || options.ack_delay.count() == 0;
        const UnixMillis committed_by =
            all ? std::numeric_limits<UnixMillis>::max() : clock.now_millis() - options.ack_delay.count();
        if (delete_some(lock, queue_index, committed_by)) continue;
        // Nothing to do now: wait for deletions, the next heartbeat or a delete retry.
        UnixMillis next = heartbeat_due_locked(queue_index);
        for (const auto seq : to_delete[queue_index]) {
            const Tracked& t = tracked.at(seq);
            next = std::min(next, all ? t.delete_not_before
                                      : std::max(t.delete_not_before, t.committed_at + options.ack_delay.count()));
        }
        const UnixMillis now = clock.now_millis();
        const milliseconds wait = next <= now ? milliseconds{1} : std::min(k_idle_wait, milliseconds(next - now));
        sleeper.wait(lock, ack_cv, wait);
    }
}

Worker::Worker(WorkerOptions options, QueueClient& queue, store::Store& store, util::Clock& clock, Sleeper& sleeper,
               MetricsRegistry& metrics)
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
        w.run_committer();
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
    {
        std::lock_guard lock(w.mutex);
        if (!w.stopping) {
            w.stopping = true;
            w.stop_deadline = w.clock.now_millis() + std::chrono::milliseconds(w.options.stop_timeout).count();
        }
        if (mode == StopMode::immediate) w.immediate = true;
        w.poll_cv.notify_all();
        w.commit_cv.notify_all();
        w.ack_cv.notify_all();
    }
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
