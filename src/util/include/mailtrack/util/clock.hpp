#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mailtrack::util {

// Milliseconds since the Unix epoch, UTC. Every timestamp the domain keeps is one of these.
using UnixMillis = std::int64_t;

// The only source of "now". Injected everywhere so tests never sleep or read the real clock.
// Implementations must be thread-safe.
class Clock {
public:
    virtual ~Clock() = default;
    virtual UnixMillis now_millis() const = 0;
    // A monotonic reading for measuring durations; unrelated to wall time.
    virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

class SystemClock final : public Clock {
public:
    UnixMillis now_millis() const override;
    std::chrono::steady_clock::time_point steady_now() const override;
};

// A clock that only moves when told to. Thread-safe: a test may advance it while the
// threads under test read it.
class ManualClock final : public Clock {
public:
    explicit ManualClock(UnixMillis start) : m_now(start) {}
    UnixMillis now_millis() const override { return m_now.load(std::memory_order_acquire); }
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_millis()));
    }
    void advance(std::chrono::milliseconds by) { m_now.fetch_add(by.count(), std::memory_order_acq_rel); }

private:
    std::atomic<UnixMillis> m_now;
};

}  // namespace mailtrack::util
