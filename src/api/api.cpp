#include "mailtrack/api/api.hpp"

#include <nlohmann/json.hpp>

#include <charconv>

#include "mailtrack/api/keys.hpp"
#include "mailtrack/api/query.hpp"
#include "mailtrack/core/address.hpp"
#include "mailtrack/util/log.hpp"
#include "mailtrack/util/time.hpp"
#include "mailtrack/views/api_key_view.hpp"
#include "mailtrack/views/message_view.hpp"
#include "mailtrack/views/recipient_view.hpp"
#include "mailtrack/views/send_view.hpp"
#include "mailtrack/views/stats_view.hpp"
#include "mailtrack/views/suppression_view.hpp"

namespace mailtrack::api {

using nlohmann::json;

namespace {

// A failed request, carried to the one place that turns it into a response.
struct Failure {
    int status;
    std::string code;
    std::string message;
};

Failure unauthorized(std::string message) {
    return {401, "unauthorized", std::move(message)};
}

template <typename T>
using Answer = util::Expected<T, Failure>;

Failure bad_request(std::string message) {
    return {400, "invalid_request", std::move(message)};
}
Failure not_found(std::string message) {
    return {404, "not_found", std::move(message)};
}

// 403 when the key's scope is below what the route needs.
Answer<void> require_scope(const store::ApiKeyRecord& key, store::ApiScope needed) {
    if (key.scope >= needed) return {};
    return util::Unexpected(Failure{403, "forbidden",
                                    "API key " + key.prefix + " has scope " + std::string(store::to_string(key.scope)) +
                                        "; this needs " + std::string(store::to_string(needed))});
}

// A store error as the client sees it: an outage is 503 (retry later); anything else is 500,
// with the detail kept for the log.
Failure store_failure(const util::Error& e) {
    if (e.kind == util::ErrorKind::storage_unavailable) {
        return {503, "unavailable", "the store is unavailable right now; retry later"};
    }
    return {500, "internal", "the store failed: " + e.describe()};
}

template <typename T>
Answer<T> from_store(util::Result<T> r) {
    if (!r) return util::Unexpected(store_failure(r.error()));
    return std::move(*r);
}

Answer<void> from_store(util::Result<void> r) {
    if (!r) return util::Unexpected(store_failure(r.error()));
    return {};
}

http::Response json_response(int status, const json& body, std::string route) {
    http::Response r;
    r.status = status;
    r.body = body.dump();
    r.route = std::move(route);
    return r;
}

// Splits "/v1/emails/abc" into {"v1", "emails", "abc"}; segments are percent-decoded.
Answer<std::vector<std::string>> segments_of(std::string_view path) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < path.size()) {
        if (path[at] == '/') {
            ++at;
            continue;
        }
        const auto end = std::min(path.find('/', at), path.size());
        auto decoded = percent_decode(path.substr(at, end - at));
        if (!decoded) return util::Unexpected(bad_request("path: " + decoded.error().message));
        out.push_back(std::move(*decoded));
        at = end;
    }
    return out;
}

Answer<bool> flag(const Query& q, std::string_view name) {
    const auto v = q.get(name);
    if (!v || *v == "false" || *v == "0") return false;
    if (*v == "true" || *v == "1" || v->empty()) return true;
    return util::Unexpected(bad_request(std::string(name) + "=" + *v + ": expected true or false"));
}

Answer<std::optional<util::UnixMillis>> time_param(const Query& q, std::string_view name, util::UnixMillis now) {
    const auto v = q.get(name);
    if (!v) return std::optional<util::UnixMillis>{};
    const auto t = util::parse_since(*v, now);
    if (!t) {
        return util::Unexpected(
            bad_request(std::string(name) + "=" + *v + ": expected an ISO 8601 time or a duration such as 24h or 7d"));
    }
    return std::optional<util::UnixMillis>(*t);
}

class Handlers {
public:
    explicit Handlers(ApiContext& c) : m_c(c) {}

    // GET /v1/emails/{id}: by send id (snd_...) or SES message id.
    Answer<json> email(const std::string& id, const Query& q) {
        MAILTRACK_TRY_ASSIGN(const bool raw, flag(q, "raw"));
        std::optional<store::SendRecord> send;
        std::string message_id = id;
        if (id.starts_with("snd_")) {
            MAILTRACK_TRY_ASSIGN(send, from_store(m_c.store.send(id)));
            if (!send) return util::Unexpected(not_found("no send with id " + id));
            message_id = send->ses_message_id;
        }
        std::optional<store::MessageView> view;
        if (!message_id.empty()) {
            MAILTRACK_TRY_ASSIGN(view, from_store(m_c.store.message(message_id, raw)));
        }
        if (!send && !view) return util::Unexpected(not_found("no email with id " + id));
        if (!send && view && !view->message.send_id.empty()) {
            MAILTRACK_TRY_ASSIGN(send, from_store(m_c.store.send(view->message.send_id)));
        }
        const std::vector<core::RecipientState> none;
        return json{{"send", send ? views::send(*send, view ? view->recipients : none) : json(nullptr)},
                    {"message", view ? views::message(*view, raw) : json(nullptr)}};
    }

    // GET /v1/recipients/{address}
    Answer<json> recipient(const std::string& raw_address, const Query& q) {
        const std::string address = core::normalize_address(raw_address);
        if (!core::is_plausible_address(address)) {
            return util::Unexpected(bad_request("not an email address: " + raw_address));
        }
        store::RecipientFilter f;
        f.address = address;
        MAILTRACK_TRY_ASSIGN(f.limit, limit(q, 100));
        MAILTRACK_TRY_ASSIGN(auto states, from_store(m_c.store.recipients(f)));
        MAILTRACK_TRY_ASSIGN(auto suppression, from_store(m_c.store.suppression(address)));
        MAILTRACK_TRY_ASSIGN(auto soft, from_store(m_c.store.soft_bounces(address)));
        json messages = json::array();
        for (const auto& s : states) messages.push_back(views::recipient(s));
        return json{{"address", address},
                    {"suppression", suppression ? views::suppression(*suppression) : json(nullptr)},
                    {"soft_bounces", soft},
                    {"messages", std::move(messages)}};
    }

    // GET /v1/suppressions
    Answer<json> suppressions() {
        MAILTRACK_TRY_ASSIGN(auto all, from_store(m_c.store.suppressions()));
        json items = json::array();
        for (const auto& s : all) items.push_back(views::suppression(s));
        return json{{"suppressions", std::move(items)}};
    }

    // GET /v1/suppressions/{address}
    Answer<json> suppression(const std::string& raw_address) {
        const std::string address = core::normalize_address(raw_address);
        MAILTRACK_TRY_ASSIGN(auto s, from_store(m_c.store.suppression(address)));
        if (!s) return util::Unexpected(not_found(address + " is not suppressed"));
        return views::suppression(*s);
    }

    // POST /v1/suppressions {"address", "detail"?}: a manual entry (admin).
    Answer<json> suppress(const std::string& body) {
        const json in = json::parse(body, nullptr, false);
        if (in.is_discarded() || !in.is_object()) {
            return util::Unexpected(bad_request("the body must be a JSON object: {\"address\": ..., \"detail\": ...}"));
        }
        if (!in.contains("address") || !in["address"].is_string()) {
            return util::Unexpected(bad_request("address: a string is required"));
        }
        if (in.contains("detail") && !in["detail"].is_string())
            return util::Unexpected(bad_request("detail: must be a string"));
        const std::string address = core::normalize_address(in["address"].get<std::string>());
        if (!core::is_plausible_address(address)) {
            return util::Unexpected(bad_request("address: not an email address: " + in["address"].get<std::string>()));
        }
        core::Suppression entry;
        entry.address = address;
        entry.reason = core::SuppressionReason::manual;
        entry.since = m_c.clock.now_millis();
        entry.detail = in.value("detail", std::string("added through the API"));
        MAILTRACK_TRY(from_store(m_c.store.suppress(entry)));
        MAILTRACK_TRY_ASSIGN(auto stored, from_store(m_c.store.suppression(address)));
        if (!stored) return util::Unexpected(Failure{500, "internal", "the suppression was not stored"});
        return views::suppression(*stored);
    }

    // DELETE /v1/suppressions/{address} (admin)
    Answer<json> unsuppress(const std::string& raw_address) {
        const std::string address = core::normalize_address(raw_address);
        MAILTRACK_TRY_ASSIGN(const bool removed, from_store(m_c.store.unsuppress(address)));
        if (!removed) return util::Unexpected(not_found(address + " is not suppressed"));
        return json{{"address", address}, {"removed", true}};
    }

    // GET /v1/apikeys (admin): every key without its hash.
    Answer<json> api_keys() {
        MAILTRACK_TRY_ASSIGN(auto keys, from_store(m_c.store.api_keys()));
        json items = json::array();
        for (const auto& k : keys) items.push_back(views::api_key(k));
        return json{{"api_keys", std::move(items)}};
    }

    // GET /v1/stats?since=
    Answer<json> stats(const Query& q) {
        MAILTRACK_TRY_ASSIGN(auto since, time_param(q, "since", m_c.clock.now_millis()));
        MAILTRACK_TRY_ASSIGN(auto counts, from_store(m_c.store.counts(since)));
        return views::stats(counts);
    }

    // The key of `Authorization: Bearer KEY`, when it allows `needed`: 401 without a key or with
    // one that is malformed, unknown or revoked (one message for all, so it tells an attacker
    // nothing), 403 when its scope is below `needed`.
    Answer<store::ApiKeyRecord> authorize(const http::Request& r, store::ApiScope needed) {
        const std::string_view header = r.header("authorization");
        constexpr std::string_view k_bearer = "Bearer ";
        if (header.empty()) return util::Unexpected(unauthorized("an API key is needed: Authorization: Bearer KEY"));
        if (!header.starts_with(k_bearer)) {
            return util::Unexpected(unauthorized("the Authorization header must be: Bearer KEY"));
        }
        MAILTRACK_TRY_ASSIGN(auto key, from_store(authenticate(m_c.store, header.substr(k_bearer.size()))));
        if (!key) return util::Unexpected(unauthorized("the API key is not valid (unknown, revoked or malformed)"));
        MAILTRACK_TRY(require_scope(*key, needed));
        return std::move(*key);
    }

    // GET /readyz: the store answers (and whatever else the context checks).
    Answer<json> ready() {
        MAILTRACK_TRY(from_store(m_c.store.info()));
        if (m_c.ready) {
            if (auto r = m_c.ready(); !r) return util::Unexpected(Failure{503, "not_ready", r.error().describe()});
        }
        return json{{"status", "ready"}};
    }

private:
    static Answer<std::size_t> limit(const Query& q, std::size_t fallback) {
        const auto v = q.get("limit");
        if (!v) return fallback;
        std::size_t n = 0;
        const auto* end = v->data() + v->size();
        const auto [ptr, ec] = std::from_chars(v->data(), end, n);
        if (ec != std::errc{} || ptr != end || n < 1 || n > 1000) {
            return util::Unexpected(bad_request("limit=" + *v + ": expected 1..1000"));
        }
        return n;
    }

    ApiContext& m_c;
};

}  // namespace

http::Response Api::handle(const http::Request& request) {
    std::string route = "unmatched";
    auto answer = [&]() -> Answer<json> {
        MAILTRACK_TRY_ASSIGN(const auto path, segments_of(request.path));
        auto parsed = Query::parse(request.query);
        if (!parsed) return util::Unexpected(bad_request("query: " + parsed.error().message));
        const Query& query = *parsed;
        Handlers h(m_context);
        const bool get = request.method == "GET" || request.method == "HEAD";
        auto only_get = [&]() -> Answer<json> {
            return util::Unexpected(Failure{405, "method_not_allowed", request.method + " is not allowed here"});
        };
        const std::size_t n = path.size();
        if (n == 1 && path[0] == "healthz") {
            route = "GET /healthz";
            if (!get) return only_get();
            return json{{"status", "ok"}};
        }
        if (n == 1 && path[0] == "readyz") {
            route = "GET /readyz";
            if (!get) return only_get();
            return h.ready();
        }
        if (n >= 2 && path[0] == "v1") {
            // Every /v1 route is authenticated; reads need the read scope (or more), changes to the
            // suppression list and key management the admin scope.
            MAILTRACK_TRY_ASSIGN(const store::ApiKeyRecord key, h.authorize(request, store::ApiScope::read));
            auto admin = [&] { return require_scope(key, store::ApiScope::admin); };
            if (n == 3 && path[1] == "emails") {
                route = "GET /v1/emails/{id}";
                if (!get) return only_get();
                return h.email(path[2], query);
            }
            if (n == 3 && path[1] == "recipients") {
                route = "GET /v1/recipients/{address}";
                if (!get) return only_get();
                return h.recipient(path[2], query);
            }
            if (n == 2 && path[1] == "suppressions") {
                if (request.method == "POST") {
                    route = "POST /v1/suppressions";
                    MAILTRACK_TRY(admin());
                    return h.suppress(request.body);
                }
                route = "GET /v1/suppressions";
                if (!get) return only_get();
                return h.suppressions();
            }
            if (n == 3 && path[1] == "suppressions") {
                if (request.method == "DELETE") {
                    route = "DELETE /v1/suppressions/{address}";
                    MAILTRACK_TRY(admin());
                    return h.unsuppress(path[2]);
                }
                route = "GET /v1/suppressions/{address}";
                if (!get) return only_get();
                return h.suppression(path[2]);
            }
            if (n == 2 && path[1] == "apikeys") {
                route = "GET /v1/apikeys";
                if (!get) return only_get();
                MAILTRACK_TRY(admin());
                return h.api_keys();
            }
            if (n == 2 && path[1] == "stats") {
                route = "GET /v1/stats";
                if (!get) return only_get();
                return h.stats(query);
            }
        }
        return util::Unexpected(not_found("no route for " + request.method + " " + request.path));
    }();
    if (route == "unmatched" && request.path == "/metrics") {
        http::Response r;
        r.route = "GET /metrics";
        if (request.method != "GET" && request.method != "HEAD") {
            r = http::error_response(405, "method_not_allowed", request.method + " is not allowed here",
                                     request.request_id);
            r.route = "GET /metrics";
            return r;
        }
        r.content_type = "text/plain; version=0.0.4";
        r.body = m_context.metrics.prometheus_text();
        return r;
    }
    if (answer) return json_response(200, *answer, route);
    const Failure& f = answer.error();
    if (f.status >= 500) {
        util::log::error("request failed",
                         {{"request_id", request.request_id}, {"route", route}, {"error", f.message}});
    }
    // 5xx details stay in the log; the client gets the request id to quote.
    http::Response r = http::error_response(
        f.status, f.code, f.status == 500 ? "the server failed to handle the request" : f.message, request.request_id);
    r.route = route;
    if (f.status == 503) r.headers.emplace_back("Retry-After", "5");
    if (f.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
}

}  // namespace mailtrack::api
