#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace mailtrack::util {

// How mailtrack waits, injected so tests never wait in real time: a plain pause (retry
// backoff, pacing) or a bounded wait on a condition variable that a notify ends early. After a
// wait the caller re-checks its condition and its deadlines (by the injected Clock), so a wait
// may end early without harm.
//
// Thread safety: implementations must be callable from several threads at once.
class Sleeper {
public:
    virtual ~Sleeper() = default;
    virtual void sleep_for(std::chrono::milliseconds duration) = 0;
    // Waits until `cv` is notified or `duration` passes. `lock` is held on entry and on return.
    virtual void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                      std::chrono::milliseconds duration) = 0;
};

// Real time.
class RealSleeper final : public Sleeper {
public:
    void sleep_for(std::chrono::milliseconds duration) override;
    void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
              std::chrono::milliseconds duration) override;
};

// At most `slice` of real time per call, whatever duration is asked: for tests whose time is a
// ManualClock (deadlines are re-checked against it after each wait).
class SlicedSleeper final : public Sleeper {
public:
    explicit SlicedSleeper(std::chrono::milliseconds slice) : m_slice(slice) {}
    void sleep_for(std::chrono::milliseconds duration) override;
    void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
              std::chrono::milliseconds duration) override;

private:
    std::chrono::milliseconds m_slice;
};

}  // namespace mailtrack::util
