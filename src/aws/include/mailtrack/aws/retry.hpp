#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "mailtrack/aws/error.hpp"
#include "mailtrack/util/sleeper.hpp"

namespace mailtrack::aws {

// Source of the "full jitter" factor, uniform in [0, 1). Thread-safe.
class Jitter {
public:
    virtual ~Jitter() = default;
    virtual double unit() = 0;
};

class RandomJitter final : public Jitter {
public:
    explicit RandomJitter(std::uint64_t seed) : m_engine(seed) {}
    double unit() override;

private:
    std::mutex m_mutex;
    std::mt19937_64 m_engine;
};

// AWS "standard" retry mode (botocore retries/standard.py, SDK reference guide).
struct RetryOptions {
    int max_attempts = 3;                        // total attempts, including the first
    std::chrono::milliseconds base_delay{1000};  // delay_i = unit * min(base * 2^(i-1), max_backoff)
    std::chrono::milliseconds max_backoff{20000};
    int quota_capacity = 500;  // retry budget shared by all clients of a process
    int retry_cost = 5;
    int timeout_retry_cost = 10;
    int no_retry_increment = 1;
};

// True for the kinds standard mode retries: timeout, connection, throttled, server.
// Never for client (validation), auth, or parse errors.
bool is_retryable(const Error& e) noexcept;

// Full-jitter backoff before retry number `retry` (1 = the first retry); `unit` in [0, 1).
std::chrono::milliseconds backoff_delay(int retry, double unit, const RetryOptions& options) noexcept;

// The retry budget: a token bucket, so an outage does not turn into a retry storm.
// Thread-safe.
class RetryQuota {
public:
    explicit RetryQuota(const RetryOptions& options) : m_options(options), m_available(options.quota_capacity) {}
    // Takes the cost of retrying after `e`; nullopt when the budget is exhausted.
    std::optional<int> acquire(const Error& e);
    // A request succeeded after retries: give back what its last retry took.
    void release(int cost);
    // A request succeeded on its first attempt.
    void on_success_without_retry();
    int available() const;

private:
    RetryOptions m_options;
    mutable std::mutex m_mutex;
    int m_available;
};

// Classifies an AWS error response by HTTP status and error code into a kind.
ErrorKind classify(int http_status, std::string_view code) noexcept;

}  // namespace mailtrack::aws
