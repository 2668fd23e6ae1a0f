#pragma once

// Test doubles for the AWS layer's injected dependencies.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "mailtrack/aws/retry.hpp"

namespace mailtrack::testing {

// Records requested sleeps instead of sleeping.
class RecordingSleeper final : public util::Sleeper {
public:
    void sleep_for(std::chrono::milliseconds d) override {
        std::lock_guard lock(m_mutex);
        m_sleeps.push_back(d);
    }
    // A wait on a condition variable is recorded as a sleep of its duration, and returns at once.
    void wait(std::unique_lock<std::mutex>&, std::condition_variable&, std::chrono::milliseconds d) override {
        sleep_for(d);
    }
    std::vector<std::chrono::milliseconds> sleeps() const {
        std::lock_guard lock(m_mutex);
        return m_sleeps;
    }

private:
    mutable std::mutex m_mutex;
    std::vector<std::chrono::milliseconds> m_sleeps;
};

class FixedJitter final : public aws::Jitter {
public:
    explicit FixedJitter(double v) : m_value(v) {}
    double unit() override { return m_value; }

private:
    double m_value;
};

}  // namespace mailtrack::testing
