#include "mailtrack/util/clock.hpp"

namespace mailtrack::util {

UnixMillis SystemClock::now_millis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::chrono::steady_clock::time_point SystemClock::steady_now() const {
    return std::chrono::steady_clock::now();
}

}  // namespace mailtrack::util
