// The sending path against a real SqliteStore (in memory) and a scripted SES.
#include "mailtrack/sender/sender.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>

#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/store/sqlite_store.hpp"

#include "event_factory.hpp"
#include "store/store_test_support.hpp"

namespace mailtrack::sender {
namespace {

using store::SendStatus;

// Sleeping moves the manual clock, so waits are measured, never slept.
class ClockSleeper final : public util::Sleeper {
public:
    explicit ClockSleeper(util::ManualClock& clock) : m_clock(clock) {}
    void sleep_for(std::chrono::milliseconds d) override {
        m_clock.advance(d);
        slept += d;
    }
    void wait(std::unique_lock<std::mutex>&, std::condition_variable&, std::chrono::milliseconds d) override {
        sleep_for(d);
    }
    std::chrono::milliseconds slept{0};

private:
    util::ManualClock& m_clock;
};

class FakeSes final : public SesApi {
public:
    std::vector<aws::SendEmailRequest> calls;
    std::deque<aws::Result<std::string>> answers;  // empty = answer "ses-<n>"
    std::function<void(const aws::SendEmailRequest&)> on_call;

    aws::Result<std::string> send_email(const aws::SendEmailRequest& r) override {
        calls.push_back(r);
        if (on_call) on_call(r);
        if (answers.empty()) return "ses-" + std::to_string(calls.size());
        auto a = std::move(answers.front());
        answers.pop_front();
        return a;
    }
    aws::Result<aws::SesAccount> get_account() override { return aws::SesAccount{}; }
    std::vector<aws::SendBulkEmailRequest> bulk_calls;
    aws::Result<std::vector<aws::BulkEmailResult>> send_bulk_email(const aws::SendBulkEmailRequest& r) override {
        bulk_calls.push_back(r);
        std::vector<aws::BulkEmailResult> out;
        for (const auto& e : r.entries) {
            if (e.destination.to.at(0).starts_with("reject"))
                out.push_back({"MESSAGE_REJECTED", "Email address is not verified.", ""});
            else
                out.push_back(
                    {"SUCCESS", "", "bulk-" + std::to_string(bulk_calls.size()) + "-" + e.destination.to.at(0)});
        }
        return out;
    }
};

std::string tag(const aws::SendEmailRequest& r, std::string_view name) {
    for (const auto& [k, v] : r.tags) {
        if (k == name) return v;
    }
    return {};
}

// Forwards to a real store, except that recording SES's answer can be made to fail.
class CrashingStore final : public store::test::ForwardingStore {
public:
    using ForwardingStore::ForwardingStore;
    bool fail_accept = true;
    util::Result<void> send_accepted(std::string_view id, std::string_view mid, util::UnixMillis at) override {
        if (fail_accept) return util::fail(util::ErrorKind::storage_unavailable, "simulated crash before recording");
        return ForwardingStore::send_accepted(id, mid, at);
    }
};

class SenderTest : public ::testing::Test {
protected:
    std::unique_ptr<store::SqliteStore> db = std::move(*store::SqliteStore::open({":memory:", 1000, 1}));
    util::ManualClock clock{1700000000000};
    ClockSleeper sleeper{clock};
    FakeSes ses;
    UnlimitedRateLimiter unlimited;
    SendIdGenerator ids{42};
    Sender sender{*db, ses, unlimited, clock, sleeper, ids};

    static SendRequest request() {
        SendRequest r;
        r.from = "Sender <sender@example.com>";
        r.to = {"Ann <ann@example.com>"};
        r.cc = {"cc@example.com"};
        r.bcc = {"bcc@example.com"};
        r.subject = "Grüße ✓";
        r.text = "text";
        r.html = "<p>html</p>";
        r.attachments = {{"a.csv", "text/csv", "x,y\n"}};
        r.headers = {{"X-Campaign", "c1"}};
        r.configuration_set = "cs";
        r.tags = {{"campaign", "welcome"}};
        return r;
    }
    store::SendRecord stored(const std::string& id) {
        auto s = db->send(id);
        EXPECT_TRUE(s && *s);
        return s && *s ? **s : store::SendRecord{};
    }
    void suppress(const std::string& address, core::SuppressionReason reason,
                  std::optional<util::UnixMillis> expires = std::nullopt) {
        ASSERT_TRUE(db->suppress(core::Suppression{address, reason, 1, {}, "test", expires}));
    }
};

TEST_F(SenderTest, RecordsTheSendBeforeCallingSesAndTagsTheCall) {
    ses.on_call = [&](const aws::SendEmailRequest& r) {
        const std::string id = tag(r, core::k_send_id_tag);
        ASSERT_FALSE(id.empty());
        const auto s = stored(id);
        EXPECT_EQ(s.status, SendStatus::queued);  // already recorded while SES is being called
        EXPECT_EQ(s.recipients.size(), 3u);
    };
    auto r = sender.send(request());
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(ses.calls.size(), 1u);
    EXPECT_EQ(tag(ses.calls[0], core::k_send_id_tag), r->send_id);
    EXPECT_EQ(tag(ses.calls[0], "campaign"), "welcome");
    EXPECT_EQ(ses.calls[0].configuration_set, "cs");
    EXPECT_EQ(ses.calls[0].destination.bcc, std::vector<std::string>{"bcc@example.com"});
    EXPECT_EQ(r->ses_message_id, "ses-1");
    const auto s = stored(r->send_id);
    EXPECT_EQ(s.status, SendStatus::sent);
    EXPECT_EQ(s.ses_message_id, "ses-1");
    auto view = db->message("ses-1", false);
    ASSERT_TRUE(view && *view);
    EXPECT_EQ((*view)->message.send_id, r->send_id);
    EXPECT_EQ((*view)->recipients.size(), 3u);

    // The content is raw MIME from GMime carrying everything asked for.
    const auto* raw = std::get_if<aws::RawEmail>(&ses.calls[0].content);
    ASSERT_NE(raw, nullptr);
    auto parsed = mime::parse_mime(raw->mime);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->subject, "Grüße ✓");
    EXPECT_EQ(parsed->html, "<p>html</p>");
    ASSERT_EQ(parsed->attachments.size(), 1u);
    EXPECT_EQ(parsed->attachments[0].content, "x,y\n");
    EXPECT_EQ(raw->mime.find("bcc@example.com"), std::string::npos);  // Bcc only in the envelope
}

TEST_F(SenderTest, SesErrorMarksTheSendFailedWithTheAwsCode) {
    ses.answers.push_back(
        aws::fail(aws::ErrorKind::client, "Email address is not verified.", 400, "MessageRejected", "req-1"));
    auto r = sender.send(request());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, SendErrorKind::ses);
    ASSERT_TRUE(r.error().aws);
    EXPECT_EQ(r.error().aws->code, "MessageRejected");
    const auto s = stored(r.error().send_id);
    EXPECT_EQ(s.status, SendStatus::failed);
    EXPECT_EQ(s.error_code, "MessageRejected");
    EXPECT_EQ(s.error_message, "Email address is not verified.");
}

TEST_F(SenderTest, SameIdempotencyKeyDoesNotSendTwice) {
    SendRequest req = request();
    req.idempotency_key = "order-17";
    auto first = sender.send(req);
    ASSERT_TRUE(first);
    auto again = sender.send(req);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(ses.calls.size(), 1u);
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(again->send_id, first->send_id);
    EXPECT_EQ(again->ses_message_id, first->ses_message_id);
}

TEST_F(SenderTest, FailedSendIsRetriedUnderTheSameSendId) {
    SendRequest req = request();
    req.idempotency_key = "k";
    // Connection refused: SES never saw the request, so the send failed for certain.
    auto refused = aws::fail(aws::ErrorKind::connection, "connection refused");
    refused.error().request_not_sent = true;
    ses.answers.push_back(std::move(refused));
    auto first = sender.send(req);
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().kind, SendErrorKind::ses);
    EXPECT_EQ(stored(first.error().send_id).status, SendStatus::failed);
    auto second = sender.send(req);
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_FALSE(second->duplicate);
    EXPECT_EQ(second->send_id, first.error().send_id);
    ASSERT_EQ(ses.calls.size(), 2u);
    EXPECT_EQ(tag(ses.calls[1], core::k_send_id_tag), second->send_id);
    EXPECT_EQ(stored(second->send_id).attempts, 2);
}

TEST_F(SenderTest, SuppressedRecipientsAreSkippedAndNamedTheOthersStillGetIt) {
    suppress("cc@example.com", core::SuppressionReason::bounce);
    suppress("bcc@example.com", core::SuppressionReason::manual, clock.now_millis() - 1);  // expired: ignored
    auto r = sender.send(request());
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->skipped.size(), 1u);
    EXPECT_EQ(r->skipped[0].address, "cc@example.com");
    EXPECT_EQ(r->skipped[0].reason, core::SuppressionReason::bounce);
    ASSERT_EQ(ses.calls.size(), 1u);
    EXPECT_TRUE(ses.calls[0].destination.cc.empty());
    EXPECT_EQ(ses.calls[0].destination.bcc.size(), 1u);
    const auto s = stored(r->send_id);
    const auto it = std::find_if(s.recipients.begin(), s.recipients.end(),
                                 [](const auto& x) { return x.address == "cc@example.com"; });
    ASSERT_NE(it, s.recipients.end());
    EXPECT_EQ(it->skipped, "suppressed: bounce (test)");
}

TEST_F(SenderTest, AllSuppressedIsRefusedBeforeAnySesCallUnlessForced) {
    SendRequest req;
    req.from = "sender@example.com";
    req.to = {"x@example.com", "Y <y@Example.COM>"};
    req.subject = "s";
    req.text = "t";
    suppress("x@example.com", core::SuppressionReason::complaint);
    suppress("y@example.com", core::SuppressionReason::bounce);
    auto r = sender.send(req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, SendErrorKind::all_suppressed);
    EXPECT_NE(r.error().message.find("x@example.com (complaint)"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("y@example.com (bounce)"), std::string::npos);
    EXPECT_EQ(r.error().suppressed.size(), 2u);
    EXPECT_TRUE(ses.calls.empty());
    EXPECT_TRUE(r.error().send_id.empty());

    req.force = true;
    auto forced = sender.send(req);
    ASSERT_TRUE(forced) << forced.error().message;
    EXPECT_TRUE(forced->skipped.empty());
    ASSERT_EQ(ses.calls.size(), 1u);
    EXPECT_EQ(ses.calls[0].destination.to.size(), 2u);
}

TEST_F(SenderTest, CrashWindowEventWithTheSendIdTagLinksTheSend) {
    CrashingStore crashing(*db);
    Sender s(crashing, ses, unlimited, clock, sleeper, ids);
    SendRequest req = request();
    req.idempotency_key = "crash-1";
    auto r = s.send(req);
    ASSERT_TRUE(r) << r.error().message;  // SES accepted: the email went out
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_NE(r->warnings[0].find(std::string(core::k_send_id_tag)), std::string::npos);
    auto before = stored(r->send_id);
    EXPECT_EQ(before.status, SendStatus::queued);
    EXPECT_TRUE(before.ses_message_id.empty());

    // While nothing links it, a retry with the key is in doubt and does not send.
    auto doubt = s.send(req);
    ASSERT_FALSE(doubt);
    EXPECT_EQ(doubt.error().kind, SendErrorKind::in_doubt);
    EXPECT_EQ(ses.calls.size(), 1u);

    // SES's Send event carries the send id tag back through the event path.
    testing::EventSpec spec;
    spec.type = core::EventType::send;
    spec.message_id = r->ses_message_id;
    spec.destination = {"ann@example.com"};
    spec.mail_timestamp = spec.timestamp = clock.now_millis();
    spec.send_id = r->send_id;
    ses::EventParser parser;
    auto ev = parser.parse(testing::ses_json(spec));
    ASSERT_TRUE(ev) << ev.error().describe();
    ASSERT_TRUE(db->apply(std::span(&*ev, 1)));

    const auto linked = stored(r->send_id);
    EXPECT_TRUE(linked.linked_by_event);
    EXPECT_EQ(linked.ses_message_id, r->ses_message_id);
    EXPECT_EQ(linked.status, SendStatus::sent);

    // Now the retry is a duplicate, and it repairs the record.
    crashing.fail_accept = false;
    auto dup = s.send(req);
    ASSERT_TRUE(dup) << dup.error().message;
    EXPECT_TRUE(dup->duplicate);
    EXPECT_EQ(dup->ses_message_id, r->ses_message_id);
    EXPECT_EQ(ses.calls.size(), 1u);
    const auto repaired = stored(r->send_id);
    EXPECT_FALSE(repaired.linked_by_event);
    EXPECT_EQ(repaired.ses_message_id, r->ses_message_id);
}

TEST_F(SenderTest, InvalidRequestsAreRefusedWithoutRecording) {
    SendRequest req = request();
    req.tags = {{std::string(core::k_send_id_tag), "mine"}};
    EXPECT_EQ(sender.send(req).error().kind, SendErrorKind::invalid_request);
    req = request();
    req.tags = {{"bad tag", "v"}};
    EXPECT_EQ(sender.send(req).error().kind, SendErrorKind::invalid_request);
    req = request();
    req.to = {"not-an-address"};
    EXPECT_EQ(sender.send(req).error().kind, SendErrorKind::invalid_request);
    req = request();
    req.headers = {{"X-A", "line\nbreak"}};
    EXPECT_EQ(sender.send(req).error().kind, SendErrorKind::invalid_request);
    req = request();
    req.template_name = "t";
    EXPECT_EQ(sender.send(req).error().kind, SendErrorKind::invalid_request);
    EXPECT_TRUE(ses.calls.empty());
}

TEST_F(SenderTest, TemplateSendUsesSesTemplates) {
    SendRequest req;
    req.from = "sender@example.com";
    req.to = {"t@example.com"};
    req.template_name = "welcome";
    req.template_data = R"({"name":"Ann"})";
    auto r = sender.send(req);
    ASSERT_TRUE(r) << r.error().message;
    const auto* t = std::get_if<aws::TemplateEmail>(&ses.calls.at(0).content);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->template_name, "welcome");
    EXPECT_EQ(t->template_data, R"({"name":"Ann"})");
}

TEST_F(SenderTest, ThrottledCallsBackOffAndSlowTheLimiter) {
    TokenBucketRateLimiter limiter(10, 1, clock, sleeper);
    Sender s(*db, ses, limiter, clock, sleeper, ids, SenderOptions{4, std::chrono::milliseconds(100), {}});
    ses.answers.push_back(
        aws::fail(aws::ErrorKind::throttled, "Maximum sending rate exceeded.", 400, "TooManyRequestsException"));
    ses.answers.push_back(
        aws::fail(aws::ErrorKind::throttled, "Maximum sending rate exceeded.", 400, "TooManyRequestsException"));
    auto r = s.send(request());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(ses.calls.size(), 3u);
    EXPECT_LT(limiter.current_rate(), 10.0);
    EXPECT_GE(sleeper.slept, std::chrono::milliseconds(300));  // 100 + 200 of backoff at least
    // Throttled calls were refused by SES, so they all carry the same send id.
    EXPECT_EQ(tag(ses.calls[0], core::k_send_id_tag), tag(ses.calls[2], core::k_send_id_tag));
}

TEST(TokenBucket, PacesToTheRateAfterTheBurst) {
    util::ManualClock clock{0};
    ClockSleeper sleeper{clock};
    TokenBucketRateLimiter limiter(2, 2, clock, sleeper);
    for (int i = 0; i < 10; ++i) limiter.acquire();
    // Two from the full bucket, then eight at 2/s.
    EXPECT_GE(sleeper.slept.count(), 4000 - 10);
    EXPECT_LE(sleeper.slept.count(), 4000 + 20);
}

TEST(TokenBucket, ThrottlingHalvesTheRateWithAFloorAndSuccessRecovers) {
    util::ManualClock clock{0};
    ClockSleeper sleeper{clock};
    TokenBucketRateLimiter limiter(10, 1, clock, sleeper);
    limiter.on_throttled();
    EXPECT_DOUBLE_EQ(limiter.current_rate(), 5.0);
    for (int i = 0; i < 10; ++i) limiter.on_throttled();
    EXPECT_DOUBLE_EQ(limiter.current_rate(), 1.0);
    for (int i = 0; i < 100; ++i) limiter.on_success();
    EXPECT_DOUBLE_EQ(limiter.current_rate(), 10.0);
}

TEST(SendIds, SortByTimeAndDiffer) {
    SendIdGenerator ids(1);
    const auto a = ids.next(1000);
    const auto b = ids.next(1000);
    const auto c = ids.next(2000);
    EXPECT_NE(a, b);
    EXPECT_LT(a.substr(0, 17), c.substr(0, 17));
    EXPECT_EQ(a.size(), 4u + 13u + 16u);
    EXPECT_TRUE(is_valid_tag_part(a));
}

}  // namespace
}  // namespace mailtrack::sender

namespace mailtrack::sender {
namespace {

// Outcome-unknown errors: SES may have sent the email, so the send must not look failed.
class InDoubtTest : public SenderTest, public ::testing::WithParamInterface<aws::Error> {};

TEST_P(InDoubtTest, UnknownOutcomeStaysQueuedIsNeverResentAndTheSendEventReconcilesIt) {
    SendRequest req = request();
    req.idempotency_key = "in-doubt";
    ses.answers.push_back(util::Unexpected<aws::Error>(GetParam()));
    auto first = sender.send(req);
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().kind, SendErrorKind::in_doubt) << first.error().message;
    const std::string send_id = first.error().send_id;
    ASSERT_FALSE(send_id.empty());
    EXPECT_EQ(stored(send_id).status, SendStatus::queued);
    EXPECT_EQ(stored(send_id).attempts, 1);

    auto retry = sender.send(req);
    ASSERT_FALSE(retry);
    EXPECT_EQ(retry.error().kind, SendErrorKind::in_doubt);
    EXPECT_EQ(retry.error().send_id, send_id);
    EXPECT_EQ(ses.calls.size(), 1u);

    // SES did send it: its Send event carries the send id tag and the real message id.
    testing::EventSpec spec;
    spec.type = core::EventType::send;
    spec.message_id = "ses-really-sent";
    spec.destination = {"ann@example.com"};
    spec.mail_timestamp = spec.timestamp = clock.now_millis();
    spec.send_id = send_id;
    ses::EventParser parser;
    auto ev = parser.parse(testing::ses_json(spec));
    ASSERT_TRUE(ev) << ev.error().describe();
    ASSERT_TRUE(db->apply(std::span(&*ev, 1)));
    EXPECT_EQ(stored(send_id).status, SendStatus::sent);

    auto dup = sender.send(req);
    ASSERT_TRUE(dup) << dup.error().message;
    EXPECT_TRUE(dup->duplicate);
    EXPECT_EQ(dup->ses_message_id, "ses-really-sent");
    EXPECT_EQ(ses.calls.size(), 1u);
}

aws::Error error(aws::ErrorKind kind, int status, std::string code) {
    return aws::Error{kind, status, std::move(code), "m", "", false};
}

INSTANTIATE_TEST_SUITE_P(Errors, InDoubtTest,
                         ::testing::Values(error(aws::ErrorKind::timeout, 0, ""),
                                           error(aws::ErrorKind::connection, 0, ""),  // reset after sending
                                           error(aws::ErrorKind::server, 500, "InternalFailure"),
                                           error(aws::ErrorKind::server, 503, ""),
                                           error(aws::ErrorKind::parse, 0, "")));

TEST(OutcomeUnknown, OnlyErrorsAfterWhichSesMayHaveActed) {
    EXPECT_TRUE(aws::outcome_unknown(error(aws::ErrorKind::timeout, 0, "")));
    EXPECT_TRUE(aws::outcome_unknown(error(aws::ErrorKind::connection, 0, "")));
    EXPECT_TRUE(aws::outcome_unknown(error(aws::ErrorKind::server, 502, "")));
    aws::Error refused = error(aws::ErrorKind::connection, 0, "");
    refused.request_not_sent = true;
    EXPECT_FALSE(aws::outcome_unknown(refused));
    EXPECT_FALSE(aws::outcome_unknown(error(aws::ErrorKind::throttled, 429, "TooManyRequestsException")));
    EXPECT_FALSE(aws::outcome_unknown(error(aws::ErrorKind::client, 400, "MessageRejected")));
}

}  // namespace
}  // namespace mailtrack::sender

namespace mailtrack::sender {
namespace {

// Soft-bounce policy, checked by the sender from the statuses the event path recorded.
class SoftBounceTest : public SenderTest {
protected:
    int message = 0;
    // One earlier message to `address` ending in `outcome` (bounce = Transient soft bounce).
    void history(const std::string& address, core::EventType outcome, bool reversed = false) {
        ++message;
        testing::EventSpec send;
        send.type = core::EventType::send;
        send.message_id = "hist-" + std::to_string(message);
        send.destination = {address};
        send.mail_timestamp = send.timestamp = clock.now_millis();
        testing::EventSpec end = send;
        end.type = outcome;
        end.affected = {address};
        end.bounce_type = "Transient";
        end.bounce_subtype = "MailboxFull";
        end.timestamp += 1000;
        ses::EventParser parser;
        std::vector<core::SesEvent> events;
        for (const auto* spec : {&send, &end}) {
            auto ev = parser.parse(testing::ses_json(*spec));
            ASSERT_TRUE(ev) << ev.error().describe();
            events.push_back(std::move(*ev));
        }
        if (reversed) std::reverse(events.begin(), events.end());  // order must not matter
        ASSERT_TRUE(db->apply(events));
        clock.advance(std::chrono::minutes(10));
    }
    SendRequest to(const std::string& address) {
        SendRequest r;
        r.from = "sender@example.com";
        r.to = {address};
        r.subject = "s";
        r.text = "t";
        return r;
    }
};

TEST_F(SoftBounceTest, ThreeSoftBouncesInTheLastFiveSendsSuppressWithExpiry) {
    history("full@example.com", core::EventType::bounce);
    history("full@example.com", core::EventType::delivery);
    history("full@example.com", core::EventType::bounce, true);
    EXPECT_TRUE(sender.send(to("full@example.com")));  // 1 since the last delivery: sends
    history("full@example.com", core::EventType::bounce);
    history("full@example.com", core::EventType::bounce, true);
    const auto calls = ses.calls.size();

    auto r = sender.send(to("full@example.com"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, SendErrorKind::all_suppressed);
    ASSERT_EQ(r.error().suppressed.size(), 1u);
    EXPECT_EQ(r.error().suppressed[0].reason, core::SuppressionReason::soft_bounce_policy);
    EXPECT_EQ(ses.calls.size(), calls);
    auto entry = db->suppression("full@example.com");
    ASSERT_TRUE(entry && *entry);
    EXPECT_EQ((*entry)->reason, core::SuppressionReason::soft_bounce_policy);
    ASSERT_TRUE((*entry)->expires_at);
    EXPECT_EQ(*(*entry)->expires_at, clock.now_millis() + 14LL * 86'400'000);

    // After the expiry the same old bounces do not count again.
    clock.advance(std::chrono::hours(24 * 15));
    auto after = sender.send(to("full@example.com"));
    ASSERT_TRUE(after) << after.error().message;
    EXPECT_TRUE(after->skipped.empty());
}

TEST_F(SoftBounceTest, ADeliveryResetsTheCountAndOldBouncesLeaveTheWindow) {
    for (int i = 0; i < 3; ++i) history("a@example.com", core::EventType::bounce);
    history("a@example.com", core::EventType::delivery);
    EXPECT_TRUE(sender.send(to("a@example.com")));

    SoftBouncePolicy narrow{3, 2, 1};  // only the last 2 sends count: never 3
    Sender s(*db, ses, unlimited, clock, sleeper, ids, SenderOptions{.soft_bounce = narrow});
    for (int i = 0; i < 3; ++i) history("b@example.com", core::EventType::bounce);
    EXPECT_TRUE(s.send(to("b@example.com")));

    SoftBouncePolicy off{0, 5, 1};
    Sender unpoliced(*db, ses, unlimited, clock, sleeper, ids, SenderOptions{.soft_bounce = off});
    for (int i = 0; i < 4; ++i) history("c@example.com", core::EventType::bounce);
    EXPECT_TRUE(unpoliced.send(to("c@example.com")));
    EXPECT_FALSE(sender.send(to("c@example.com")));  // the default policy would refuse it
}

}  // namespace
}  // namespace mailtrack::sender

namespace mailtrack::sender {
namespace {

TEST(BulkCsv, BadRowsAreReportedWithTheirLineNumbersAndTheRestKept) {
    const auto csv = parse_bulk_csv(
        "address,data,tags\n"
        "a@example.com,\"{\"\"name\"\":\"\"Ann\"\"}\",campaign=spring;tier=gold\n"
        "not-an-address,{}\n"
        "b@example.com,{nope\n"
        "\n"
        "c@example.com\n"
        "d@example.com,{},bad tag\n");
    ASSERT_EQ(csv.rows.size(), 2u);
    EXPECT_EQ(csv.rows[0].line, 2u);
    EXPECT_EQ(csv.rows[0].template_data, R"({"name":"Ann"})");
    EXPECT_EQ(csv.rows[0].tags.size(), 2u);
    EXPECT_EQ(csv.rows[1].address, "c@example.com");
    EXPECT_EQ(csv.rows[1].line, 6u);
    EXPECT_EQ(csv.rows[1].template_data, "{}");
    ASSERT_EQ(csv.errors.size(), 3u);
    EXPECT_EQ(csv.errors[0].line, 3u);
    EXPECT_EQ(csv.errors[1].line, 4u);
    EXPECT_NE(csv.errors[1].message.find("JSON"), std::string::npos);
    EXPECT_EQ(csv.errors[2].line, 7u);
}

TEST_F(SenderTest, BulkSendsFiftyPerCallTagsEachRowAndResumes) {
    BulkRequest req;
    req.from = "sender@example.com";
    req.template_name = "welcome";
    req.file_key = bulk_file_key("file");
    for (std::size_t i = 0; i < 120; ++i)
        req.rows.push_back({i + 2, "r" + std::to_string(i) + "@example.com", "{}", {}});
    req.rows.push_back({200, "reject@example.com", "{}", {}});
    req.rows.push_back({201, "gone@example.com", "{}", {}});
    suppress("gone@example.com", core::SuppressionReason::complaint);
    std::vector<std::size_t> progress;
    auto results = sender.send_bulk(req, [&](std::size_t done, std::size_t) { progress.push_back(done); });
    ASSERT_EQ(results.size(), 122u);
    ASSERT_EQ(ses.bulk_calls.size(), 3u);
    EXPECT_EQ(ses.bulk_calls[0].entries.size(), 50u);
    EXPECT_EQ(ses.bulk_calls[2].entries.size(), 21u);
    const auto& tags = ses.bulk_calls[0].entries[0].replacement_tags;
    EXPECT_EQ(tags.back().first, core::k_send_id_tag);
    EXPECT_EQ(tags.back().second, results[0].send_id);
    EXPECT_EQ(results[0].outcome, BulkOutcome::sent);
    EXPECT_EQ(stored(results[0].send_id).status, SendStatus::sent);
    EXPECT_EQ(results[120].outcome, BulkOutcome::failed);
    EXPECT_NE(results[120].detail.find("MESSAGE_REJECTED"), std::string::npos);
    EXPECT_EQ(results[121].outcome, BulkOutcome::suppressed);
    EXPECT_EQ(progress.back(), 122u);

    // Re-running the same file sends only the failed row again.
    auto again = sender.send_bulk(req);
    EXPECT_EQ(ses.bulk_calls.size(), 4u);
    EXPECT_EQ(ses.bulk_calls[3].entries.size(), 1u);
    EXPECT_EQ(again[0].outcome, BulkOutcome::already_sent);
    EXPECT_EQ(again[0].send_id, results[0].send_id);
}

TEST_F(SenderTest, BulkCallsRunConcurrentlyAndTheReportStaysInRowOrder) {
    // Thread-safe, and slow enough that calls overlap when they can.
    class SlowSes final : public SesApi {
    public:
        std::mutex mutex;
        int in_flight = 0, most_in_flight = 0, calls = 0;
        aws::Result<std::string> send_email(const aws::SendEmailRequest&) override { return std::string("x"); }
        aws::Result<aws::SesAccount> get_account() override { return aws::SesAccount{}; }
        aws::Result<std::vector<aws::BulkEmailResult>> send_bulk_email(const aws::SendBulkEmailRequest& r) override {
            int call = 0;
            {
                std::lock_guard lock(mutex);
                call = ++calls;
                most_in_flight = std::max(most_in_flight, ++in_flight);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            std::vector<aws::BulkEmailResult> out;
            for (const auto& e : r.entries)
                out.push_back({"SUCCESS", "", "m" + std::to_string(call) + e.destination.to.at(0)});
            std::lock_guard lock(mutex);
            --in_flight;
            return out;
        }
    } slow;
    SenderOptions options;
    options.bulk_concurrency = 4;
    Sender s(*db, slow, unlimited, clock, sleeper, ids, options);
    BulkRequest req;
    req.from = "sender@example.com";
    req.template_name = "t";
    req.file_key = "k";
    for (std::size_t i = 0; i < 230; ++i)
        req.rows.push_back({i + 1, "r" + std::to_string(i) + "@example.com", "{}", {}});
    std::vector<std::size_t> progress;
    auto results = s.send_bulk(req, [&](std::size_t done, std::size_t) { progress.push_back(done); });
    EXPECT_EQ(slow.calls, 5);
    EXPECT_GE(slow.most_in_flight, 2);
    EXPECT_LE(slow.most_in_flight, 4);
    ASSERT_EQ(results.size(), 230u);
    for (std::size_t i = 0; i < results.size(); ++i) {
        EXPECT_EQ(results[i].outcome, BulkOutcome::sent) << i;
        EXPECT_EQ(results[i].address, req.rows[i].address);
        EXPECT_TRUE(results[i].ses_message_id.ends_with(req.rows[i].address)) << results[i].ses_message_id;
        EXPECT_EQ(stored(results[i].send_id).ses_message_id, results[i].ses_message_id);
    }
    EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
    EXPECT_EQ(progress.back(), 230u);
    auto again = s.send_bulk(req);
    EXPECT_EQ(slow.calls, 5);  // resumable: nothing sent twice
    EXPECT_EQ(again[229].outcome, BulkOutcome::already_sent);
}

TEST_F(SenderTest, AcceptedSendsAreToldToTheObserverWithTheirMailObject) {
    struct Recorder final : AcceptedMailObserver {
        std::vector<AcceptedMail> seen;
        util::Result<void> on_accepted(const AcceptedMail& m) override {
            seen.push_back(m);
            if (seen.size() == 1) return {};
            return util::fail(util::ErrorKind::io, "topic gone");
        }
    } recorder;
    sender.set_observer(&recorder);
    auto r = sender.send(request());
    ASSERT_TRUE(r);
    ASSERT_EQ(recorder.seen.size(), 1u);
    const AcceptedMail& m = recorder.seen[0];
    EXPECT_EQ(m.ses_message_id, r->ses_message_id);
    EXPECT_EQ(m.send_id, r->send_id);
    EXPECT_EQ(m.destination, (std::vector<std::string>{"ann@example.com", "cc@example.com", "bcc@example.com"}));
    EXPECT_EQ(m.subject, std::optional<std::string>("Grüße ✓"));
    EXPECT_TRUE(std::any_of(m.headers.begin(), m.headers.end(), [](const auto& h) { return h.first == "X-Campaign"; }));
    EXPECT_TRUE(std::none_of(m.headers.begin(), m.headers.end(), [](const auto& h) { return h.first == "Bcc"; }));
    EXPECT_EQ(m.tags.back(), (std::pair<std::string, std::string>{std::string(core::k_send_id_tag), r->send_id}));
    // An observer's failure is a warning: the email went out.
    auto second = sender.send(request());
    ASSERT_TRUE(second);
    ASSERT_EQ(second->warnings.size(), 1u);
    EXPECT_NE(second->warnings[0].find("topic gone"), std::string::npos);
}

TEST_F(SenderTest, BulkRowsSesAcceptedAreToldToTheObserverTogether) {
    struct Recorder final : AcceptedMailObserver {
        std::vector<std::size_t> call_sizes;
        std::vector<AcceptedMail> seen;
        util::Result<void> on_accepted(const AcceptedMail&) override { return {}; }
        std::vector<util::Result<void>> on_accepted_all(std::span<const AcceptedMail> mails) override {
            call_sizes.push_back(mails.size());
            std::vector<util::Result<void>> out;
            for (const auto& m : mails) {
                seen.push_back(m);
                if (m.destination.at(0) == "r3@example.com")
                    out.push_back(util::fail(util::ErrorKind::io, "sns down"));
                else
                    out.emplace_back();
            }
            return out;
        }
    } recorder;
    sender.set_observer(&recorder);
    BulkRequest req;
    req.from = "sender@example.com";
    req.template_name = "welcome";
    req.file_key = "obs";
    req.tags = {{"campaign", "c"}};
    for (std::size_t i = 0; i < 60; ++i)
        req.rows.push_back({i + 1, "r" + std::to_string(i) + "@example.com", "{}", {}});
    req.rows.push_back({99, "reject@example.com", "{}", {}});
    auto results = sender.send_bulk(req);
    EXPECT_EQ(recorder.call_sizes, (std::vector<std::size_t>{50, 10}));  // one call per SendBulkEmail, rejects left out
    ASSERT_EQ(recorder.seen.size(), 60u);
    const AcceptedMail& m = recorder.seen[5];
    EXPECT_EQ(m.ses_message_id, results[5].ses_message_id);
    EXPECT_EQ(m.operation, "SendBulkEmail");
    EXPECT_FALSE(m.subject);  // rendered by SES
    EXPECT_EQ(m.tags.front(), (std::pair<std::string, std::string>{"campaign", "c"}));
    EXPECT_EQ(m.tags.back(),
              (std::pair<std::string, std::string>{std::string(core::k_send_id_tag), results[5].send_id}));
    EXPECT_EQ(results[3].outcome, BulkOutcome::sent);  // the email went out; the failure is its detail
    EXPECT_NE(results[3].detail.find("sns down"), std::string::npos);
    EXPECT_TRUE(results[4].detail.empty());
}

TEST_F(SenderTest, BulkCallWithUnknownOutcomeLeavesTheRowsInDoubt) {
    class Timeout final : public SesApi {
    public:
        int calls = 0;
        aws::Result<std::string> send_email(const aws::SendEmailRequest&) override { return std::string("x"); }
        aws::Result<aws::SesAccount> get_account() override { return aws::SesAccount{}; }
        aws::Result<std::vector<aws::BulkEmailResult>> send_bulk_email(const aws::SendBulkEmailRequest&) override {
            ++calls;
            return aws::fail(aws::ErrorKind::timeout, "read timeout");
        }
    } timeout;
    Sender s(*db, timeout, unlimited, clock, sleeper, ids);
    BulkRequest req;
    req.from = "sender@example.com";
    req.template_name = "t";
    req.file_key = "k";
    req.rows.push_back({2, "a@example.com", "{}", {}});
    auto first = s.send_bulk(req);
    EXPECT_EQ(first[0].outcome, BulkOutcome::in_doubt);
    EXPECT_EQ(stored(first[0].send_id).status, SendStatus::queued);
    auto again = s.send_bulk(req);
    EXPECT_EQ(again[0].outcome, BulkOutcome::in_doubt);
    EXPECT_EQ(timeout.calls, 1);
}

}  // namespace
}  // namespace mailtrack::sender
