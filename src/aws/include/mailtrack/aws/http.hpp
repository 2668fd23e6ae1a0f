#pragma once

#include <atomic>
#include <chrono>
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

struct HttpRequest {
    std::string method = "GET";
    std::string url;  // absolute: scheme://authority/path?query, already percent-encoded
    std::vector<Header> headers;
    std::string body;
    // Total time allowed for this request; 0 = the transport's default.
    std::chrono::milliseconds timeout{0};
    // When set and it becomes true while the request is in progress, the transport abandons
    // it (within about a second) and returns ErrorKind::cancelled. Must outlive send().
    const std::atomic<bool>* cancel = nullptr;
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
