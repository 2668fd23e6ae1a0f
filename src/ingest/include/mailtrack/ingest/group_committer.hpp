#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <vector>

#include "mailtrack/core/event.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/util/sleeper.hpp"

namespace mailtrack::ingest {

struct CommitOptions {
    std::size_t batch_max = 500;           // most events per store transaction
    std::chrono::milliseconds linger{20};  // how long a partial batch waits for more
    std::chrono::milliseconds backoff_initial{100};
    std::chrono::milliseconds backoff_max{30'000};
};

// An event handed to the committer, with a ticket its producer chose to recognise it by.
struct Submitted {
    std::uint64_t ticket = 0;
    core::SesEvent event;
};

// What the producers learn of their events. Called on the committer's thread with no lock of
// the committer held, so a listener may take its own locks and submit more.
class CommitListener {
public:
    virtual ~CommitListener() = default;
    // One transaction committed; tickets[i] is the ticket of events[i].
    virtual void committed(std::span<const std::uint64_t> tickets, std::span<const core::SesEvent> events,
                           const store::ApplyResult& result, std::chrono::duration<double> took) = 0;
    // This event fails on its own with an error that is not an outage: it is dropped, so it
    // does not block everything behind it.
    virtual void rejected(std::uint64_t ticket, const util::Error& error) = 0;
    // A transaction failed; its events are kept, in order, and retried after `backoff` (an
    // outage) or one by one at once to find the one that fails (backoff 0).
    virtual void failed(const util::Error& error, std::size_t events, std::chrono::milliseconds backoff) = 0;
};

// Group commit: many producers (the worker's pollers; the HTTPS ingest's requests) submit
// parsed events, one committer thread applies them to the store in transactions of up to
// batch_max events, waiting up to `linger` for a partial batch to fill. When the store is
// unavailable the batch is kept and retried with exponential backoff; when a transaction fails
// for another reason its events are retried one at a time and the one that fails alone is
// rejected. Events are applied in submission order.
//
// Thread safety: submit(), take_spares(), close(), stop_by() and abort() from any thread;
// run() on one thread.
class GroupCommitter {
public:
    GroupCommitter(store::Store& store, CommitOptions options, util::Clock& clock, util::Sleeper& sleeper,
                   CommitListener& listener);

    // Queues the events (moved from `items`, which is left empty).
    void submit(std::vector<Submitted>& items);
    // Moves up to `wanted - into.size()` events the committer is done with into `into`: their
    // strings and vectors keep their capacity, so a warm producer parses without allocating.
    void take_spares(std::vector<core::SesEvent>& into, std::size_t wanted);

    // Commits until there is nothing more to do: returns once close() was called and every
    // submitted event is committed or rejected, or once abort() was called, or once the
    // deadline of stop_by() passed.
    void run();

    // No more submissions will come: run() returns when what is queued is done.
    void close();
    // A graceful stop: stop lingering, and give up on what is not committed by `deadline`.
    void stop_by(util::UnixMillis deadline);
    // Return as soon as possible; what is not committed stays uncommitted.
    void abort();

    std::size_t pending() const;

private:
    bool must_quit_locked() const;
    bool wait_for_work(std::unique_lock<std::mutex>& lock);
    void linger_locked(std::unique_lock<std::mutex>& lock, std::size_t isolate);
    void recycle_locked(std::vector<core::SesEvent>& events);

    store::Store& m_store;
    CommitOptions m_options;
    util::Clock& m_clock;
    util::Sleeper& m_sleeper;
    CommitListener& m_listener;

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Submitted> m_pending;
    std::vector<core::SesEvent> m_spares;
    bool m_idle = false;
    bool m_closed = false;
    bool m_stopping = false;
    bool m_aborted = false;
    util::UnixMillis m_deadline = 0;
};

}  // namespace mailtrack::ingest
