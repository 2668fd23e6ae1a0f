// Redis pieces that need no server: URL parsing and the cache format of a MessageView.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "mailtrack/adapters/redis_store.hpp"
#include "mailtrack/app/redis_settings.hpp"
#include "mailtrack/redis/client.hpp"
#include "mailtrack/store_sql/columns.hpp"
#include "mailtrack/worker/metrics.hpp"

namespace mailtrack {
namespace {

TEST(RedisUrl, ParsesHostPortDatabaseAndUser) {
    auto e = redis::parse_url("redis://mailtrack@cache.internal:6380/2");
    ASSERT_TRUE(e.has_value()) << e.error().describe();
    EXPECT_EQ(e->host, "cache.internal");
    EXPECT_EQ(e->port, 6380);
    EXPECT_EQ(e->database, 2);
    EXPECT_EQ(e->user, "mailtrack");
    EXPECT_TRUE(e->password.empty());
    auto d = redis::parse_url("redis://127.0.0.1");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->port, 6379);
    EXPECT_EQ(d->database, 0);
    auto v6 = redis::parse_url("redis://[::1]:7000/0");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 7000);
}

TEST(RedisUrl, RedissMeansTls) {
    auto e = redis::parse_url("rediss://master.example.cache.amazonaws.com:6379/0");
    ASSERT_TRUE(e.has_value()) << e.error().describe();
    EXPECT_TRUE(e->tls);
    EXPECT_EQ(e->host, "master.example.cache.amazonaws.com");
    EXPECT_FALSE(redis::parse_url("redis://h")->tls);
}

TEST(RedisUrl, RefusesMalformedUrlsNamingTheProblem) {
    const std::pair<const char*, const char*> cases[] = {
        {"http://x", "must start with redis:// or rediss://"},
        {"redis://", "no host"},
        {"redis://h:0", "port"},
        {"redis://h:99999", "port"},
        {"redis://h:abc", "port"},
        {"redis://h/x", "database number"},
        {"redis://h/-1", "database number"},
        {"redis://user:pw@h", "password in the URL"},
    };
    for (const auto& [url, why] : cases) {
        auto e = redis::parse_url(url);
        ASSERT_FALSE(e.has_value()) << url;
        EXPECT_EQ(e.error().kind, util::ErrorKind::config) << url;
        EXPECT_NE(e.error().message.find(why), std::string::npos) << url << ": " << e.error().message;
        EXPECT_EQ(e.error().message.find("pw"), std::string::npos) << "a password must never be echoed";
    }
}

TEST(MessageViewCache, RoundTripsEveryField) {
    store::MessageView v;
    v.message.message_id = "m-1";
    v.message.status = {core::RecipientStatus::bounced, 1700, core::EventId{{1, 2, 3}}};
    v.message.mail_timestamp = 1600;
    v.message.source = "s@example.com";
    v.message.subject = "Héllo \"quoted\"";
    v.message.sending_account_id = "123";
    v.message.source_arn = "arn";
    v.message.configuration_set = "cs";
    v.message.send_id = "send-1";
    v.message.recipient_count = 2;
    v.message.engagement = {3, 10, 20, 1, 11, std::nullopt, 1, 30};
    v.message.event_count = 5;
    v.message.unknown_events = 1;
    v.message.first_event_at = 1600;
    core::RecipientState r;
    r.message_id = "m-1";
    r.address = "a@example.com";
    r.status = {core::RecipientStatus::delivered, 1650, core::EventId{{0xff, 0xee}}};
    r.delivery = core::DeliveryFact{1650, core::EventId{{9}}, "250 ok", "mta", 42};
    r.bounce = core::BounceFact{1660, core::EventId{{8}}, "Transient", "General", "failed", "4.0.0", "diag"};
    r.complaint = core::ComplaintFact{1670, core::EventId{{7}}, "abuse", "", "ua"};
    r.delay = core::DelayFact{1680, core::EventId{{6}}, "MailboxFull", "4.2.2", "full", 1690};
    r.failure = core::FailureFact{1685, core::EventId{{5}}, "Bad content", "tpl"};
    r.soft_bounces = 1;
    r.event_count = 4;
    r.last_event_at = 1690;
    v.recipients = {r, core::RecipientState{}};
    store::EventRecord e;
    e.id = core::EventId{{4, 4}};
    e.type = core::EventType::bounce;
    e.type_name = "Bounce";
    e.message_id = "m-1";
    e.occurred_at = 1660;
    v.events = {e};

    auto back = adapters::decode_message_view(adapters::encode_message_view(v));
    ASSERT_TRUE(back.has_value()) << back.error().describe();
    EXPECT_EQ(back->message, v.message);
    EXPECT_EQ(back->recipients, v.recipients);
    ASSERT_EQ(back->events.size(), 1u);
    EXPECT_EQ(back->events[0].id, e.id);
    EXPECT_EQ(back->events[0].type, e.type);
    EXPECT_EQ(back->events[0].type_name, e.type_name);
    EXPECT_EQ(back->events[0].occurred_at, e.occurred_at);
}

TEST(MessageViewCache, RejectsWhatItDidNotWrite) {
    store::MessageView v;
    v.message.message_id = "m-1";
    const std::string good = adapters::encode_message_view(v);
    ASSERT_TRUE(adapters::decode_message_view(good).has_value());
    // The same entry written under another schema version, or with a row one value short.
    std::string other_schema = good;
    const std::string schema_field = "\"schema\":" + std::to_string(store::sql::k_schema_version);
    ASSERT_NE(other_schema.find(schema_field), std::string::npos) << good;
    other_schema.replace(other_schema.find(schema_field), schema_field.size(), "\"schema\":1");
    auto stale = nlohmann::json::parse(good);
    stale["m"].erase(stale["m"].size() - 1);
    const std::string short_row = stale.dump();
    for (const std::string& bad :
         {std::string(""), std::string("not json"), std::string("{}"), std::string("{\"v\":2}"),
          std::string("{\"v\":1,\"m\":{}}"), std::string("{\"v\":1}"), other_schema, short_row}) {
        auto r = adapters::decode_message_view(bad);
        EXPECT_FALSE(r.has_value()) << bad;
        if (!r) {
            EXPECT_EQ(r.error().kind, util::ErrorKind::invalid_input);
        }
    }
}

config::Config load(std::vector<std::string> overrides) {
    auto c = config::Config::load(std::nullopt, {}, overrides);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
    return std::move(*c);
}

TEST(RedisSettings, NoUrlMeansNoRedis) {
    auto s = app::redis_settings(load({}), {});
    ASSERT_TRUE(s.has_value());
    EXPECT_FALSE(s->has_value());
}

TEST(RedisSettings, ReadsEverySetting) {
    auto s = app::redis_settings(
        load({"redis.url=rediss://cache:6380/1", "redis.connect_timeout_ms=150", "redis.command_timeout_ms=250",
              "redis.reconnect_interval_ms=700", "redis.key_prefix=mt:", "redis.fallback_instances=4",
              "redis.send_burst=2", "redis.cache_ttl_s=60", "redis.idempotency_ttl_s=3600",
              "redis.tls_ca_file=/etc/ca.pem"}),
        {});
    ASSERT_TRUE(s.has_value()) << s.error().describe();
    ASSERT_TRUE(s->has_value());
    const app::RedisSettings& r = **s;
    EXPECT_TRUE(r.client.endpoint.tls);
    EXPECT_EQ(r.client.endpoint.port, 6380);
    EXPECT_EQ(r.client.endpoint.database, 1);
    EXPECT_EQ(r.client.connect_timeout, std::chrono::milliseconds(150));
    EXPECT_EQ(r.client.command_timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(r.client.reconnect_interval, std::chrono::milliseconds(700));
    EXPECT_EQ(r.client.tls_ca_file, "/etc/ca.pem");
    EXPECT_EQ(r.key_prefix, "mt:");
    EXPECT_EQ(r.fallback_instances, 4);
    EXPECT_EQ(r.send_burst, 2);
    EXPECT_EQ(r.cache_ttl, std::chrono::seconds(60));
    EXPECT_EQ(r.idempotency_ttl, std::chrono::hours(1));
}

TEST(RedisSettings, PasswordFromTheEnvironmentWinsOverTheFile) {
    const auto file = std::filesystem::temp_directory_path() / ("mailtrack-redis-pw-" + std::to_string(::getpid()));
    std::ofstream(file) << "from-file\n";
    auto c = load({"redis.url=redis://mailtrack@h/0", "redis.password_file=" + file.string()});
    auto from_file = app::redis_settings(c, {});
    ASSERT_TRUE(from_file.has_value()) << from_file.error().describe();
    EXPECT_EQ((*from_file)->client.endpoint.password, "from-file");  // the newline dropped
    EXPECT_EQ((*from_file)->client.endpoint.user, "mailtrack");
    auto from_env = app::redis_settings(c, {{"MAILTRACK_REDIS_PASSWORD", "from-env"}});
    ASSERT_TRUE(from_env.has_value());
    EXPECT_EQ((*from_env)->client.endpoint.password, "from-env");
    std::filesystem::remove(file);
    auto missing = app::redis_settings(c, {});
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message.find("redis.password_file"), std::string::npos);
}

TEST(RedisSettings, ErrorsNameTheSetting) {
    const std::pair<std::vector<std::string>, const char*> cases[] = {
        {{"redis.url=mysql://h"}, "redis.url"},
        {{"redis.url=redis://h", "redis.fallback_instances=0"}, "redis.fallback_instances"},
        {{"redis.url=redis://h", "redis.command_timeout_ms=-5"}, "redis.command_timeout_ms"},
    };
    for (const auto& [overrides, setting] : cases) {
        auto s = app::redis_settings(load(overrides), {});
        ASSERT_FALSE(s.has_value()) << setting;
        EXPECT_NE(s.error().message.find(setting), std::string::npos) << s.error().message;
    }
}

TEST(RedisMetrics, TheSummaryLineShowsRedisOnlyWhenUsed) {
    util::MetricsRegistry m;
    EXPECT_EQ(worker::summary_line(m.snapshot(), nullptr, std::chrono::milliseconds(0)).find("redis"),
              std::string::npos);
    m.counter(worker::metric::k_redis_errors, {{"operation", "cache_invalidate"}}).add(3);
    m.counter(worker::metric::k_cache_invalidations).add(7);
    const std::string line = worker::summary_line(m.snapshot(), nullptr, std::chrono::milliseconds(0));
    EXPECT_NE(line.find("redis errors 3 cache invalidations 7"), std::string::npos) << line;
}

// getaddrinfo has no timeout of its own: a resolver that does not answer must not hold a commit
// (or a send) for as long as the system's resolver retries.
TEST(RedisClient, AHostLookupThatDoesNotAnswerFailsWithinTheConnectTimeout) {
    util::SystemClock clock;
    redis::ClientOptions options;
    options.endpoint.host = "cache.example.internal";
    options.connect_timeout = std::chrono::milliseconds(200);
    options.resolve = [](const char*, const char*, const addrinfo*, addrinfo**) {
        std::this_thread::sleep_for(std::chrono::seconds(3));
        return EAI_AGAIN;
    };
    redis::Client client(options, clock);
    const auto began = std::chrono::steady_clock::now();
    auto r = client.command({"PING"});
    const auto took = std::chrono::steady_clock::now() - began;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, util::ErrorKind::storage_unavailable);
    EXPECT_NE(r.error().message.find("cache.example.internal:6379: resolving the host: no answer within 200 ms"),
              std::string::npos)
        << r.error().message;
    EXPECT_LT(took, std::chrono::milliseconds(1500));
}

// A lookup that answers in time is used: here it sends the client to a closed loopback port.
TEST(RedisClient, AHostLookupThatAnswersInTimeIsUsed) {
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(probe, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
    socklen_t length = sizeof any;
    ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&any), &length), 0);
    ::close(probe);  // nothing listens there now
    util::SystemClock clock;
    redis::ClientOptions options;
    options.endpoint.host = "cache.example.internal";
    options.endpoint.port = ntohs(any.sin_port);
    options.connect_timeout = std::chrono::milliseconds(2000);
    std::atomic<int> lookups{0};
    options.resolve = [&lookups](const char* host, const char* service, const addrinfo* hints, addrinfo** found) {
        ++lookups;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        EXPECT_STREQ(host, "cache.example.internal");
        return ::getaddrinfo("127.0.0.1", service, hints, found);
    };
    redis::Client client(options, clock);
    auto r = client.command({"PING"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("connect: Connection refused"), std::string::npos) << r.error().message;
    EXPECT_EQ(lookups.load(), 1);
}

}  // namespace
}  // namespace mailtrack
