// The sending path end to end against aws-ses-v2-local: what `Sender` sends (raw MIME from
// GMime) must arrive intact in the emulator's /store -- unicode subject, both bodies, and every
// attachment's name, type and bytes -- and the send must be recorded with the message id.
#include <nlohmann/json.hpp>

#include "mailtrack/sender/sender.hpp"
#include "mailtrack/store/sqlite_store.hpp"

#include "peer_test_support.hpp"

namespace mailtrack::sender {
namespace {

using nlohmann::json;

std::string base64(std::string_view in) {
    static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
        out += {k[(n >> 18) & 63], k[(n >> 12) & 63], k[(n >> 6) & 63], k[n & 63]};
    }
    if (i + 1 == in.size()) {
        const auto n = static_cast<unsigned char>(in[i]) << 16;
        out += {k[(n >> 18) & 63], k[(n >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += {k[(n >> 18) & 63], k[(n >> 12) & 63], k[(n >> 6) & 63], '='};
    }
    return out;
}

class SenderPeer : public ::testing::Test {
protected:
    std::string url = testing::peer_url("MAILTRACK_TEST_SES_URL");
    testing::PeerContext ctx;
    aws::SesV2Client client{ctx.context(), aws::ServiceEndpoint{url, "us-east-1", "ses"}};
    SesV2Api ses{client};
    std::unique_ptr<store::SqliteStore> db = std::move(*store::SqliteStore::open({":memory:", 1000, 1}));
    UnlimitedRateLimiter limiter;
    SendIdGenerator ids{7};
    Sender sender{*db, ses, limiter, ctx.clock, ctx.sleeper, ids};

    json store_email(const std::string& message_id) {
        auto r = ctx.transport.send(aws::HttpRequest{"GET", url + "/store", {}, "", {}});
        EXPECT_TRUE(r);
        if (!r) return {};
        const json store = json::parse(r->body);  // a named object: the loop must not outlive it
        for (const auto& e : store.at("emails")) {
            if (e.value("messageId", std::string()) == message_id) return e;
        }
        ADD_FAILURE() << "message " << message_id << " not in the store: " << r->body.substr(0, 600);
        return {};
    }
};

TEST_F(SenderPeer, SubjectBodiesAndEveryAttachmentArriveIntact) {
    std::string binary;
    for (int i = 0; i < 1024; ++i) binary += static_cast<char>((i * 37) & 0xff);
    SendRequest r;
    r.from = "Zoë Sender <sender@example.com>";
    r.to = {"to@example.com"};
    r.cc = {"cc@example.com"};
    r.bcc = {"bcc@example.com"};
    r.reply_to = {"reply@example.com"};
    r.subject = "Grüße ✓ — 日本語 and a subject long enough that GMime must fold and encode it";
    r.text = "plain body ✓\nsecond line\n";
    r.html = "<p>html <b>body</b> ✓</p>";
    r.attachments = {{"report.csv", "text/csv", "a,b\n1,2\n"},
                     {"blob.bin", "application/octet-stream", binary},
                     {"résumé.pdf", "application/pdf", "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"}};
    r.headers = {{"X-Campaign", "spring"}};
    r.tags = {{"campaign", "spring"}};
    r.configuration_set = "mailtrack-events";
    auto sent = sender.send(r);
    ASSERT_TRUE(sent) << sent.error().message;
    ASSERT_FALSE(sent->ses_message_id.empty());

    const json e = store_email(sent->ses_message_id);
    EXPECT_EQ(e["subject"], r.subject);
    EXPECT_EQ(e["body"]["text"], r.text);
    EXPECT_EQ(e["body"]["html"], r.html);
    EXPECT_EQ(e["destination"]["to"], json({"to@example.com"}));
    ASSERT_EQ(e["attachments"].size(), r.attachments.size()) << e.dump().substr(0, 2000);
    for (std::size_t i = 0; i < r.attachments.size(); ++i) {
        const auto& got = e["attachments"][i];
        EXPECT_EQ(got["filename"], r.attachments[i].file_name);
        EXPECT_EQ(got["contentType"], r.attachments[i].content_type);
        EXPECT_EQ(got["content"], base64(r.attachments[i].content)) << r.attachments[i].file_name;
    }

    auto rec = db->send(sent->send_id);
    ASSERT_TRUE(rec && *rec);
    EXPECT_EQ((*rec)->status, store::SendStatus::sent);
    EXPECT_EQ((*rec)->ses_message_id, sent->ses_message_id);
    auto view = db->message(sent->ses_message_id, false);
    ASSERT_TRUE(view && *view);
    EXPECT_EQ((*view)->message.send_id, sent->send_id);
    EXPECT_EQ((*view)->recipients.size(), 3u);
}

TEST_F(SenderPeer, SesErrorIsRecordedAsAFailedSend) {
    SendRequest r;
    r.from = "sender@example.com";
    r.to = {"x@example.com"};
    r.template_name = "no-such-template-" + testing::unique_name("t");
    auto sent = sender.send(r);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().kind, SendErrorKind::ses);
    auto rec = db->send(sent.error().send_id);
    ASSERT_TRUE(rec && *rec);
    EXPECT_EQ((*rec)->status, store::SendStatus::failed);
    EXPECT_FALSE((*rec)->error_code.empty());
}

}  // namespace
}  // namespace mailtrack::sender
