// Redis pieces that need no server: URL parsing and the cache format of a MessageView.
#include <gtest/gtest.h>

#include "mailtrack/app/redis_store.hpp"
#include "mailtrack/redis/client.hpp"

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

    auto back = app::decode_message_view(app::encode_message_view(v));
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
    for (const char* bad : {"", "not json", "{}", "{\"v\":2}", "{\"v\":1,\"m\":{}}", "{\"v\":1}"}) {
        auto r = app::decode_message_view(bad);
        EXPECT_FALSE(r.has_value()) << bad;
        if (!r) {
            EXPECT_EQ(r.error().kind, util::ErrorKind::invalid_input);
        }
    }
}

}  // namespace
}  // namespace mailtrack
