// The Redis client, the shared GCRA limiter and RedisSharedStore against a real redis-server on
// loopback (tests/support/peers.py --redis exports MAILTRACK_TEST_REDIS_URL).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "mailtrack/adapters/redis_rate_limiter.hpp"
#include "mailtrack/adapters/redis_store.hpp"
#include "mailtrack/redis/client.hpp"
#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/store/sqlite_store.hpp"
#include "mailtrack/worker/metrics.hpp"

#include "event_factory.hpp"
#include "store_test_support.hpp"

namespace mailtrack {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

redis::Endpoint test_endpoint() {
    const char* url = std::getenv("MAILTRACK_TEST_REDIS_URL");
    if (url == nullptr) {
        ADD_FAILURE() << "MAILTRACK_TEST_REDIS_URL is not set: run under tests/support/peers.py --redis";
        return {};
    }
    auto e = redis::parse_url(url);
    EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
    return e ? *e : redis::Endpoint{};
}

redis::ClientOptions options(redis::Endpoint e = test_endpoint()) {
    redis::ClientOptions o;
    o.endpoint = std::move(e);
    o.reconnect_interval = 0ms;
    return o;
}

util::SystemClock g_clock;

// A port on which nothing listens (bound, then closed).
int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

class RedisPeer : public ::testing::Test {
protected:
    void SetUp() override {
        admin = std::make_unique<redis::Client>(options(), g_clock);
        auto r = admin->command({"FLUSHALL"});
        ASSERT_TRUE(r.has_value()) << r.error().describe();
    }
    std::unique_ptr<redis::Client> admin;
};

TEST_F(RedisPeer, CommandsPipelinesAndErrorReplies) {
    redis::Client c(options(), g_clock);
    auto set = c.command({"SET", "k", std::string("a\0b", 3)});
    ASSERT_TRUE(set.has_value()) << set.error().describe();
    EXPECT_EQ(set->type, redis::Reply::Type::status);
    auto replies = c.pipeline({{"GET", "k"}, {"INCR", "n"}, {"INCR", "n"}, {"GET", "missing"}, {"LPUSH", "k", "x"}});
    ASSERT_TRUE(replies.has_value()) << replies.error().describe();
    ASSERT_EQ(replies->size(), 5u);
    EXPECT_EQ((*replies)[0].text, std::string("a\0b", 3));
    EXPECT_EQ((*replies)[2].integer, 2);
    EXPECT_TRUE((*replies)[3].is_nil());
    EXPECT_TRUE((*replies)[4].is_error());
    EXPECT_EQ((*replies)[4].error_code(), "WRONGTYPE");
    EXPECT_TRUE(c.connected());  // an error reply is not a broken connection
}

TEST_F(RedisPeer, SelectsTheDatabaseOfTheUrl) {
    redis::Endpoint e = test_endpoint();
    e.database = 3;
    redis::Client db3(options(e), g_clock);
    ASSERT_TRUE(db3.command({"SET", "only-in-3", "1"}).has_value());
    auto in0 = admin->command({"EXISTS", "only-in-3"});
    ASSERT_TRUE(in0.has_value());
    EXPECT_EQ(in0->integer, 0);
    auto in3 = db3.command({"EXISTS", "only-in-3"});
    EXPECT_EQ(in3->integer, 1);
}

TEST_F(RedisPeer, AuthWithAclUserAndWithThePasswordOnly) {
    ASSERT_TRUE(admin->command({"ACL", "SETUSER", "mailtrack", "on", ">s3cret", "~*", "+@all"}).has_value());
    redis::Endpoint e = test_endpoint();
    e.user = "mailtrack";
    e.password = "s3cret";
    redis::Client user(options(e), g_clock);
    auto who = user.command({"ACL", "WHOAMI"});
    ASSERT_TRUE(who.has_value()) << who.error().describe();
    EXPECT_EQ(who->text, "mailtrack");

    e.password = "wrong";
    redis::Client wrong(options(e), g_clock);
    auto refused = wrong.command({"PING"});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().kind, util::ErrorKind::config);
    EXPECT_EQ(refused.error().message.find("wrong"), std::string::npos) << "the password must not be in errors";

    // requirepass: AUTH with the password alone (the default user). Restored at the end.
    ASSERT_TRUE(admin->command({"CONFIG", "SET", "requirepass", "topsecret"}).has_value());
    redis::Endpoint d = test_endpoint();
    redis::Client anonymous(options(d), g_clock);
    auto noauth = anonymous.command({"GET", "x"});
    ASSERT_TRUE(noauth.has_value());
    EXPECT_EQ(noauth->error_code(), "NOAUTH");
    d.password = "topsecret";
    redis::Client with_password(options(d), g_clock);
    auto ok = with_password.command({"CONFIG", "SET", "requirepass", ""});
    ASSERT_TRUE(ok.has_value()) << ok.error().describe();
    EXPECT_FALSE(ok->is_error()) << ok->text;
}

TEST_F(RedisPeer, ReconnectsAfterTheServerDropsTheConnection) {
    redis::Client c(options(), g_clock);
    auto id = c.command({"CLIENT", "ID"});
    ASSERT_TRUE(id.has_value());
    ASSERT_TRUE(admin->command({"CLIENT", "KILL", "ID", std::to_string(id->integer)}).has_value());
    auto after = c.command({"PING"});  // finds the connection dead (or already reconnects)
    if (!after) {
        EXPECT_EQ(after.error().kind, util::ErrorKind::storage_unavailable);
        after = c.command({"PING"});
    }
    ASSERT_TRUE(after.has_value()) << after.error().describe();
    EXPECT_EQ(after->text, "PONG");
}

TEST_F(RedisPeer, CommandTimeoutOnAServerThatNeverAnswers) {
    // A listening socket that never accepts: the TCP connect completes (backlog), nothing answers.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    redis::Endpoint e{"127.0.0.1", ntohs(a.sin_port), 0, "", ""};
    redis::ClientOptions o = options(e);
    o.command_timeout = 300ms;
    o.reconnect_interval = 10s;
    redis::Client c(o, g_clock);
    const auto t0 = Clock::now();
    auto r = c.command({"PING"});
    const auto took = Clock::now() - t0;
    ::close(fd);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, util::ErrorKind::storage_unavailable);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 3s);
    // Within the reconnect interval a call fails at once instead of waiting for another timeout.
    const auto t1 = Clock::now();
    EXPECT_FALSE(c.command({"PING"}).has_value());
    EXPECT_LT(Clock::now() - t1, 250ms);  // no second 300 ms wait
}

TEST_F(RedisPeer, ConnectionRefusedIsUnavailable) {
    redis::Client c(options(redis::Endpoint{"127.0.0.1", closed_port(), 0, "", ""}), g_clock);
    auto r = c.command({"PING"});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, util::ErrorKind::storage_unavailable);
}

adapters::RedisRateLimiter::Options rate(double per_second, int instances = 1) {
    adapters::RedisRateLimiter::Options o;
    o.rate_per_second = per_second;
    o.burst = 1;
    o.fallback_instances = instances;
    o.key = "test:rate";
    return o;
}

TEST_F(RedisPeer, GcraSpacesSendsOfSeveralLimitersSharingOneKey) {
    util::RealSleeper sleeper;
    adapters::RedisHealth health(g_clock, "test");
    adapters::RedisRateLimiter a(std::make_unique<redis::Client>(options(), g_clock), rate(20), g_clock, sleeper,
                                 health);
    adapters::RedisRateLimiter b(std::make_unique<redis::Client>(options(), g_clock), rate(20), g_clock, sleeper,
                                 health);
    const auto t0 = Clock::now();
    std::thread ta([&] {
        for (int i = 0; i < 15; ++i) a.acquire();
    });
    std::thread tb([&] {
        for (int i = 0; i < 15; ++i) b.acquire();
    });
    ta.join();
    tb.join();
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    // 30 sends at 20/s evenly spaced: the first goes at once, the other 29 each 50 ms later.
    EXPECT_GE(took, 29 * 0.05 * 0.95);
    EXPECT_LT(took, 4.0);
    EXPECT_EQ(a.shared_acquires() + b.shared_acquires(), 30);
    EXPECT_EQ(a.fallback_acquires() + b.fallback_acquires(), 0);
    EXPECT_EQ(health.failures(), 0);
}

TEST_F(RedisPeer, GcraScriptIsLoadedAgainAfterNoscript) {
    util::RealSleeper sleeper;
    adapters::RedisHealth health(g_clock, "test");
    adapters::RedisRateLimiter a(std::make_unique<redis::Client>(options(), g_clock), rate(1000), g_clock, sleeper,
                                 health);
    a.acquire();
    ASSERT_TRUE(admin->command({"SCRIPT", "FLUSH"}).has_value());  // as after a server restart
    a.acquire();
    a.acquire();
    EXPECT_EQ(a.shared_acquires(), 3);
    EXPECT_EQ(health.failures(), 0);
}

TEST_F(RedisPeer, GcraAllowsAConfiguredBurst) {
    util::RealSleeper sleeper;
    adapters::RedisHealth health(g_clock, "test");
    auto o = rate(2);
    o.burst = 5;
    adapters::RedisRateLimiter a(std::make_unique<redis::Client>(options(), g_clock), o, g_clock, sleeper, health);
    const auto t0 = Clock::now();
    for (int i = 0; i < 5; ++i) a.acquire();
    EXPECT_LT(Clock::now() - t0, 450ms);  // a burst of 5 at once
    a.acquire();                          // the 6th waits for the rate: 0.5 s after the first
    EXPECT_GE(Clock::now() - t0, 450ms);
}

TEST_F(RedisPeer, WithoutRedisTheLimiterFallsBackToItsShareOfTheRate) {
    util::RealSleeper sleeper;
    adapters::RedisHealth health(g_clock, "test");
    redis::ClientOptions o = options(redis::Endpoint{"127.0.0.1", closed_port(), 0, "", ""});
    o.reconnect_interval = 200ms;
    adapters::RedisRateLimiter a(std::make_unique<redis::Client>(o, g_clock), rate(30, 3), g_clock, sleeper, health);
    const auto t0 = Clock::now();
    for (int i = 0; i < 11; ++i) a.acquire();  // 10/s share: the first at once, then 10 x 100 ms
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_GE(took, 0.95);
    EXPECT_LT(took, 3.0);
    EXPECT_EQ(a.fallback_acquires(), 11);
    EXPECT_GE(health.failures(), 1);
    EXPECT_FALSE(health.healthy());
}

// ---- RedisSharedStore

constexpr const char* k_mid = "0100018a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000";

std::vector<core::SesEvent> events(core::EventType type, int variant) {
    testing::EventSpec spec;
    spec.type = type;
    spec.message_id = k_mid;
    spec.destination = {"a@example.com"};
    spec.affected = {"a@example.com"};
    spec.mail_timestamp = 1'700'000'000'000;
    spec.timestamp = spec.mail_timestamp + 1000 * variant;
    spec.variant = variant;
    return store::test::parse_all({testing::ses_json(spec)});
}

adapters::RedisSettings settings(redis::Endpoint e = test_endpoint()) {
    adapters::RedisSettings s;
    s.client = options(std::move(e));
    s.key_prefix = "t:";
    return s;
}

std::unique_ptr<adapters::RedisSharedStore> shared_store(util::MetricsRegistry* metrics = nullptr,
                                                         adapters::RedisSettings s = settings()) {
    auto client = std::make_unique<redis::Client>(s.client, g_clock);
    return std::make_unique<adapters::RedisSharedStore>(store::test::memory_store(), std::move(client), s, g_clock,
                                                        metrics);
}

TEST_F(RedisPeer, StatusLookupIsServedFromCacheAndAnEventInvalidatesIt) {
    util::MetricsRegistry metrics;
    auto s = shared_store(&metrics);
    ASSERT_TRUE(s->apply(events(core::EventType::send, 0)).has_value());
    auto first = s->message(k_mid, false);
    ASSERT_TRUE(first.has_value() && first->has_value());
    EXPECT_EQ(s->cache_misses(), 1);
    auto ttl = admin->command({"PTTL", std::string("t:msg:") + k_mid});
    ASSERT_TRUE(ttl.has_value());
    EXPECT_GT(ttl->integer, 0);
    auto second = s->message(k_mid, false);
    ASSERT_TRUE(second.has_value() && second->has_value());
    EXPECT_EQ(s->cache_hits(), 1);
    EXPECT_EQ((*second)->message, (*first)->message);
    EXPECT_EQ((*second)->recipients, (*first)->recipients);
    ASSERT_EQ((*second)->events.size(), 1u);
    EXPECT_EQ((*second)->events[0].id, (*first)->events[0].id);

    ASSERT_TRUE(s->apply(events(core::EventType::delivery, 1)).has_value());
    auto gone = admin->command({"EXISTS", std::string("t:msg:") + k_mid});
    EXPECT_EQ(gone->integer, 0) << "the committed batch deleted the cached view";
    EXPECT_EQ(metrics.snapshot().total(worker::metric::k_cache_invalidations), 2);
    auto third = s->message(k_mid, false);
    ASSERT_TRUE(third.has_value() && third->has_value());
    EXPECT_EQ((*third)->recipients.at(0).status.status, core::RecipientStatus::delivered);
    EXPECT_EQ(s->cache_misses(), 2);
}

TEST_F(RedisPeer, AStaleCacheEntryOfAnotherFormatIsAMiss) {
    auto s = shared_store();
    ASSERT_TRUE(s->apply(events(core::EventType::send, 0)).has_value());
    ASSERT_TRUE(admin->command({"SET", std::string("t:msg:") + k_mid, "{\"v\":0}"}).has_value());
    auto v = s->message(k_mid, false);
    ASSERT_TRUE(v.has_value() && v->has_value());
    EXPECT_EQ(s->cache_misses(), 1);
}

store::SendRecord draft(std::string send_id, std::string key) {
    store::SendRecord d;
    d.send_id = std::move(send_id);
    d.idempotency_key = std::move(key);
    d.created_at = 1'700'000'000'000;
    d.from = "from@example.com";
    d.subject = "hello";
    d.recipients = {{"a@example.com", store::RecipientRole::to, ""}};
    return d;
}

TEST_F(RedisPeer, IdempotencyKeysAreClaimedAcrossStores) {
    auto host_a = shared_store();
    auto host_b = shared_store();  // another database: only Redis is shared
    auto a = host_a->begin_send(draft("send-a", "order-42"));
    ASSERT_TRUE(a.has_value()) << a.error().describe();
    EXPECT_TRUE(a->created);
    auto b = host_b->begin_send(draft("send-b", "order-42"));
    ASSERT_TRUE(b.has_value()) << b.error().describe();
    EXPECT_FALSE(b->created);
    EXPECT_EQ(b->send.send_id, "send-a");
    EXPECT_EQ(b->send.status, store::SendStatus::queued);  // in flight on host A: refused as in doubt

    ASSERT_TRUE(host_a->send_accepted("send-a", "ses-message-1", 1'700'000'001'000).has_value());
    auto again = host_b->begin_send(draft("send-c", "order-42"));
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->send.status, store::SendStatus::sent);
    EXPECT_EQ(again->send.ses_message_id, "ses-message-1");

    // A failed send releases the claim: a retry elsewhere may send.
    ASSERT_TRUE(host_a->begin_send(draft("send-d", "order-43")).has_value());
    ASSERT_TRUE(host_a->send_failed("send-d", "MessageRejected", "no", 1'700'000'001'000).has_value());
    auto retry = host_b->begin_send(draft("send-e", "order-43"));
    ASSERT_TRUE(retry.has_value());
    EXPECT_TRUE(retry->created);
}

TEST_F(RedisPeer, WithRedisDownTheStoreWorksAlone) {
    util::MetricsRegistry metrics;
    auto s = shared_store(&metrics, settings(redis::Endpoint{"127.0.0.1", closed_port(), 0, "", ""}));
    ASSERT_TRUE(s->apply(events(core::EventType::send, 0)).has_value());
    auto v = s->message(k_mid, false);
    ASSERT_TRUE(v.has_value() && v->has_value());
    auto first = s->begin_send(draft("send-a", "order-1"));
    ASSERT_TRUE(first.has_value());
    EXPECT_TRUE(first->created);
    auto second = s->begin_send(draft("send-b", "order-1"));
    ASSERT_TRUE(second.has_value());
    EXPECT_FALSE(second->created);  // the store still holds the key
    EXPECT_EQ(second->send.send_id, "send-a");
    EXPECT_GE(metrics.snapshot().total(worker::metric::k_redis_errors), 3);
}

// ---- TLS (peers.py --redis also opens a TLS port, its certificate for IP 127.0.0.1)

std::string env_or_fail(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr) ADD_FAILURE() << name << " is not set: run under tests/support/peers.py --redis";
    return v == nullptr ? std::string() : std::string(v);
}

redis::ClientOptions tls_options(std::string ca_file) {
    auto e = redis::parse_url(env_or_fail("MAILTRACK_TEST_REDIS_TLS_URL"));
    EXPECT_TRUE(e.has_value());
    redis::ClientOptions o = options(e ? *e : redis::Endpoint{});
    o.tls_ca_file = std::move(ca_file);
    return o;
}

TEST_F(RedisPeer, TlsWithTheServersCa) {
    redis::ClientOptions o = tls_options(env_or_fail("MAILTRACK_TEST_REDIS_TLS_CA"));
    ASSERT_TRUE(o.endpoint.tls);
    redis::Client c(o, g_clock);
    std::string big(200'000, 'x');  // several TLS records each way
    auto replies = c.pipeline({{"SET", "over-tls", big}, {"GET", "over-tls"}, {"PING"}});
    ASSERT_TRUE(replies.has_value()) << replies.error().describe();
    EXPECT_EQ((*replies)[1].text, big);
    EXPECT_EQ((*replies)[2].text, "PONG");
    auto plain = admin->command({"STRLEN", "over-tls"});
    EXPECT_EQ(plain->integer, 200'000);
}

TEST_F(RedisPeer, TlsRefusesACertificateOfAnotherCa) {
    redis::Client c(tls_options(env_or_fail("MAILTRACK_TEST_REDIS_OTHER_CA")), g_clock);
    auto r = c.command({"PING"});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, util::ErrorKind::storage_unavailable);
    EXPECT_NE(r.error().message.find("certificate"), std::string::npos) << r.error().message;
}

TEST_F(RedisPeer, TlsRefusesACertificateForAnotherHost) {
    redis::ClientOptions o = tls_options(env_or_fail("MAILTRACK_TEST_REDIS_TLS_CA"));
    o.endpoint.host = "localhost";  // the certificate names IP 127.0.0.1 only
    redis::Client c(o, g_clock);
    auto r = c.command({"PING"});
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("certificate"), std::string::npos) << r.error().message;
}

TEST_F(RedisPeer, TlsWithAMissingCaFileIsAConfigError) {
    redis::Client c(tls_options("/nonexistent/ca.pem"), g_clock);
    auto r = c.command({"PING"});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, util::ErrorKind::config);
    EXPECT_NE(r.error().message.find("redis.tls_ca_file"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace mailtrack
