// SES v2 (REST-JSON) client against aws-ses-v2-local: what we send must appear in its /store
// with the exact subject, bodies, recipients and attachments.
#include <nlohmann/json.hpp>

#include "mailtrack/aws/sesv2.hpp"

#include "peer_test_support.hpp"

namespace mailtrack::aws {
namespace {

using nlohmann::json;

class SesPeer : public ::testing::Test {
protected:
    std::string url = testing::peer_url("MAILTRACK_TEST_SES_URL");
    testing::PeerContext ctx;
    SesV2Client ses{ctx.context(), ServiceEndpoint{url, "us-east-1", "ses"}};

    json store_email(const std::string& message_id) {
        auto r = ctx.transport.send(HttpRequest{"GET", url + "/store", {}, "", {}});
        EXPECT_TRUE(r);
        if (!r) return {};
        const json store = json::parse(r->body);
        for (const auto& e : store.at("emails")) {
            if (e.value("messageId", std::string()) == message_id) return e;
        }
        ADD_FAILURE() << "message " << message_id << " not in the store: " << r->body.substr(0, 600);
        return {};
    }
};

TEST_F(SesPeer, SimpleEmailArrivesWithExactContent) {
    SendEmailRequest r;
    r.from = "Sender Name <sender@example.com>";
    r.destination = {{"to1@example.com", "to2@example.com"}, {"cc@example.com"}, {"bcc@example.com"}};
    r.reply_to = {"reply@example.com"};
    SimpleEmail s;
    s.subject = "H\xc3\xa9llo \xe2\x9c\x93 subject";
    s.text = "plain body\nline two";
    s.html = "<p>html <b>body</b></p>";
    s.attachments.push_back({"report.csv", "a,b\n1,2\n", "text/csv", "ATTACHMENT", ""});
    r.content = s;
    r.configuration_set = "mailtrack-events";
    r.tags = {{"campaign", "welcome"}};
    auto id = ses.send_email(r);
    ASSERT_TRUE(id) << id.error().describe();
    const json e = store_email(*id);
    EXPECT_EQ(e["from"], r.from);
    EXPECT_EQ(e["subject"], s.subject);
    EXPECT_EQ(e["body"]["text"], s.text);
    EXPECT_EQ(e["body"]["html"], s.html);
    EXPECT_EQ(e["destination"]["to"], json(r.destination.to));
    EXPECT_EQ(e["destination"]["cc"], json(r.destination.cc));
    EXPECT_EQ(e["destination"]["bcc"], json(r.destination.bcc));
    EXPECT_EQ(e["replyTo"], json(r.reply_to));
    ASSERT_EQ(e["attachments"].size(), 1u);
    EXPECT_EQ(e["attachments"][0]["filename"], "report.csv");
    EXPECT_EQ(e["attachments"][0]["contentType"], "text/csv");
    EXPECT_EQ(e["attachments"][0]["content"], "YSxiCjEsMgo=");  // base64 of the bytes
}

TEST_F(SesPeer, RawEmailIsDelivered) {
    SendEmailRequest r;
    r.from = "sender@example.com";
    r.destination.to = {"raw@example.com"};
    r.content = RawEmail{
        "From: sender@example.com\r\nTo: raw@example.com\r\nSubject: raw subject\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nraw body\r\n"};
    auto id = ses.send_email(r);
    ASSERT_TRUE(id) << id.error().describe();
    const json e = store_email(*id);
    EXPECT_EQ(e["subject"], "raw subject");
    EXPECT_EQ(e["body"]["text"], "raw body\n");
}

TEST_F(SesPeer, TemplateAndBulkSends) {
    const std::string tpl = testing::unique_name("tpl");
    // Templates are created through the emulator's own SES v2 API (we do not need CreateEmailTemplate).
    auto created = ctx.transport.send(HttpRequest{
        "POST",
        url + "/v2/email/templates",
        {{"Content-Type", "application/json"},
         {"Authorization",
          "AWS4-HMAC-SHA256 Credential=test/20231114/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0"}},
        json{{"TemplateName", tpl},
             {"TemplateContent",
              {{"Subject", "Hi {{name}}"}, {"Text", "Hello {{name}}"}, {"Html", "<p>Hello {{name}}</p>"}}}}
            .dump(),
        {}});
    ASSERT_TRUE(created && created->status == 200) << (created ? created->body : created.error().describe());

    SendEmailRequest r;
    r.from = "sender@example.com";
    r.destination.to = {"t@example.com"};
    r.content = TemplateEmail{tpl, R"({"name":"Ann"})"};
    auto id = ses.send_email(r);
    ASSERT_TRUE(id) << id.error().describe();
    EXPECT_EQ(store_email(*id)["subject"], "Hi Ann");

    SendBulkEmailRequest b;
    b.from = "sender@example.com";
    b.default_template = {tpl, R"({"name":"everyone"})"};
    b.default_tags = {{"kind", "bulk"}};
    b.entries = {{{{"b1@example.com"}, {}, {}}, {{"n", "1"}}, R"({"name":"Bo"})"},
                 {{{"b2@example.com"}, {}, {}}, {}, ""}};
    auto results = ses.send_bulk_email(b);
    ASSERT_TRUE(results) << results.error().describe();
    ASSERT_EQ(results->size(), 2u);
    EXPECT_EQ((*results)[0].status, "SUCCESS");
    EXPECT_EQ(store_email((*results)[0].message_id)["subject"], "Hi Bo");
    EXPECT_EQ(store_email((*results)[1].message_id)["destination"]["to"], json({"b2@example.com"}));
}

TEST_F(SesPeer, GetAccountReportsTheSendQuota) {
    auto a = ses.get_account();
    ASSERT_TRUE(a) << a.error().describe();
    EXPECT_EQ(a->max_send_rate, 14);  // as configured in peers.py
    EXPECT_EQ(a->max_24_hour_send, 50000);
    EXPECT_EQ(a->sent_last_24_hours, 12);
    EXPECT_TRUE(a->sending_enabled);
    EXPECT_EQ(a->enforcement_status, "HEALTHY");
}

TEST_F(SesPeer, InvalidRequestIsAClientError) {
    SendEmailRequest r;  // no From: the emulator rejects it with 400
    r.destination.to = {"x@example.com"};
    r.content = SimpleEmail{"s", "t", "", "UTF-8", {}, {}};
    auto id = ses.send_email(r);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().kind, ErrorKind::client);
    EXPECT_EQ(id.error().http_status, 400);
    EXPECT_TRUE(ctx.sleeper.sleeps().empty());  // not retried
}

}  // namespace
}  // namespace mailtrack::aws
