#include "mailtrack/aws/retry.hpp"

#include <algorithm>
#include <array>
#include <thread>

namespace mailtrack::aws {

double RandomJitter::unit() {
    std::lock_guard lock(m_mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(m_engine);
}

bool is_retryable(const Error& e) noexcept {
    switch (e.kind) {
        case ErrorKind::timeout:
        case ErrorKind::connection:
        case ErrorKind::throttled:
        case ErrorKind::server: return true;
        case ErrorKind::auth:
        case ErrorKind::client:
        case ErrorKind::parse:
        case ErrorKind::cancelled: return false;
    }
    return false;
}

std::chrono::milliseconds backoff_delay(int retry, double unit, const RetryOptions& options) noexcept {
    const int shift = std::clamp(retry - 1, 0, 30);
    const double cap = std::min(static_cast<double>(options.base_delay.count()) * static_cast<double>(1LL << shift),
                                static_cast<double>(options.max_backoff.count()));
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::clamp(unit, 0.0, 1.0) * cap));
}

std::optional<int> RetryQuota::acquire(const Error& e) {
    const int cost = e.kind == ErrorKind::timeout ? m_options.timeout_retry_cost : m_options.retry_cost;
    std::lock_guard lock(m_mutex);
    if (cost > m_available) return std::nullopt;
    m_available -= cost;
    return cost;
}

void RetryQuota::release(int cost) {
    std::lock_guard lock(m_mutex);
    m_available = std::min(m_available + cost, m_options.quota_capacity);
}

void RetryQuota::on_success_without_retry() {
    release(m_options.no_retry_increment);
}

int RetryQuota::available() const {
    std::lock_guard lock(m_mutex);
    return m_available;
}

ErrorKind classify(int http_status, std::string_view code) noexcept {
    // botocore standard.py throttling codes, plus SNS "Throttled" (HTTP 429), SQS
    // "RequestThrottled" and "OverLimit" (too many in-flight messages: back off).
    static constexpr std::array<std::string_view, 17> k_throttling = {"Throttling",
                                                                      "ThrottlingException",
                                                                      "ThrottledException",
                                                                      "RequestThrottledException",
                                                                      "TooManyRequestsException",
                                                                      "ProvisionedThroughputExceededException",
                                                                      "TransactionInProgressException",
                                                                      "RequestLimitExceeded",
                                                                      "BandwidthLimitExceeded",
                                                                      "LimitExceededException",
                                                                      "RequestThrottled",
                                                                      "SlowDown",
                                                                      "PriorRequestNotComplete",
                                                                      "EC2ThrottledException",
                                                                      "Throttled",
                                                                      "KMSThrottling",
                                                                      "OverLimit"};
    static constexpr std::array<std::string_view, 3> k_transient = {"RequestTimeout", "RequestTimeoutException",
                                                                    "InternalFailure"};
    static constexpr std::array<std::string_view, 16> k_auth = {"AccessDenied",
                                                                "AccessDeniedException",
                                                                "AuthorizationError",
                                                                "IncompleteSignature",
                                                                "InvalidClientTokenId",
                                                                "UnrecognizedClientException",
                                                                "SignatureDoesNotMatch",
                                                                "InvalidSignatureException",
                                                                "RequestExpired",
                                                                "ExpiredToken",
                                                                "ExpiredTokenException",
                                                                "MissingAuthenticationToken",
                                                                "MissingAuthenticationTokenException",
                                                                "InvalidAccessKeyId",
                                                                "InvalidSecurity",
                                                                "NotAuthorized"};
    auto in = [&](const auto& list) { return std::find(list.begin(), list.end(), code) != list.end(); };
    if (in(k_throttling) || http_status == 429) return ErrorKind::throttled;
    if (in(k_transient) || (http_status >= 500 && http_status <= 599)) return ErrorKind::server;
    if (in(k_auth) || http_status == 401 || http_status == 403) return ErrorKind::auth;
    return ErrorKind::client;
}

}  // namespace mailtrack::aws
