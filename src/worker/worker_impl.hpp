#pragma once
// The worker's insides, shared by its sources (worker.cpp: pollers, committer, lifecycle;
// acknowledger.cpp: deletion and the visibility heartbeat). Private to the worker layer.

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
#include "mailtrack/ingest/group_committer.hpp"
#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/util/log.hpp"
#include "mailtrack/worker/worker.hpp"

namespace mailtrack::worker {
namespace detail {

using std::chrono::milliseconds;
using util::UnixMillis;
namespace log = util::log;

constexpr milliseconds k_idle_wait{1000};    // longest wait before re-checking deadlines
constexpr milliseconds k_log_every{30'000};  // repeated failures are logged at most this often
constexpr int k_max_delete_attempts = 8;     // then the message is left to reappear (a duplicate)

inline std::string kind_label(util::ErrorKind kind) {
    std::string s(util::to_string(kind));
    std::replace(s.begin(), s.end(), ' ', '_');
    return s;
}

inline std::string kind_label(QueueErrorKind kind) {
    std::string s(to_string(kind));
    std::replace(s.begin(), s.end(), ' ', '_');
    return s;
}

// Names the calling thread as `top -H`, `ps -L` and debuggers show it (at most 15 bytes).
inline void name_this_thread(const std::string& name) {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

inline milliseconds next_backoff(milliseconds current, milliseconds initial, milliseconds cap) {
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

}  // namespace detail

using namespace detail;  // NOLINT: the worker's own sources only

// The worker learns from its committer (the ingest layer's group commit, tickets being the
// tracked messages' seq) which messages' events are committed.
struct Worker::Impl final : ingest::CommitListener {
    Impl(WorkerOptions o, QueueClient& q, store::Store& s, util::Clock& c, util::Sleeper& sl, MetricsRegistry& m)
        : options(std::move(o)),
          queue(q),
          store(s),
          clock(c),
          sleeper(sl),
          metrics(m),
          committer(s,
                    ingest::CommitOptions{options.batch_max, options.linger, options.store_backoff_initial,
                                          options.store_backoff_max},
                    c, sl, *this) {}

    WorkerOptions options;
    QueueClient& queue;
    store::Store& store;
    util::Clock& clock;
    util::Sleeper& sleeper;
    MetricsRegistry& metrics;
    ingest::GroupCommitter committer;  // has its own lock, never taken while holding `mutex`

    // Everything below is guarded by `mutex`.
    mutable std::mutex mutex;
    std::condition_variable poll_cv;  // pollers: in-flight room, stop
    std::condition_variable ack_cv;   // acknowledgers: deletions, stop
    std::map<std::uint64_t, Tracked> tracked;
    std::size_t reserved = 0;  // in-flight room taken by receive calls in progress
    std::uint64_t next_seq = 1;
    std::vector<std::deque<std::uint64_t>> to_delete;  // per queue
    // Per queue, every tracked message by (visible_at, seq): the heartbeat finds what is due
    // and when the next one is due without scanning everything in flight.
    std::vector<std::set<std::pair<UnixMillis, std::uint64_t>>> by_visibility;
    std::size_t pollers_running = 0;
    std::size_t pollers_waiting_room = 0;  // pollers waiting on poll_cv for in-flight room
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
    // ingest::CommitListener, on the committer's thread.
    void committed(std::span<const std::uint64_t> seqs, std::span<const core::SesEvent> events,
                   const store::ApplyResult& result, std::chrono::duration<double> took) override;
    void rejected(std::uint64_t seq, const util::Error& error) override;
    void failed(const util::Error& error, std::size_t events, milliseconds backoff) override;
    void run_acknowledger(std::size_t queue_index);
    bool delete_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index, UnixMillis committed_by);
    bool heartbeat_some(std::unique_lock<std::mutex>& lock, std::size_t queue_index);
    UnixMillis heartbeat_due_locked(std::size_t queue_index) const;
};

}  // namespace mailtrack::worker
