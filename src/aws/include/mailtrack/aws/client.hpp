#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/aws/http.hpp"
#include "mailtrack/aws/retry.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::aws {

// What the three protocol clients share. Everything is borrowed and must outlive the clients;
// all of it is thread-safe, so one set can serve every client of a process.
struct ClientContext {
    HttpTransport& transport;
    CredentialsProvider& credentials;
    const util::Clock& clock;
    util::Sleeper& sleeper;
    Jitter& jitter;
    RetryQuota& quota;
    RetryOptions retry;
};

struct ServiceEndpoint {
    std::string url;  // "https://sqs.us-east-1.amazonaws.com" or "http://127.0.0.1:4566"
    std::string region;
    std::string signing_name;  // "sqs", "sns", "ses"
};

// Error code, message and request id as one protocol reports them in an error response.
struct ErrorDetails {
    std::string code;
    std::string message;
    std::string request_id;
};
using ErrorParser = ErrorDetails (*)(const HttpResponse&);

// Protocol error parsers (botocore parsers.py behaviour).
ErrorDetails parse_json_error(const HttpResponse& r);       // AWS JSON 1.0 (SQS): __type, x-amzn-query-error
ErrorDetails parse_rest_json_error(const HttpResponse& r);  // REST-JSON (SES v2): x-amzn-ErrorType, body code
ErrorDetails parse_query_error(const HttpResponse& r);      // Query/XML (SNS): ErrorResponse/Error/Code

struct Call {
    std::string method = "POST";
    std::string path = "/";  // percent-encoded
    std::string query;       // percent-encoded, without '?'
    std::vector<Header> headers;
    std::string body;
    std::chrono::milliseconds timeout{0};  // 0 = transport default (long polls need more)
    ErrorParser parse_error = parse_json_error;
    // False for calls that must not run twice (SendEmail, SendBulkEmail): after an error whose
    // outcome is unknown (aws::outcome_unknown: timeout, dropped connection, 5xx) they are not
    // retried; throttling and errors before the request was sent still are.
    bool idempotent = true;
    CancelFlag* cancel = nullptr;  // see HttpRequest::cancel; cancelled calls are not retried
};

// Signs and sends calls to one service endpoint with the standard retry policy: retries
// throttling, 5xx, timeouts and connection errors with full-jitter backoff up to
// retry.max_attempts, within the shared retry budget; never client/auth/parse errors, except
// one retry with fresh credentials after an expired-token error. Calls marked non-idempotent
// are not retried when the service may have acted on them (Call::idempotent). Returns 2xx responses; any
// other outcome is a typed Error. Thread-safe.
class AwsClient {
public:
    AwsClient(ClientContext context, ServiceEndpoint endpoint);

    Result<HttpResponse> send(const Call& call);
    const ServiceEndpoint& endpoint() const noexcept { return m_endpoint; }

private:
    ClientContext m_context;
    ServiceEndpoint m_endpoint;
    std::string m_authority;  // host[:port] of the endpoint
    std::string m_base;       // scheme://authority
};

}  // namespace mailtrack::aws
