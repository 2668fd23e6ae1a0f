#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/aws/error.hpp"

namespace mailtrack::aws {

struct Header {
    std::string name;
    std::string value;
};

// Case-insensitive lookup; returns "" when absent (first match wins).
std::string_view find_header(const std::vector<Header>& headers, std::string_view name) noexcept;

// Cancels the requests that carry it. set() marks it and wakes the requests in progress at once:
// a transport registers a waker for as long as it waits on a request that carries the flag.
// Thread-safe.
class CancelFlag {
public:
    using Wake = void (*)(void* target) noexcept;

    bool is_set() const noexcept { return m_set.load(std::memory_order_acquire); }
    void set() noexcept;
    void clear() noexcept { m_set.store(false, std::memory_order_release); }

    // For transports: `wake(target)` is called by set() until forget(). A transport checks
    // is_set() after registering, so a set() just before is not missed.
    std::uint64_t on_set(Wake wake, void* target);
    void forget(std::uint64_t registration) noexcept;

private:
    struct Waker {
        std::uint64_t id;
        Wake wake;
        void* target;
    };
    std::atomic<bool> m_set{false};
    std::mutex m_mutex;
    std::uint64_t m_next_id = 1;
    std::vector<Waker> m_wakers;
};

struct HttpRequest {
    std::string method = "GET";
    std::string url;  // absolute: scheme://authority/path?query, already percent-encoded
    std::vector<Header> headers;
    std::string body;
    // Total time allowed for this request; 0 = the transport's default.
    std::chrono::milliseconds timeout{0};
    // When it is set while the request is in progress, the transport abandons the request at
    // once and returns ErrorKind::cancelled. Must outlive send().
    CancelFlag* cancel = nullptr;
};

struct HttpResponse {
    int status = 0;
    std::vector<Header> headers;
    std::string body;

    std::string_view header(std::string_view name) const noexcept { return find_header(headers, name); }
};

// Sends one HTTP request and returns whatever status came back. Errors are only transport
// failures (kind timeout or connection); HTTP error statuses are responses, not errors.
// Implementations must be safe to call from several threads at once.
class HttpTransport {
public:
    virtual ~HttpTransport() = default;
    virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

struct TransportOptions {
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds request_timeout{10000};
    bool verify_tls = true;
};

}  // namespace mailtrack::aws
