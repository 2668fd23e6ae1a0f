#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace mailtrack::worker {

// How the worker waits. Every wait is a bounded wait on a condition variable; the caller
// re-checks its condition and its deadlines (by the injected Clock) afterwards, so a wait
// may end early without harm. Production uses RealSleeper; tests use a sleeper that waits
// only briefly in real time while they move a ManualClock.
//
// Thread safety: implementations must be callable from several threads at once.
class Sleeper {
public:
    virtual ~Sleeper() = default;
    // Waits until `cv` is notified or `duration` passes. `lock` is held on entry and on return.
    virtual void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                      std::chrono::milliseconds duration) = 0;
};

class RealSleeper final : public Sleeper {
public:
    void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
              std::chrono::milliseconds duration) override;
};

// Waits at most `slice` of real time per call, whatever duration is asked: for tests whose
// time is a ManualClock (deadlines are re-checked against it after each wait).
class SlicedSleeper final : public Sleeper {
public:
    explicit SlicedSleeper(std::chrono::milliseconds slice) : m_slice(slice) {}
    void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
              std::chrono::milliseconds duration) override;

private:
    std::chrono::milliseconds m_slice;
};

}  // namespace mailtrack::worker
