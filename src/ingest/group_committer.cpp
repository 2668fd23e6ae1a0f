#include "mailtrack/ingest/group_committer.hpp"

#include <algorithm>

namespace mailtrack::ingest {

using std::chrono::milliseconds;

namespace {

constexpr milliseconds k_idle_wait{1000};  // longest wait before re-checking deadlines

milliseconds next_backoff(milliseconds current, const CommitOptions& o) {
    if (current.count() == 0) return o.backoff_initial;
    return std::min(current * 2, o.backoff_max);
}

}  // namespace

GroupCommitter::GroupCommitter(store::Store& store, CommitOptions options, util::Clock& clock, util::Sleeper& sleeper,
                               CommitListener& listener)
    : m_store(store), m_options(options), m_clock(clock), m_sleeper(sleeper), m_listener(listener) {
    if (m_options.batch_max == 0) m_options.batch_max = 1;
}

void GroupCommitter::submit(std::vector<Submitted>& items) {
    if (items.empty()) return;
    std::lock_guard lock(m_mutex);
    for (auto& item : items) m_pending.push_back(std::move(item));
    items.clear();
    // A lingering committer wakes by itself when its linger ends; it needs a nudge only when
    // idle or when a full batch is waiting.
    if (m_idle || m_pending.size() >= m_options.batch_max) m_cv.notify_one();
}

void GroupCommitter::take_spares(std::vector<core::SesEvent>& into, std::size_t wanted) {
    std::lock_guard lock(m_mutex);
    while (into.size() < wanted && !m_spares.empty()) {
        into.push_back(std::move(m_spares.back()));
        m_spares.pop_back();
    }
}

void GroupCommitter::close() {
    std::lock_guard lock(m_mutex);
    m_closed = true;
    m_cv.notify_all();
}

void GroupCommitter::stop_by(util::UnixMillis deadline) {
    std::lock_guard lock(m_mutex);
    if (!m_stopping) {
        m_stopping = true;
        m_deadline = deadline;
    }
    m_cv.notify_all();
}

void GroupCommitter::abort() {
    std::lock_guard lock(m_mutex);
    m_aborted = true;
    m_cv.notify_all();
}

std::size_t GroupCommitter::pending() const {
    std::lock_guard lock(m_mutex);
    return m_pending.size();
}

bool GroupCommitter::must_quit_locked() const {
    return m_aborted || (m_stopping && m_clock.now_millis() >= m_deadline);
}

void GroupCommitter::recycle_locked(std::vector<core::SesEvent>& events) {
    // Bounded: at most one full batch waits to be reused.
    for (auto& e : events) {
        if (m_spares.size() >= m_options.batch_max) break;
        m_spares.push_back(std::move(e));
    }
    events.clear();
}

// Whether there is a batch to commit; false when run() should return.
bool GroupCommitter::wait_for_work(std::unique_lock<std::mutex>& lock) {
    while (!must_quit_locked() && m_pending.empty() && !m_closed) {
        m_idle = true;
        m_sleeper.wait(lock, m_cv, k_idle_wait);
        m_idle = false;
    }
    return !must_quit_locked() && !m_pending.empty();
}

void GroupCommitter::linger_locked(std::unique_lock<std::mutex>& lock, std::size_t isolate) {
    if (m_options.linger.count() <= 0 || isolate > 0) return;
    const util::UnixMillis until = m_clock.now_millis() + m_options.linger.count();
    while (m_pending.size() < m_options.batch_max && !m_stopping && !m_closed && m_clock.now_millis() < until) {
        m_sleeper.wait(lock, m_cv, milliseconds(until - m_clock.now_millis()));
    }
}

void GroupCommitter::run() {
    milliseconds backoff{0};
    std::size_t isolate = 0;  // after a failure that is not an outage: apply this many one by one
    std::vector<std::uint64_t> tickets;
    std::vector<core::SesEvent> events;
    for (;;) {
        std::unique_lock lock(m_mutex);
        recycle_locked(events);
        if (!wait_for_work(lock)) break;
        linger_locked(lock, isolate);
        const std::size_t take = std::min(m_pending.size(), isolate > 0 ? std::size_t{1} : m_options.batch_max);
        tickets.clear();
        for (std::size_t i = 0; i < take; ++i) {
            tickets.push_back(m_pending.front().ticket);
            events.push_back(std::move(m_pending.front().event));
            m_pending.pop_front();
        }
        lock.unlock();

        const auto began = m_clock.steady_now();
        auto result = m_store.apply(events);
        const std::chrono::duration<double> took = m_clock.steady_now() - began;
        if (result) {
            if (isolate > 0) --isolate;
            backoff = milliseconds{0};
            m_listener.committed(tickets, events, *result, took);
            continue;
        }
        const util::Error& error = result.error();
        const bool outage = error.kind == util::ErrorKind::storage_unavailable;
        if (!outage && events.size() == 1) {
            if (isolate > 0) --isolate;
            m_listener.rejected(tickets.front(), error);
            continue;
        }
        lock.lock();
        for (std::size_t i = events.size(); i-- > 0;) m_pending.push_front(Submitted{tickets[i], std::move(events[i])});
        events.clear();
        lock.unlock();
        if (!outage) {
            isolate = take;  // find the event that fails
            m_listener.failed(error, take, milliseconds{0});
            continue;
        }
        backoff = next_backoff(backoff, m_options);
        m_listener.failed(error, take, backoff);
        lock.lock();
        const util::UnixMillis retry_at = m_clock.now_millis() + backoff.count();
        while (!must_quit_locked() && m_clock.now_millis() < retry_at) {
            m_sleeper.wait(lock, m_cv, milliseconds(retry_at - m_clock.now_millis()));
        }
    }
}

}  // namespace mailtrack::ingest
