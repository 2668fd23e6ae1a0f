#include "mailtrack/aws/client.hpp"

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "mailtrack/util/log.hpp"

namespace mailtrack::aws {
namespace {

// "aws.protocol#Code:extra" -> "Code" (botocore: drop after ':', keep after the last '#').
std::string bare_code(std::string_view code) {
    code = code.substr(0, code.find(':'));
    const auto hash = code.rfind('#');
    if (hash != std::string_view::npos) code.remove_prefix(hash + 1);
    return std::string(code);
}

std::string json_string(const nlohmann::json& j, std::initializer_list<const char*> keys) {
    if (!j.is_object()) return {};
    for (const char* k : keys) {
        const auto it = j.find(k);
        if (it != j.end() && it->is_string()) return it->get<std::string>();
    }
    return {};
}

bool is_expired_token(std::string_view code) {
    return code == "ExpiredToken" || code == "ExpiredTokenException";
}

}  // namespace

ErrorDetails parse_json_error(const HttpResponse& r) {
    ErrorDetails d;
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    d.code = bare_code(json_string(j, {"__type", "code", "Code"}));
    d.message = json_string(j, {"message", "Message"});
    // awsQueryCompatible services (SQS) put the legacy query code here: "<code>;<Sender|Receiver>".
    const std::string_view query_error = r.header("x-amzn-query-error");
    const auto semi = query_error.find(';');
    if (semi != std::string_view::npos && semi > 0) d.code = std::string(query_error.substr(0, semi));
    d.request_id = std::string(r.header("x-amzn-RequestId"));
    return d;
}

ErrorDetails parse_rest_json_error(const HttpResponse& r) {
    ErrorDetails d;
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    d.code = bare_code(r.header("x-amzn-ErrorType"));
    if (d.code.empty()) d.code = bare_code(json_string(j, {"code", "Code", "__type"}));
    d.message = json_string(j, {"message", "Message"});
    d.request_id = std::string(r.header("x-amzn-RequestId"));
    return d;
}

ErrorDetails parse_query_error(const HttpResponse& r) {
    ErrorDetails d;
    pugi::xml_document doc;
    if (doc.load_buffer(r.body.data(), r.body.size())) {
        // <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>; some
        // emulators wrap it in <Response><Errors>.
        const auto err = doc.select_node("//Error");
        if (err) {
            d.code = err.node().child_value("Code");
            d.message = err.node().child_value("Message");
        }
        const auto rid = doc.select_node("//RequestId");
        if (rid) d.request_id = rid.node().child_value();
    }
    if (d.request_id.empty()) d.request_id = std::string(r.header("x-amzn-RequestId"));
    return d;
}

AwsClient::AwsClient(ClientContext context, ServiceEndpoint endpoint)
    : m_context(context), m_endpoint(std::move(endpoint)) {
    std::string_view url = m_endpoint.url;
    const auto scheme_end = url.find("://");
    const auto auth_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    const auto auth_end = url.find('/', auth_start);
    m_authority = std::string(url.substr(auth_start, auth_end - auth_start));
    m_base = std::string(url.substr(0, auth_end));
}

Result<HttpResponse> AwsClient::send(const Call& call) {
    const RetryOptions& opts = m_context.retry;
    int attempt = 1;
    int last_cost = 0;
    bool refreshed_credentials = false;
    while (true) {
        MAILTRACK_TRY_ASSIGN(auto creds, m_context.credentials.credentials());

        SignableRequest signable{call.method, call.path, call.query, call.headers, call.body};
        signable.headers.push_back({"Host", m_authority});
        sign(signable, creds, {m_endpoint.region, m_endpoint.signing_name}, m_context.clock.now_millis());

        HttpRequest request;
        request.method = call.method;
        request.url = m_base + call.path + (call.query.empty() ? "" : "?" + call.query);
        request.headers = std::move(signable.headers);
        request.headers.push_back({"User-Agent", "mailtrack/0.1"});
        request.body = call.body;
        request.timeout = call.timeout;
        request.cancel = call.cancel;

        auto response = m_context.transport.send(request);
        Error error;
        if (response) {
            if (response->status >= 200 && response->status < 300) {
                if (attempt == 1) {
                    m_context.quota.on_success_without_retry();
                } else {
                    m_context.quota.release(last_cost);
                }
                return response;
            }
            ErrorDetails d = call.parse_error(*response);
            error = Error{classify(response->status, d.code), response->status, std::move(d.code), std::move(d.message),
                          std::move(d.request_id)};
            if (error.message.empty() && error.code.empty()) {
                error.message = response->body.substr(0, 200);
            }
        } else {
            error = std::move(response).error();
        }

        if (error.kind == ErrorKind::auth && is_expired_token(error.code) && !refreshed_credentials) {
            refreshed_credentials = true;
            m_context.credentials.invalidate();
            continue;
        }
        if (!is_retryable(error) || attempt >= opts.max_attempts) return util::Unexpected(std::move(error));
        if (!call.idempotent && outcome_unknown(error)) {
            error.message += " (not retried: the service may have acted on it)";
            return util::Unexpected(std::move(error));
        }
        const auto cost = m_context.quota.acquire(error);
        if (!cost) {
            error.message += " (not retried: retry budget exhausted)";
            return util::Unexpected(std::move(error));
        }
        last_cost = *cost;
        const auto delay = backoff_delay(attempt, m_context.jitter.unit(), opts);
        util::log::debug("aws: retrying", {{"service", m_endpoint.signing_name},
                                           {"kind", to_string(error.kind)},
                                           {"code", error.code},
                                           {"attempt", attempt},
                                           {"delay_ms", static_cast<std::int64_t>(delay.count())}});
        m_context.sleeper.sleep_for(delay);
        ++attempt;
    }
}

}  // namespace mailtrack::aws
