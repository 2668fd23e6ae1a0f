#include "mailtrack/util/sleeper.hpp"

#include <algorithm>
#include <thread>

namespace mailtrack::util {

void RealSleeper::sleep_for(std::chrono::milliseconds duration) {
    if (duration.count() > 0) std::this_thread::sleep_for(duration);
}

void RealSleeper::wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       std::chrono::milliseconds duration) {
    if (duration.count() <= 0) return;
    cv.wait_for(lock, duration);
}

void SlicedSleeper::sleep_for(std::chrono::milliseconds duration) {
    if (duration.count() > 0) std::this_thread::sleep_for(std::min(duration, m_slice));
}

void SlicedSleeper::wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         std::chrono::milliseconds duration) {
    if (duration.count() <= 0) return;
    cv.wait_for(lock, std::min(duration, m_slice));
}

}  // namespace mailtrack::util
