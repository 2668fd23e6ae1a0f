// The REST API's routes as the handlers see them: http::Request in, http::Response out, over a
// real SQLite store filled by the event path and the sending path.
#include "mailtrack/api/api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mailtrack/api/keys.hpp"
#include "mailtrack/api/query.hpp"

#include "event_factory.hpp"
#include "store/store_test_support.hpp"

namespace mailtrack::api {
namespace {

using core::EventType;
using nlohmann::json;

constexpr util::UnixMillis k_now = 1'795'000'000'000;

std::string event(EventType type, const std::string& message_id, const std::string& send_id, util::UnixMillis at) {
    testing::EventSpec e;
    e.type = type;
    e.message_id = message_id;
    e.destination = {"a@example.com", "b@example.com"};
    e.affected = {"a@example.com"};
    e.mail_timestamp = at - 100;
    e.timestamp = at;
    e.send_id = send_id;
    return testing::ses_json(e);
}

// A store that fails every call with the error it is given.
class FailingStore final : public store::test::ForwardingStore {
public:
    FailingStore(store::Store& inner, util::ErrorKind kind) : ForwardingStore(inner), m_kind(kind) {}
    util::Result<store::StoreInfo> info() override { return util::fail(m_kind, "the disk is on fire (test)"); }
    util::Result<store::DeliveryCounts> counts(std::optional<util::UnixMillis>) override {
        return util::fail(m_kind, "the disk is on fire (test)");
    }

private:
    util::ErrorKind m_kind;
};

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        store::SendRecord d;
        d.send_id = "snd_0000000000001aaaaaaaaaaaaaaaa";
        d.created_at = k_now - 10'000;
        d.from = "sender@example.com";
        d.subject = "hello";
        d.recipients = {{"a@example.com", store::RecipientRole::to, {}},
                        {"b@example.com", store::RecipientRole::to, {}}};
        ASSERT_TRUE(store->begin_send(d));
        ASSERT_TRUE(store->send_accepted(d.send_id, "ses-1", k_now - 9'000));
        ASSERT_TRUE(store->apply(store::test::parse_all({event(EventType::send, "ses-1", d.send_id, k_now - 8'000),
                                                         event(EventType::bounce, "ses-1", d.send_id, k_now - 7'000),
                                                         event(EventType::delivery, "ses-2", "", k_now - 6'000)})));
        for (auto [scope, key] :
             {std::pair{store::ApiScope::read, &read_key}, std::pair{store::ApiScope::admin, &admin_key},
              std::pair{store::ApiScope::send, &revoked_key}}) {
            auto issued = issue_api_key("test", scope, k_now);
            ASSERT_TRUE(issued);
            ASSERT_TRUE(store->create_api_key(issued->record));
            *key = issued->key;
        }
        ASSERT_TRUE(store->revoke_api_key(*api_key_prefix(revoked_key), k_now));
        ASSERT_TRUE(store->suppress(core::Suppression{
            "gone@example.com", core::SuppressionReason::manual, k_now, {}, "by hand", std::nullopt}));
    }

    http::Response call(std::string method, std::string target, std::string body = {}) {
        return call_as(read_key, std::move(method), std::move(target), std::move(body));
    }
    http::Response call_as(const std::string& key, std::string method, std::string target, std::string body = {}) {
        http::Request r;
        if (!key.empty()) r.headers.emplace_back("authorization", "Bearer " + key);
        r.body = std::move(body);
        r.method = std::move(method);
        r.target = std::move(target);
        const auto q = r.target.find('?');
        r.path = r.target.substr(0, q);
        if (q != std::string::npos) r.query = r.target.substr(q + 1);
        r.request_id = "req-1";
        return api.handle(r);
    }
    json body(const http::Response& r) { return json::parse(r.body); }

    std::string read_key, admin_key, revoked_key;
    std::unique_ptr<store::SqliteStore> store = store::test::memory_store();
    util::MetricsRegistry metrics;
    util::ManualClock clock{k_now};
    Api api{{*store, metrics, clock, {}}};
};

TEST_F(ApiTest, AnEmailBySesMessageIdOrSendIdHasTheSendAndTheMessageView) {
    for (const std::string id : {"ses-1", "snd_0000000000001aaaaaaaaaaaaaaaa"}) {
        const auto r = call("GET", "/v1/emails/" + id);
        ASSERT_EQ(r.status, 200) << id << ": " << r.body;
        EXPECT_EQ(r.route, "GET /v1/emails/{id}");
        const json b = body(r);
        EXPECT_EQ(b["send"]["send_id"], "snd_0000000000001aaaaaaaaaaaaaaaa") << id;
        EXPECT_EQ(b["message"]["message_id"], "ses-1");
        EXPECT_EQ(b["message"]["status"], "bounced");
        EXPECT_EQ(b["message"]["events"].size(), 2u);
        EXPECT_FALSE(b["message"]["events"][0].contains("raw"));
    }
    const json raw = body(call("GET", "/v1/emails/ses-1?raw=true"));
    EXPECT_TRUE(raw["message"]["events"][0].contains("raw")) << raw.dump();
    const json alone = body(call("GET", "/v1/emails/ses-2"));
    EXPECT_TRUE(alone["send"].is_null());
    EXPECT_EQ(alone["message"]["status"], "delivered");
}

TEST_F(ApiTest, ARecipientHasItsMessagesSuppressionAndSoftBounces) {
    const auto r = call("GET", "/v1/recipients/a%40Example.COM");
    ASSERT_EQ(r.status, 200) << r.body;
    const json b = body(r);
    EXPECT_EQ(b["address"], "a@example.com");
    EXPECT_EQ(b["messages"].size(), 2u);
    EXPECT_EQ(b["soft_bounces"], 0);
    EXPECT_FALSE(b["suppression"].is_null());  // the permanent bounce suppressed it
    EXPECT_EQ(b["suppression"]["reason"], "bounce");
}

TEST_F(ApiTest, SuppressionsAndStats) {
    const json list = body(call("GET", "/v1/suppressions"));
    ASSERT_EQ(list["suppressions"].size(), 2u) << list.dump();
    EXPECT_EQ(body(call("GET", "/v1/suppressions/gone%40example.com"))["reason"], "manual");
    EXPECT_EQ(call("GET", "/v1/suppressions/b%40example.com").status, 404);
    const json stats = body(call("GET", "/v1/stats"));
    EXPECT_EQ(stats["messages"], 2);
    EXPECT_EQ(stats["bounced"], 1);
    EXPECT_EQ(stats["bounce_verdict"], "AT RISK");
    EXPECT_EQ(body(call("GET", "/v1/stats?since=1h"))["messages"], 2);
    EXPECT_EQ(body(call("GET", "/v1/stats?since=2030-01-01T00:00:00Z"))["messages"], 0);
}

TEST_F(ApiTest, BadInputIsA4xxThatNamesWhatIsWrong) {
    struct Case {
        std::string method, target;
        int status;
        std::string code, says;
    };
    const Case cases[] = {
        {"GET", "/v1/emails/nope", 404, "not_found", "no email with id nope"},
        {"GET", "/v1/emails/snd_missing", 404, "not_found", "no send with id snd_missing"},
        {"GET", "/v1/emails/ses-1?raw=maybe", 400, "invalid_request", "raw=maybe: expected true or false"},
        {"GET", "/v1/recipients/not-an-address", 400, "invalid_request", "not an email address: not-an-address"},
        {"GET", "/v1/recipients/a%40example.com?limit=0", 400, "invalid_request", "limit=0: expected 1..1000"},
        {"GET", "/v1/recipients/a%4", 400, "invalid_request", "malformed percent-encoding"},
        {"GET", "/v1/stats?since=yesterday", 400, "invalid_request", "since=yesterday: expected an ISO 8601 time"},
        {"GET", "/v1/stats?since=%zz", 400, "invalid_request", "query: malformed percent-encoding"},
        {"DELETE", "/v1/stats", 405, "method_not_allowed", "DELETE is not allowed here"},
        {"POST", "/metrics", 405, "method_not_allowed", "POST is not allowed here"},
        {"GET", "/v2/emails", 404, "not_found", "no route for GET /v2/emails"},
    };
    for (const auto& c : cases) {
        const auto r = call(c.method, c.target);
        EXPECT_EQ(r.status, c.status) << c.target;
        const json e = body(r)["error"];
        EXPECT_EQ(e["code"], c.code) << c.target;
        EXPECT_NE(e["message"].get<std::string>().find(c.says), std::string::npos) << c.target << ": " << e.dump();
        EXPECT_EQ(e["request_id"], "req-1");
    }
}

TEST_F(ApiTest, HealthReadinessAndMetrics) {
    EXPECT_EQ(body(call("GET", "/healthz"))["status"], "ok");
    EXPECT_EQ(body(call("GET", "/readyz"))["status"], "ready");
    metrics.counter("mailtrack_test_total").add(3);
    const auto m = call("GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.content_type, "text/plain; version=0.0.4");
    EXPECT_NE(m.body.find("mailtrack_test_total 3"), std::string::npos);

    Api not_ready({*store, metrics, clock, [] { return util::fail(util::ErrorKind::internal, "worker not running"); }});
    http::Request r;
    r.method = "GET";
    r.path = "/readyz";
    const auto nr = not_ready.handle(r);
    EXPECT_EQ(nr.status, 503);
    EXPECT_NE(nr.body.find("worker not running"), std::string::npos);
}

TEST_F(ApiTest, AStoreOutageIs503WithRetryAfterAndOtherFailuresA500WithoutTheirDetail) {
    FailingStore down(*store, util::ErrorKind::storage_unavailable);
    Api on_down({down, metrics, clock, {}});
    http::Request r;
    r.method = "GET";
    r.path = "/v1/stats";
    r.request_id = "req-2";
    r.headers.emplace_back("authorization", "Bearer " + read_key);
    const auto a = on_down.handle(r);
    EXPECT_EQ(a.status, 503);
    ASSERT_EQ(a.headers.size(), 1u);
    EXPECT_EQ(a.headers[0].first, "Retry-After");
    r.path = "/readyz";
    EXPECT_EQ(on_down.handle(r).status, 503);

    FailingStore broken(*store, util::ErrorKind::storage);
    Api on_broken({broken, metrics, clock, {}});
    r.path = "/v1/stats";
    const auto b = on_broken.handle(r);
    EXPECT_EQ(b.status, 500);
    EXPECT_EQ(b.body.find("on fire"), std::string::npos) << b.body;  // the detail is logged, not answered
    EXPECT_NE(b.body.find("req-2"), std::string::npos);
}

TEST(Query, DecodesAndRefusesMalformedEncoding) {
    auto q = Query::parse("a=1&b=x%40y+z&a=2&flag&=v");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->get("a"), "1");
    EXPECT_EQ(q->get("b"), "x@y z");
    EXPECT_EQ(q->get("flag"), "");
    EXPECT_FALSE(q->get("c").has_value());
    EXPECT_FALSE(Query::parse("a=%4"));
    EXPECT_FALSE(Query::parse("a=%00"));
    EXPECT_EQ(*percent_decode("a+b%2Fc"), "a+b/c");
}

TEST_F(ApiTest, EveryV1RouteNeedsAValidKeyAndChangesNeedTheAdminScope) {
    for (const std::string target : {"/v1/stats", "/v1/emails/ses-1", "/v1/suppressions", "/v1/apikeys"}) {
        const auto none = call_as("", "GET", target);
        EXPECT_EQ(none.status, 401) << target;
        EXPECT_EQ(body(none)["error"]["code"], "unauthorized");
        ASSERT_EQ(none.headers.size(), 1u);
        EXPECT_EQ(none.headers[0], (std::pair<std::string, std::string>{"WWW-Authenticate", "Bearer"}));
        for (const std::string& bad : std::vector<std::string>{revoked_key, read_key + "0",
                                                               std::string("mtk_nothexnothex_") + std::string(40, 'a'),
                                                               read_key.substr(0, 17) + std::string(40, 'f')}) {
            const auto r = call_as(bad, "GET", target);
            EXPECT_EQ(r.status, 401) << target << " " << bad;
            EXPECT_NE(body(r)["error"]["message"].get<std::string>().find("not valid"), std::string::npos);
        }
    }
    http::Request basic;
    basic.method = "GET";
    basic.path = "/v1/stats";
    basic.headers.emplace_back("authorization", "Basic dXNlcjpwYXNz");
    EXPECT_EQ(api.handle(basic).status, 401);
    EXPECT_EQ(call_as("", "GET", "/healthz").status, 200);  // the operational endpoints are open
    EXPECT_EQ(call_as("", "GET", "/metrics").status, 200);

    // A read key reads; suppression changes and key listing are admin's.
    const auto forbidden = call("POST", "/v1/suppressions", R"({"address":"x@example.com"})");
    EXPECT_EQ(forbidden.status, 403);
    EXPECT_NE(body(forbidden)["error"]["message"].get<std::string>().find("has scope read; this needs admin"),
              std::string::npos);
    EXPECT_EQ(call("DELETE", "/v1/suppressions/gone%40example.com").status, 403);
    EXPECT_EQ(call("GET", "/v1/apikeys").status, 403);

    const auto added =
        call_as(admin_key, "POST", "/v1/suppressions", R"({"address":"X@Example.com","detail":"asked"})");
    ASSERT_EQ(added.status, 200) << added.body;
    EXPECT_EQ(body(added)["address"], "X@example.com");
    EXPECT_EQ(body(added)["reason"], "manual");
    EXPECT_TRUE(*store->suppression("X@example.com"));
    EXPECT_EQ(call_as(admin_key, "POST", "/v1/suppressions", "not json").status, 400);
    EXPECT_EQ(call_as(admin_key, "POST", "/v1/suppressions", R"({"address":"nope"})").status, 400);
    EXPECT_EQ(call_as(admin_key, "DELETE", "/v1/suppressions/X%40example.com").status, 200);
    EXPECT_FALSE(*store->suppression("X@example.com"));
    EXPECT_EQ(call_as(admin_key, "DELETE", "/v1/suppressions/X%40example.com").status, 404);

    const json keys = body(call_as(admin_key, "GET", "/v1/apikeys"));
    ASSERT_EQ(keys["api_keys"].size(), 3u);
    EXPECT_FALSE(keys.dump().find("\"hash\"") != std::string::npos);  // hashes never leave the store
    int revoked = 0;
    for (const auto& k : keys["api_keys"]) {
        const bool is_revoked = k["prefix"] == *api_key_prefix(revoked_key);
        EXPECT_EQ(k["revoked_at"].is_null(), !is_revoked) << k.dump();
        revoked += is_revoked ? 1 : 0;
    }
    EXPECT_EQ(revoked, 1);
}

TEST(ApiKeys, IssuedKeysAreWellFormedUniqueAndStoredOnlyAsTheirHash) {
    auto a = issue_api_key("ci", store::ApiScope::send, k_now);
    auto b = issue_api_key("ci", store::ApiScope::send, k_now);
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->key, b->key);
    EXPECT_EQ(a->key.size(), 4u + 12 + 1 + 40);
    EXPECT_EQ(api_key_prefix(a->key), a->record.prefix);
    EXPECT_EQ(a->record.hash, hash_api_key(a->key));
    EXPECT_EQ(a->record.hash.size(), 64u);
    EXPECT_EQ(a->record.hash.find(a->key.substr(17)), std::string::npos);
    EXPECT_EQ(hash_api_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
    EXPECT_FALSE(issue_api_key("", store::ApiScope::read, k_now));
    EXPECT_FALSE(api_key_prefix("mtk_ABCDEF123456_" + std::string(40, 'a')));  // upper case is not ours
}

}  // namespace
}  // namespace mailtrack::api
