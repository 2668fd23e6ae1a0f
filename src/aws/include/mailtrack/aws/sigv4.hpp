#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/aws/http.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::aws {

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;                   // empty for long-term keys
    std::optional<util::UnixMillis> expiration;  // none for long-term keys
    std::string source;                          // where they came from, for display ("environment", ...)
};

// A request as the signer sees it. `path` and `query` are exactly what goes on the wire
// (already percent-encoded by the caller; `query` without the '?').
struct SignableRequest {
    std::string method;
    std::string path;
    std::string query;
    std::vector<Header> headers;
    std::string_view body;
};

struct SigningScope {
    std::string region;
    std::string service;  // signing name: "sqs", "sns", "ses" (SES v2)
};

struct Signature {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;
    std::string authorization;  // the Authorization header value
};

// AWS Signature Version 4 over the request as given: every header except hop-by-hop ones and
// user-agent/expect/x-amzn-trace-id (as botocore) is signed, a Host header must be present, and
// `amz_date` ("YYYYMMDDTHHMMSSZ") must equal the request's X-Amz-Date. Paths are normalised
// and encoded the way every service except S3 expects. Pure function; thread-safe.
Signature compute_signature(const SignableRequest& request, const Credentials& credentials, const SigningScope& scope,
                            std::string_view amz_date);

// Sets X-Amz-Date (from `now`), X-Amz-Security-Token (when the credentials have one) and
// Authorization on the request, replacing earlier values.
void sign(SignableRequest& request, const Credentials& credentials, const SigningScope& scope, util::UnixMillis now);

// "YYYYMMDDTHHMMSSZ" for a Unix time in milliseconds.
std::string amz_date(util::UnixMillis now);

// RFC 3986 percent-encoding of everything but A-Za-z0-9-_.~ (and '/' when keep_slash).
std::string uri_encode(std::string_view text, bool keep_slash);
// Decodes %XX sequences; leaves malformed ones as they are and '+' as '+'.
std::string percent_decode(std::string_view text);

std::string sha256_hex(std::string_view data);

// Removes "." and ".." segments and empty segments (RFC 3986 5.2.4 plus AWS's '//' rule),
// keeping a trailing slash; "" becomes "/".
std::string normalize_path(std::string_view path);

}  // namespace mailtrack::aws
