// The REST API's routes as the handlers see them: http::Request in, http::Response out, over a
// real SQLite store filled by the event path and the sending path.
#include "mailtrack/api/api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
        ASSERT_TRUE(store->suppress(core::Suppression{
            "gone@example.com", core::SuppressionReason::manual, k_now, {}, "by hand", std::nullopt}));
    }

    http::Response call(std::string method, std::string target) {
        http::Request r;
        r.method = std::move(method);
        r.target = std::move(target);
        const auto q = r.target.find('?');
        r.path = r.target.substr(0, q);
        if (q != std::string::npos) r.query = r.target.substr(q + 1);
        r.request_id = "req-1";
        return api.handle(r);
    }
    json body(const http::Response& r) { return json::parse(r.body); }

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

}  // namespace
}  // namespace mailtrack::api
