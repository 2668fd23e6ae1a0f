// The JSON views: each shape against docs/VIEWS.md's field list, and the values each field takes.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "mailtrack/views/api_key_view.hpp"
#include "mailtrack/views/json_time.hpp"
#include "mailtrack/views/message_view.hpp"
#include "mailtrack/views/recipient_view.hpp"
#include "mailtrack/views/send_view.hpp"
#include "mailtrack/views/stats_view.hpp"
#include "mailtrack/views/suppression_view.hpp"

namespace mailtrack::views {
namespace {

using nlohmann::json;

constexpr util::UnixMillis k_t0 = 1'764'583'200'000;  // 2025-12-01T10:00:00.000Z

// The fields docs/VIEWS.md lists under "## <section>": the first `code` cell of each table row.
std::set<std::string> documented_fields(const std::string& section) {
    std::ifstream in(std::string(MAILTRACK_DOCS_DIR) + "/VIEWS.md");
    EXPECT_TRUE(in) << "cannot read docs/VIEWS.md";
    std::set<std::string> out;
    bool inside = false;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("## ", 0) == 0) {
            inside = line.substr(3) == section;
            continue;
        }
        if (!inside || line.rfind("| `", 0) != 0) continue;
        const auto end = line.find('`', 3);
        out.insert(line.substr(3, end - 3));
    }
    EXPECT_FALSE(out.empty()) << "docs/VIEWS.md has no fields under \"## " << section << "\"";
    return out;
}

std::set<std::string> keys(const json& j) {
    std::set<std::string> out;
    for (const auto& [k, v] : j.items()) out.insert(k);
    return out;
}

core::RecipientState full_recipient() {
    core::RecipientState r;
    r.message_id = "0100018c-msg";
    r.address = "bob@example.com";
    r.status = {core::RecipientStatus::bounced, k_t0 + 3000, {}};
    r.delivery = core::DeliveryFact{k_t0 + 1000, {}, "250 2.0.0 OK", "a1.example.net", 812};
    r.bounce =
        core::BounceFact{k_t0 + 3000, {}, "Permanent", "NoEmail", "failed", "5.1.1", "smtp; 550 5.1.1 no such user"};
    r.complaint = core::ComplaintFact{k_t0 + 4000, {}, "abuse", "", "Mozilla/5.0"};
    r.delay = core::DelayFact{k_t0 + 500, {}, "MailboxFull", "4.2.2", "smtp; 452 full", k_t0 + 86'400'000};
    r.failure = core::FailureFact{k_t0 + 10, {}, "Bad content", "welcome"};
    r.engagement.opens = 2;
    r.engagement.first_open_at = k_t0 + 5000;
    r.engagement.last_open_at = k_t0 + 6000;
    r.soft_bounces = 1;
    r.event_count = 7;
    return r;
}

TEST(Views, TimesAreIsoUtcWithMillisecondsAndNullWhenAbsent) {
    EXPECT_EQ(time(k_t0 + 123), "2025-12-01T10:00:00.123Z");
    EXPECT_TRUE(time(std::optional<util::UnixMillis>{}).is_null());
}

TEST(Views, RecipientHasTheDocumentedFieldsAndEachFactItsOwn) {
    const json j = recipient(full_recipient());
    EXPECT_EQ(keys(j), documented_fields("recipient"));
    EXPECT_EQ(keys(j["delivery"]), documented_fields("recipient.delivery"));
    EXPECT_EQ(keys(j["bounce"]), documented_fields("recipient.bounce"));
    EXPECT_EQ(keys(j["complaint"]), documented_fields("recipient.complaint"));
    EXPECT_EQ(keys(j["delay"]), documented_fields("recipient.delay"));
    EXPECT_EQ(keys(j["failure"]), documented_fields("recipient.failure"));
    EXPECT_EQ(keys(j["engagement"]), documented_fields("engagement"));

    EXPECT_EQ(j["status"], "bounced");
    EXPECT_EQ(j["status_at"], "2025-12-01T10:00:03.000Z");
    EXPECT_EQ(j["delivery"]["smtp_response"], "250 2.0.0 OK");
    EXPECT_EQ(j["delivery"]["processing_time_millis"], 812);
    EXPECT_EQ(j["bounce"]["type"], "Permanent");
    EXPECT_EQ(j["bounce"]["subtype"], "NoEmail");
    EXPECT_EQ(j["bounce"]["status"], "5.1.1");
    EXPECT_EQ(j["complaint"]["feedback_type"], "abuse");
    EXPECT_EQ(j["delay"]["expiration_time"], "2025-12-02T10:00:00.000Z");
    EXPECT_EQ(j["failure"]["template"], "welcome");
    EXPECT_EQ(j["engagement"]["opens"], 2);
    EXPECT_TRUE(j["engagement"]["first_click_at"].is_null());
    EXPECT_EQ(j["soft_bounces"], 1);
}

TEST(Views, RecipientLeavesOutFactsThatAreNotKnown) {
    core::RecipientState r;
    r.message_id = "m";
    r.address = "a@example.com";
    r.status = {core::RecipientStatus::sent, k_t0, {}};
    const json j = recipient(r);
    for (const char* fact : {"delivery", "bounce", "complaint", "delay", "failure"}) EXPECT_FALSE(j.contains(fact));
    EXPECT_EQ(j["status"], "sent");
}

TEST(Views, RecipientDetailSummarisesTheCurrentStatus) {
    auto r = full_recipient();
    EXPECT_EQ(recipient_detail(r), "Permanent/NoEmail smtp; 550 5.1.1 no such user");
    r.status.status = core::RecipientStatus::complained;
    EXPECT_EQ(recipient_detail(r), "feedback: abuse");
    r.status.status = core::RecipientStatus::delivery_delayed;
    EXPECT_EQ(recipient_detail(r), "MailboxFull until 2025-12-02T10:00:00.000Z");
    r.status.status = core::RecipientStatus::delivered;
    EXPECT_EQ(recipient_detail(r), "250 2.0.0 OK");
    r.status.status = core::RecipientStatus::queued;
    EXPECT_EQ(recipient_detail(r), "");
}

store::MessageView a_message() {
    store::MessageView v;
    v.message.message_id = "0100018c-msg";
    v.message.status = {core::RecipientStatus::delivered, k_t0 + 1000, {}};
    v.message.mail_timestamp = k_t0;
    v.message.source = "shop@example.com";
    v.message.subject = "Your order";
    v.message.send_id = "snd_1";
    v.message.recipient_count = 1;
    v.message.event_count = 2;
    v.recipients.push_back(full_recipient());
    v.events.push_back({{}, core::EventType::send, "Send", "0100018c-msg", k_t0, R"({"eventType":"Send"})"});
    v.events.push_back({{}, core::EventType::delivery, "Delivery", "0100018c-msg", k_t0 + 1000, "not json"});
    return v;
}

TEST(Views, MessageHasTheDocumentedFieldsAndTheTimelineInOrder) {
    const json j = message(a_message(), false);
    EXPECT_EQ(keys(j), documented_fields("message"));
    EXPECT_EQ(j["mail_timestamp"], "2025-12-01T10:00:00.000Z");
    EXPECT_EQ(j["status"], "delivered");
    ASSERT_EQ(j["events"].size(), 2u);
    EXPECT_EQ(j["events"][0]["ses_type"], "Send");
    EXPECT_EQ(j["events"][1]["type"], "delivery");
    EXPECT_FALSE(j["events"][0].contains("raw"));
    EXPECT_EQ(j["recipients"][0], recipient(full_recipient()));
}

TEST(Views, EventRawIsTheParsedArchiveOnlyWhenAskedAndNullWhenItDoesNotParse) {
    const json j = message(a_message(), true);
    EXPECT_EQ(keys(j["events"][0]), documented_fields("event"));
    EXPECT_EQ(j["events"][0]["raw"]["eventType"], "Send");
    EXPECT_TRUE(j["events"][1]["raw"].is_null());
}

store::SendRecord a_send() {
    store::SendRecord s;
    s.send_id = "snd_019";
    s.status = store::SendStatus::sent;
    s.created_at = k_t0;
    s.updated_at = k_t0 + 200;
    s.attempts = 1;
    s.from = "shop@example.com";
    s.subject = "Your order";
    s.ses_message_id = "0100018c-msg";
    s.recipients = {{"bob@example.com", store::RecipientRole::to, ""},
                    {"carol@example.com", store::RecipientRole::cc, ""},
                    {"dave@example.com", store::RecipientRole::bcc, "suppressed: bounce"}};
    return s;
}

TEST(Views, SendShowsEachRecipientFromEventsTheSendOrWhyItWasSkipped) {
    const std::vector<core::RecipientState> states{full_recipient()};
    const json j = send(a_send(), states);
    EXPECT_EQ(keys(j), documented_fields("send"));
    EXPECT_EQ(j["created_at"], "2025-12-01T10:00:00.000Z");
    ASSERT_EQ(j["recipients"].size(), 3u);
    // bob has events: the recipient view plus his role.
    json bob = recipient(full_recipient());
    bob["role"] = "to";
    EXPECT_EQ(j["recipients"][0], bob);
    // carol has none yet: the send's status.
    EXPECT_EQ(j["recipients"][1], (json{{"address", "carol@example.com"}, {"role", "cc"}, {"status", "sent"}}));
    // dave was left out.
    EXPECT_EQ(keys(j["recipients"][2]), documented_fields("send.recipient"));
    EXPECT_EQ(j["recipients"][2]["status"], "skipped");
    EXPECT_EQ(j["recipients"][2]["skipped"], "suppressed: bounce");
}

TEST(Views, SendResultAndSendErrorHaveTheDocumentedFields) {
    sender::SendResult ok{
        "snd_1", "0100-x", true, {{"dave@example.com", core::SuppressionReason::complaint, "d"}}, {"w"}};
    const json r = send_result(ok);
    EXPECT_EQ(keys(r), documented_fields("send_result"));
    EXPECT_EQ(r["duplicate"], true);
    EXPECT_EQ(r["skipped"][0]["reason"], "complaint");

    sender::SendError e;
    e.message = "every recipient is suppressed";
    e.send_id = "snd_2";
    e.aws = aws::Error{};
    e.aws->code = "MessageRejected";
    e.suppressed = {{"dave@example.com", core::SuppressionReason::bounce, ""}};
    const json f = send_error(e);
    EXPECT_EQ(keys(f), documented_fields("send_error"));
    EXPECT_EQ(f["ok"], false);
    EXPECT_EQ(f["aws_error_code"], "MessageRejected");
    EXPECT_EQ(keys(send_error(sender::SendError{})), (std::set<std::string>{"ok", "error"}));
}

TEST(Views, BulkResultCountsEveryOutcomeAndListsOnlyRowsThatDidNotGoOut) {
    using sender::BulkOutcome;
    const std::vector<sender::BulkRowResult> rows{
        {2, "a@example.com", BulkOutcome::sent, "snd_a", "m1", ""},
        {3, "b@example.com", BulkOutcome::already_sent, "snd_b", "m2", ""},
        {4, "c@example.com", BulkOutcome::suppressed, "", "", "bounce"},
        {5, "d@example.com", BulkOutcome::in_doubt, "snd_d", "", "timeout"},
    };
    const json j = bulk_result(rows, {});
    EXPECT_EQ(keys(j), documented_fields("bulk_result"));
    EXPECT_EQ(j["sent"], 1);
    EXPECT_EQ(j["already_sent"], 1);
    EXPECT_EQ(j["suppressed"], 1);
    EXPECT_EQ(j["in_doubt"], 1);
    EXPECT_EQ(j["ok"], false);  // in doubt is not clean
    ASSERT_EQ(j["rows"].size(), 2u);
    EXPECT_EQ(keys(j["rows"][0]), documented_fields("bulk_row"));
    EXPECT_EQ(j["rows"][1]["outcome"], "in_doubt");

    const std::vector<sender::BulkRowError> bad{{7, "not an address"}};
    const json k = bulk_result(std::span(rows).first(2), bad);
    EXPECT_EQ(k["ok"], false);  // a bad row is not clean either
    EXPECT_EQ(k["bad_rows"][0], (json{{"line", 7}, {"error", "not an address"}}));
    EXPECT_EQ(bulk_result(std::span(rows).first(3), {})["ok"], true);
}

TEST(Views, StatsHasEveryStatusAndSesVerdicts) {
    store::DeliveryCounts n;
    n.messages = 10;
    n.recipients = 20;
    n.sent = 20;
    n.hard_bounced = 1;  // 5%: warning
    n.complained = 0;
    n.by_status[static_cast<int>(core::RecipientStatus::bounced)] = 1;
    const json j = stats(n);
    EXPECT_EQ(keys(j), documented_fields("stats"));
    EXPECT_EQ(j["by_status"].size(), static_cast<std::size_t>(core::k_status_count));
    EXPECT_EQ(j["by_status"]["bounced"], 1);
    EXPECT_EQ(j["by_status"]["complained"], 0);
    EXPECT_DOUBLE_EQ(j["bounce_rate"].get<double>(), 0.05);
    EXPECT_EQ(j["bounce_verdict"], "WARNING");
    EXPECT_EQ(j["complaint_verdict"], "ok");
}

TEST(Views, ApiKeyHasTheDocumentedFieldsAndNoSecret) {
    store::ApiKeyRecord k{"mtk_0123456789ab", std::string(64, 'f'), "ci", store::ApiScope::send, k_t0, std::nullopt};
    const json j = api_key(k);
    EXPECT_EQ(keys(j), documented_fields("api_key"));
    EXPECT_EQ(j["scope"], "send");
    EXPECT_TRUE(j["revoked_at"].is_null());
    EXPECT_EQ(j.dump().find(k.hash), std::string::npos);
}

TEST(Views, SuppressionHasTheDocumentedFields) {
    core::Suppression s;
    s.address = "bob@example.com";
    s.reason = core::SuppressionReason::soft_bounce_policy;
    s.since = k_t0;
    s.detail = "3 soft bounces";
    const json j = suppression(s);
    EXPECT_EQ(keys(j), documented_fields("suppression"));
    EXPECT_EQ(j["reason"], "soft_bounce_policy");
    EXPECT_TRUE(j["expires_at"].is_null());
    s.expires_at = k_t0 + 1;
    EXPECT_EQ(suppression(s)["expires_at"], "2025-12-01T10:00:00.001Z");
}

}  // namespace
}  // namespace mailtrack::views
