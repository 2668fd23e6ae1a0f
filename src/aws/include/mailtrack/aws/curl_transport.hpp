#pragma once

#include <memory>

#include "mailtrack/aws/http.hpp"

namespace mailtrack::aws {

// HttpTransport over libcurl. Keeps a small pool of easy handles so connections are reused
// (keep-alive) across requests; each send() borrows one handle, so concurrent callers each
// get their own. TLS peers are verified. Proxies come from the environment the way curl reads
// them (https_proxy, http_proxy, no_proxy). Thread-safe.
class CurlTransport final : public HttpTransport {
public:
    explicit CurlTransport(TransportOptions options = {});
    ~CurlTransport() override;
    CurlTransport(const CurlTransport&) = delete;
    CurlTransport& operator=(const CurlTransport&) = delete;

    Result<HttpResponse> send(const HttpRequest& request) override;

private:
    struct Pool;
    TransportOptions m_options;
    std::unique_ptr<Pool> m_pool;
};

}  // namespace mailtrack::aws
