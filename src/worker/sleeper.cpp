#include "mailtrack/worker/sleeper.hpp"

#include <algorithm>

namespace mailtrack::worker {

void RealSleeper::wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       std::chrono::milliseconds duration) {
    if (duration.count() <= 0) return;
    cv.wait_for(lock, duration);
}

void SlicedSleeper::wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         std::chrono::milliseconds duration) {
    if (duration.count() <= 0) return;
    cv.wait_for(lock, std::min(duration, m_slice));
}

}  // namespace mailtrack::worker
