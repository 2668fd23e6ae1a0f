#pragma once

#include <string>
#include <string_view>

#include "mailtrack/util/error.hpp"
#include "mailtrack/util/expected.hpp"

namespace mailtrack::aws {

// What kind of failure an AWS call ended in. The retry policy switches on this, never on text.
enum class ErrorKind {
    timeout,     // connect or read timeout: no (complete) response
    connection,  // could not connect, connection reset, TLS failure
    throttled,   // the service asked us to slow down (throttling codes, HTTP 429)
    auth,        // credentials missing/invalid/expired, signature rejected, access denied
    client,      // the request was invalid (4xx validation errors, not found, ...)
    server,      // 5xx or a transient service-side error code
    parse,       // the response (or a local credentials source) could not be understood
    cancelled,   // the caller cancelled the request while it was in progress (never retried)
};

std::string_view to_string(ErrorKind kind) noexcept;

struct Error {
    ErrorKind kind = ErrorKind::client;
    int http_status = 0;     // 0 when no HTTP response was received
    std::string code;        // AWS error code, e.g. "QueueDoesNotExist"; may be empty
    std::string message;     // human text; never contains secrets
    std::string request_id;  // x-amzn-RequestId or the XML RequestId; may be empty
    // True only when the transport knows no byte of the request left this host (name not
    // resolved, connection refused, connect timeout): the service cannot have acted on it.
    // False means "may have been sent", the safe default for anything not known.
    bool request_not_sent = false;

    // "throttled: HTTP 429 Throttled: Rate exceeded (request id ...)"
    std::string describe() const;
};

// True when the service may have acted on the request although no success came back: a
// timeout or a dropped connection after (part of) the request was sent, or a 5xx. Repeating a
// non-idempotent call (SendEmail) after such an error can do it twice.
bool outcome_unknown(const Error& e) noexcept;

template <typename T>
using Result = util::Expected<T, Error>;

inline util::Unexpected<Error> fail(ErrorKind kind, std::string message, int http_status = 0, std::string code = {},
                                    std::string request_id = {}) {
    return util::Unexpected<Error>(
        Error{kind, http_status, std::move(code), std::move(message), std::move(request_id)});
}

// For the app/cli edge, where errors become util::Error.
util::Error to_util_error(const Error& e);

}  // namespace mailtrack::aws
