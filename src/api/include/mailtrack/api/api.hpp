#pragma once

// The REST API of `mailtrack serve` (/v1) and its operational endpoints (/healthz, /readyz,
// /metrics): each route a thin delegate from an http::Request to a store query or use case,
// answered with the views' JSON shapes (docs/VIEWS.md) and errors as
// {"error": {"code", "message", "request_id"}}.

#include <functional>
#include <string>

#include "mailtrack/http/server.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/util/metrics.hpp"

namespace mailtrack::api {

struct ApiContext {
    store::Store& store;  // called from several handler threads: a thread-safe store (SerializedStore)
    util::MetricsRegistry& metrics;
    const util::Clock& clock;
    // Readiness beyond the store answering (e.g. the worker running); empty: none.
    std::function<util::Result<void>()> ready;
};

class Api {
public:
    explicit Api(ApiContext context) : m_context(std::move(context)) {}

    // Routes one request. Never throws for bad input: 400/404/405 name what is wrong; a store
    // outage is 503 with Retry-After; other store failures are 500, their detail logged with
    // the request id.
    http::Response handle(const http::Request& request);

private:
    ApiContext m_context;
};

}  // namespace mailtrack::api
