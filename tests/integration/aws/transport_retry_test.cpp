// Fault tests: the AWS client against a loopback HTTP server of the test's own.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "mailtrack/aws/client.hpp"
#include "mailtrack/aws/curl_transport.hpp"

#include "fakes.hpp"
#include "loopback_http_server.hpp"

namespace mailtrack::aws {
namespace {

using std::chrono::milliseconds;
using testing::LoopbackHttpServer;
using testing::TestRequest;
using testing::TestResponse;

TestResponse ok() {
    return {200, {{"Content-Type", "application/x-amz-json-1.0"}}, "{}"};
}
TestResponse sqs_error(int status, std::string type, std::string query_code = {}) {
    TestResponse r{status,
                   {{"x-amzn-RequestId", "req-" + std::to_string(status)}},
                   R"({"__type":"com.amazonaws.sqs#)" + type + R"(","message":"m"})"};
    if (!query_code.empty()) r.headers.emplace_back("x-amzn-query-error", query_code + ";Sender");
    return r;
}

struct Harness {
    explicit Harness(RetryOptions opts = {}, TransportOptions topts = {milliseconds(1000), milliseconds(2000), true})
        : transport(topts), quota(opts), retry(opts) {}
    util::ManualClock clock{1700000000000};
    CurlTransport transport;
    StaticCredentialsProvider creds{Credentials{"AKIDTEST", "secret", "", std::nullopt, "test"}};
    testing::RecordingSleeper sleeper;
    testing::FixedJitter jitter{0.5};
    RetryQuota quota;
    RetryOptions retry;

    AwsClient client(const std::string& url) {
        return AwsClient(ClientContext{transport, creds, clock, sleeper, jitter, quota, retry},
                         ServiceEndpoint{url, "us-east-1", "sqs"});
    }
};

Call call() {
    Call c;
    c.headers = {{"Content-Type", "application/x-amz-json-1.0"}, {"X-Amz-Target", "AmazonSQS.GetQueueUrl"}};
    c.body = R"({"QueueName":"q"})";
    return c;
}

TEST(Faults, ServerErrorsThenSuccessAreRetriedWithFullJitterBackoff) {
    std::atomic<int> n{0};
    LoopbackHttpServer server([&](const TestRequest&) {
        switch (++n) {
            case 1: return TestResponse{500, {}, "{}"};
            case 2: return TestResponse{503, {}, "{}"};
            default: return ok();
        }
    });
    Harness h;
    auto c = h.client(server.url());
    auto r = c.send(call());
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(server.requests().size(), 3u);
    EXPECT_EQ(h.sleeper.sleeps(), (std::vector<milliseconds>{milliseconds(500), milliseconds(1000)}));
    EXPECT_EQ(h.quota.available(), 500 - 5 - 5 + 5);  // two retries charged, last refunded on success
    // Every attempt is freshly signed and carries the request.
    for (const auto& req : server.requests()) {
        EXPECT_NE(req.header("Authorization").find("AWS4-HMAC-SHA256 Credential=AKIDTEST/20231114/us-east-1/sqs/"),
                  std::string::npos);
        EXPECT_EQ(req.body, R"({"QueueName":"q"})");
    }
}

TEST(Faults, ThrottlingIsRetriedUntilMaxAttemptsThenReportedTyped) {
    LoopbackHttpServer server([&](const TestRequest&) {
        return TestResponse{
            429,
            {{"x-amzn-RequestId", "rid-429"}},
            R"(<ErrorResponse><Error><Type>Sender</Type><Code>Throttled</Code>)"
            R"(<Message>Rate exceeded</Message></Error><RequestId>rid-xml</RequestId></ErrorResponse>)"};
    });
    RetryOptions o;
    o.max_attempts = 4;
    Harness h(o);
    auto c = h.client(server.url());
    Call k = call();
    k.parse_error = parse_query_error;
    auto r = c.send(k);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::throttled);
    EXPECT_EQ(r.error().http_status, 429);
    EXPECT_EQ(r.error().code, "Throttled");
    EXPECT_EQ(r.error().message, "Rate exceeded");
    EXPECT_EQ(r.error().request_id, "rid-xml");
    EXPECT_EQ(server.requests().size(), 4u);
    EXPECT_EQ(h.sleeper.sleeps(),
              (std::vector<milliseconds>{milliseconds(500), milliseconds(1000), milliseconds(2000)}));
}

TEST(Faults, ValidationErrorIsNotRetried) {
    LoopbackHttpServer server([&](const TestRequest&) {
        return sqs_error(400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue");
    });
    Harness h;
    auto c = h.client(server.url());
    auto r = c.send(call());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::client);
    EXPECT_EQ(r.error().code, "AWS.SimpleQueueService.NonExistentQueue");
    EXPECT_EQ(r.error().request_id, "req-400");
    EXPECT_EQ(server.requests().size(), 1u);
    EXPECT_TRUE(h.sleeper.sleeps().empty());
}

TEST(Faults, HungServerTimesOutAndTimeoutsAreRetried) {
    LoopbackHttpServer server([&](const TestRequest&) {
        TestResponse r = ok();
        r.delay = milliseconds(5000);
        return r;
    });
    RetryOptions o;
    o.max_attempts = 2;
    Harness h(o, {milliseconds(1000), milliseconds(200), true});
    auto c = h.client(server.url());
    const auto start = std::chrono::steady_clock::now();
    auto r = c.send(call());
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::timeout);
    EXPECT_EQ(server.requests().size(), 2u);
    EXPECT_LT(took, std::chrono::seconds(3));
    EXPECT_EQ(h.quota.available(), 490);  // a timeout retry costs 10
}

TEST(Faults, ACancelledRequestEndsAsSoonAsItsFlagIsSet) {
    // A long poll the server holds for 5 s, cancelled while it waits, three times.
    LoopbackHttpServer server([&](const TestRequest& req) {
        TestResponse r = ok();
        if (req.body.find("hold") != std::string::npos) r.delay = milliseconds(5000);
        return r;
    });
    Harness h({}, {milliseconds(1000), milliseconds(10'000), true});
    auto c = h.client(server.url());
    CancelFlag flag;
    auto fastest = std::chrono::nanoseconds::max();
    for (int i = 0; i < 3; ++i) {
        Call held = call();
        held.body = R"({"QueueName":"hold"})";
        held.cancel = &flag;
        std::atomic<std::int64_t> set_at{0};
        std::thread canceller([&] {
            std::this_thread::sleep_for(milliseconds(150));
            set_at = std::chrono::steady_clock::now().time_since_epoch().count();
            flag.set();
        });
        auto r = c.send(held);
        const auto ended = std::chrono::steady_clock::now().time_since_epoch().count();
        canceller.join();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::cancelled);
        fastest = std::min(fastest, std::chrono::nanoseconds(ended - set_at.load()));
        flag.clear();
    }
    // Woken at once. Without the wakeup libcurl's own timers end the wait in ~50 ms, and its
    // progress callback (the former way) within a second; the best of three allows for a
    // busy machine.
    EXPECT_LT(fastest, milliseconds(25));
    // Already set: nothing is waited for. Cleared: the same transport works again.
    flag.set();
    Call held = call();
    held.cancel = &flag;
    auto r = c.send(held);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::cancelled);
    flag.clear();
    auto again = c.send(held);
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(again->status, 200);
}

TEST(Faults, ConnectionRefusedIsAConnectionError) {
    int port = 0;
    {
        LoopbackHttpServer gone([](const TestRequest&) { return ok(); });
        port = gone.port();
    }
    RetryOptions o;
    o.max_attempts = 2;
    Harness h(o);
    auto c = h.client("http://127.0.0.1:" + std::to_string(port));
    auto r = c.send(call());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::connection);
    EXPECT_EQ(h.sleeper.sleeps().size(), 1u);
}

// SendEmail-like calls: a retry after the service may have acted could send an email twice.
TEST(Faults, NonIdempotentCallIsNotRetriedWhenTheOutcomeIsUnknown) {
    {
        LoopbackHttpServer hung([&](const TestRequest&) {
            TestResponse r = ok();
            r.delay = milliseconds(3000);
            return r;
        });
        Harness h({}, {milliseconds(1000), milliseconds(200), true});
        auto c = h.client(hung.url());
        Call once = call();
        once.idempotent = false;
        auto r = c.send(once);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::timeout);
        EXPECT_FALSE(r.error().request_not_sent);
        EXPECT_TRUE(outcome_unknown(r.error()));
        EXPECT_EQ(hung.requests().size(), 1u);
        EXPECT_TRUE(h.sleeper.sleeps().empty());
    }
    {
        LoopbackHttpServer failing([&](const TestRequest&) { return TestResponse{500, {}, "{}"}; });
        Harness h;
        auto c = h.client(failing.url());
        Call once = call();
        once.idempotent = false;
        auto r = c.send(once);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().kind, ErrorKind::server);
        EXPECT_EQ(failing.requests().size(), 1u);
    }
}

TEST(Faults, NonIdempotentCallIsRetriedWhenTheServiceSurelyDidNotAct) {
    std::atomic<int> n{0};
    LoopbackHttpServer server(
        [&](const TestRequest&) { return n++ == 0 ? sqs_error(400, "ThrottlingException") : ok(); });
    Harness h;
    auto c = h.client(server.url());
    Call once = call();
    once.idempotent = false;
    auto r = c.send(once);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(server.requests().size(), 2u);

    int port = 0;
    {
        LoopbackHttpServer gone([](const TestRequest&) { return ok(); });
        port = gone.port();
    }
    RetryOptions o;
    o.max_attempts = 2;
    Harness refused_h(o);
    auto refused = refused_h.client("http://127.0.0.1:" + std::to_string(port));
    auto e = refused.send(once);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().kind, ErrorKind::connection);
    EXPECT_TRUE(e.error().request_not_sent);  // refused: nothing left this host
    EXPECT_FALSE(outcome_unknown(e.error()));
    EXPECT_EQ(refused_h.sleeper.sleeps().size(), 1u);  // so it was retried
}

TEST(Faults, RetryBudgetStopsARetryStorm) {
    LoopbackHttpServer server([&](const TestRequest&) { return TestResponse{503, {}, "{}"}; });
    RetryOptions o;
    o.quota_capacity = 12;
    Harness h(o);
    auto c = h.client(server.url());
    auto first = c.send(call());  // 3 attempts, 2 retries charged (10 of 12)
    ASSERT_FALSE(first);
    EXPECT_EQ(server.requests().size(), 3u);
    auto second = c.send(call());  // budget exhausted: one attempt only
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().kind, ErrorKind::server);
    EXPECT_NE(second.error().message.find("retry budget exhausted"), std::string::npos);
    EXPECT_EQ(server.requests().size(), 4u);
}

TEST(Faults, ConnectionsAreReused) {
    LoopbackHttpServer server([&](const TestRequest&) { return ok(); });
    Harness h;
    auto c = h.client(server.url());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.send(call()));
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(server.requests().back().connection, 1);
}

class CountingProvider final : public CredentialsProvider {
public:
    Result<Credentials> credentials() override {
        return Credentials{"AKID" + std::to_string(m_generation), "s", "tok", std::nullopt, "test"};
    }
    void invalidate() override { ++m_generation; }
    int m_generation = 1;
};

TEST(Faults, ExpiredTokenRefreshesCredentialsAndRetriesOnce) {
    LoopbackHttpServer server([&](const TestRequest& req) {
        if (req.header("Authorization").find("Credential=AKID1/") != std::string::npos) {
            return sqs_error(403, "ExpiredToken");
        }
        return ok();
    });
    Harness h;
    CountingProvider creds;
    AwsClient c(ClientContext{h.transport, creds, h.clock, h.sleeper, h.jitter, h.quota, h.retry},
                ServiceEndpoint{server.url(), "us-east-1", "sqs"});
    ASSERT_TRUE(c.send(call()));
    EXPECT_EQ(creds.m_generation, 2);
    EXPECT_EQ(server.requests().size(), 2u);
    EXPECT_EQ(server.requests()[1].header("X-Amz-Security-Token"), "tok");
}

}  // namespace
}  // namespace mailtrack::aws
