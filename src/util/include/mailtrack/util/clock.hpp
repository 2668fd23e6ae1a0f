#pragma once

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

// A clock that only moves when told to. Not thread-safe for concurrent advance().
class ManualClock final : public Clock {
public:
    explicit ManualClock(UnixMillis start) : m_now(start) {}
    UnixMillis now_millis() const override { return m_now; }
    std::chrono::steady_clock::time_point steady_now() const override {
        return std::chrono::steady_clock::time_point(std::chrono::milliseconds(m_now));
    }
    void advance(std::chrono::milliseconds by) { m_now += by.count(); }

private:
    UnixMillis m_now;
};

}  // namespace mailtrack::util
