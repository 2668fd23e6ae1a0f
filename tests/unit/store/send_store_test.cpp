// Migration 2: sends, their recipients and idempotency keys, and how the sending path's
// rows join with what the event path records for the same SES message id.
#include <gtest/gtest.h>
#if !MAILTRACK_TEST_MYSQL
#include <sqlite3.h>
#endif
#include <unistd.h>

#include <filesystem>

#include "mailtrack/store_sql/columns.hpp"

#include "event_factory.hpp"
#include "store_test_support.hpp"

namespace mailtrack::store {
namespace {

using core::EventType;
using core::RecipientStatus;

SendRecord draft(std::string id, std::string key = {}) {
    SendRecord d;
    d.send_id = std::move(id);
    d.idempotency_key = std::move(key);
    d.created_at = 1000;
    d.from = "sender@example.com";
    d.subject = "hello";
    d.configuration_set = "cs";
    d.recipients = {{"a@example.com", RecipientRole::to, {}},
                    {"b@example.com", RecipientRole::cc, {}},
                    {"gone@example.com", RecipientRole::bcc, "suppressed: bounce"}};
    return d;
}

std::string event(EventType type, const std::string& message_id, const std::string& send_id, util::UnixMillis at) {
    testing::EventSpec e;
    e.type = type;
    e.message_id = message_id;
    e.destination = {"a@example.com", "b@example.com"};
    e.affected = {"a@example.com"};
    e.mail_timestamp = 900;
    e.timestamp = at;
    e.send_id = send_id;
    return testing::ses_json(e);
}

TEST(SendStore, MigratesToTheSharedSchemaVersion) {
    auto s = test::memory_store();
    EXPECT_EQ(s->schema_version(), store::sql::k_schema_version);
}

#if !MAILTRACK_TEST_MYSQL
TEST(SendStore, AVersionOneDatabaseMigratesKeepingItsEvents) {
    const auto dir = std::filesystem::temp_directory_path() / ("mailtrack-send-migrate-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "m.db").string();
    {
        auto s = SqliteStore::open({path, 1000, 1});
        ASSERT_TRUE(s);
        ASSERT_TRUE((*s)->apply(test::parse_all({event(EventType::send, "ses-1", "snd_x", 2100)})));
    }
    {  // Turn it back into what version 1 left.
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "DROP TABLE api_keys; DROP TABLE send_recipients; DROP TABLE sends; "
                               "DELETE FROM schema_migrations WHERE version >= 2",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    auto s = SqliteStore::open({path, 1000, 1});
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_EQ((*s)->schema_version(), store::sql::k_schema_version);
    auto v = (*s)->message("ses-1", false);
    ASSERT_TRUE(v && *v);
    EXPECT_EQ((*v)->message.send_id, "snd_x");
    EXPECT_TRUE((*s)->begin_send(draft("snd_1")));
    std::filesystem::remove_all(dir);
}
#endif

TEST(SendStore, IdempotencyKeyClaimsOnce) {
    auto s = test::memory_store();
    auto first = s->begin_send(draft("snd_1", "key-1"));
    ASSERT_TRUE(first) << first.error().describe();
    EXPECT_TRUE(first->created);
    auto second = s->begin_send(draft("snd_2", "key-1"));
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->created);
    EXPECT_EQ(second->send.send_id, "snd_1");
    EXPECT_EQ(second->send.status, SendStatus::queued);
    EXPECT_EQ(second->send.recipients.size(), 3u);
    auto none = s->send("snd_2");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    // Sends without a key never collide.
    EXPECT_TRUE(s->begin_send(draft("snd_3"))->created);
    EXPECT_TRUE(s->begin_send(draft("snd_4"))->created);
}

TEST(SendStore, AcceptedSendWritesMessageAndQueuedRecipientsThenEventsRaiseThem) {
    auto s = test::memory_store();
    ASSERT_TRUE(s->begin_send(draft("snd_1")));
    ASSERT_TRUE(s->send_accepted("snd_1", "ses-1", 2000));
    auto send = s->send("snd_1");
    ASSERT_TRUE(send && *send);
    EXPECT_EQ((*send)->status, SendStatus::sent);
    EXPECT_EQ((*send)->ses_message_id, "ses-1");
    EXPECT_FALSE((*send)->linked_by_event);

    auto view = s->message("ses-1", false);
    ASSERT_TRUE(view && *view);
    EXPECT_EQ((*view)->message.send_id, "snd_1");
    ASSERT_EQ((*view)->recipients.size(), 2u);  // the suppressed bcc was never sent to
    for (const auto& r : (*view)->recipients) EXPECT_EQ(r.status.status, RecipientStatus::queued);

    ASSERT_TRUE(s->apply(test::parse_all(
        {event(EventType::send, "ses-1", "snd_1", 2100), event(EventType::delivery, "ses-1", "snd_1", 2200)})));
    view = s->message("ses-1", false);
    ASSERT_TRUE(view && *view);
    EXPECT_EQ((*view)->recipients[0].address, "a@example.com");
    EXPECT_EQ((*view)->recipients[0].status.status, RecipientStatus::delivered);
    EXPECT_EQ((*view)->recipients[1].status.status, RecipientStatus::sent);
    EXPECT_EQ((*view)->message.send_id, "snd_1");
}

TEST(SendStore, EventsBeforeTheAnswerAreMergedNotOverwritten) {
    auto s = test::memory_store();
    ASSERT_TRUE(s->begin_send(draft("snd_1")));
    ASSERT_TRUE(s->apply(test::parse_all({event(EventType::delivery, "ses-1", "snd_1", 2200)})));
    ASSERT_TRUE(s->send_accepted("snd_1", "ses-1", 2300));
    ASSERT_TRUE(s->send_accepted("snd_1", "ses-1", 2300));  // idempotent
    auto view = s->message("ses-1", false);
    ASSERT_TRUE(view && *view);
    EXPECT_EQ((*view)->message.send_id, "snd_1");
    EXPECT_EQ((*view)->message.event_count, 1);
    ASSERT_EQ((*view)->recipients.size(), 2u);
    EXPECT_EQ((*view)->recipients[0].status.status, RecipientStatus::delivered);
    EXPECT_EQ((*view)->recipients[1].status.status, RecipientStatus::queued);
}

TEST(SendStore, UnrecordedMessageIdIsFoundThroughTheSendIdTag) {
    auto s = test::memory_store();
    ASSERT_TRUE(s->begin_send(draft("snd_1")));
    ASSERT_TRUE(s->apply(test::parse_all({event(EventType::send, "ses-9", "snd_1", 2100)})));
    auto send = s->send("snd_1");
    ASSERT_TRUE(send && *send);
    EXPECT_EQ((*send)->ses_message_id, "ses-9");
    EXPECT_TRUE((*send)->linked_by_event);
    EXPECT_EQ((*send)->status, SendStatus::sent);
}

TEST(SendStore, FailureKeepsCodeAndNeverOverwritesASuccess) {
    auto s = test::memory_store();
    ASSERT_TRUE(s->begin_send(draft("snd_1")));
    ASSERT_TRUE(s->send_failed("snd_1", "MessageRejected", "Email address is not verified.", 1500));
    auto send = s->send("snd_1");
    ASSERT_TRUE(send && *send);
    EXPECT_EQ((*send)->status, SendStatus::failed);
    EXPECT_EQ((*send)->error_code, "MessageRejected");
    EXPECT_EQ((*send)->error_message, "Email address is not verified.");
    ASSERT_TRUE(s->retry_send("snd_1", 1600));
    send = s->send("snd_1");
    EXPECT_EQ((*send)->status, SendStatus::queued);
    EXPECT_EQ((*send)->attempts, 2);
    EXPECT_TRUE((*send)->error_code.empty());
    ASSERT_TRUE(s->send_accepted("snd_1", "ses-1", 1700));
    ASSERT_TRUE(s->send_failed("snd_1", "late", "late", 1800));
    EXPECT_EQ((*s->send("snd_1"))->status, SendStatus::sent);
    EXPECT_EQ(s->retry_send("nope", 1).error().kind, util::ErrorKind::not_found);
}

// Migration 3: API keys, stored by prefix with the key's hash, revoked but never deleted.
TEST(ApiKeyStore, CreateFindListAndRevoke) {
    auto s = test::memory_store();
    const ApiKeyRecord a{"mtk_aaaaaaaaaaaa", std::string(64, 'a'), "ci deploys", ApiScope::send, 1000, std::nullopt};
    const ApiKeyRecord b{"mtk_bbbbbbbbbbbb", std::string(64, 'b'), "dashboard", ApiScope::admin, 2000, std::nullopt};
    ASSERT_TRUE(s->create_api_key(b));
    ASSERT_TRUE(s->create_api_key(a));
    auto again = s->create_api_key(a);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, util::ErrorKind::invalid_input);
    EXPECT_NE(again.error().message.find("mtk_aaaaaaaaaaaa exists"), std::string::npos);
    auto found = s->api_key("mtk_aaaaaaaaaaaa");
    ASSERT_TRUE(found && *found);
    EXPECT_EQ(**found, a);
    EXPECT_FALSE(*s->api_key("mtk_cccccccccccc"));
    auto all = s->api_keys();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].prefix, a.prefix);  // oldest first
    EXPECT_EQ(*s->revoke_api_key(a.prefix, 3000), true);
    EXPECT_EQ(*s->revoke_api_key(a.prefix, 4000), false);  // already revoked: stays at its first time
    EXPECT_EQ(*s->revoke_api_key("mtk_cccccccccccc", 4000), false);
    EXPECT_EQ((*s->api_key(a.prefix))->revoked_at, 3000);
    EXPECT_FALSE((*s->api_key(b.prefix))->revoked_at.has_value());
}

}  // namespace
}  // namespace mailtrack::store
