// GMime builds the message; reading it back with GMime must give every part back intact.
#include "mailtrack/mime/mime.hpp"

#include <gtest/gtest.h>

namespace mailtrack::mime {
namespace {

Message sample() {
    Message m;
    m.from = "Zoë Sender <sender@example.com>";
    m.to = {"to1@example.com", "Ådne <to2@example.com>"};
    m.cc = {"cc@example.com"};
    m.reply_to = {"reply@example.com"};
    m.subject = "Héllo ✓ — grüße, 日本語 subject that is long enough to need folding across lines";
    m.text = "plain body ✓\nline two\n";
    m.html = "<p>html <b>body</b> ✓</p>\n";
    std::string binary;
    for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
    m.attachments = {{"report.csv", "text/csv", "a,b\n1,2\n"},
                     {"bytes.bin", "application/octet-stream", binary},
                     {"résumé.pdf", "application/pdf", "%PDF-1.4 fake"}};
    m.headers = {
        {"X-Campaign", "welcome-2024"}, {"List-Unsubscribe", "<mailto:unsub@example.com>"}, {"X-Unicode", "naïve ✓"}};
    m.date = 1700000000000;
    return m;
}

TEST(Mime, RoundTripsSubjectBodiesAttachmentsAndHeaders) {
    const Message in = sample();
    auto raw = build_mime(in);
    ASSERT_TRUE(raw) << raw.error().describe();
    auto out = parse_mime(*raw);
    ASSERT_TRUE(out) << out.error().describe();
    EXPECT_EQ(out->subject, in.subject);
    EXPECT_EQ(out->text, in.text);
    EXPECT_EQ(out->html, in.html);
    EXPECT_EQ(out->date, in.date);
    ASSERT_EQ(out->attachments.size(), in.attachments.size());
    for (std::size_t i = 0; i < in.attachments.size(); ++i) {
        EXPECT_EQ(out->attachments[i].file_name, in.attachments[i].file_name);
        EXPECT_EQ(out->attachments[i].content_type, in.attachments[i].content_type);
        EXPECT_EQ(out->attachments[i].content, in.attachments[i].content) << in.attachments[i].file_name;
    }
    for (const auto& h : in.headers) {
        const auto it = std::find(out->headers.begin(), out->headers.end(), h);
        EXPECT_NE(it, out->headers.end()) << h.first;
    }
    ASSERT_EQ(out->to.size(), 2u);
    EXPECT_NE(out->to[1].find("to2@example.com"), std::string::npos);
    EXPECT_NE(out->from.find("sender@example.com"), std::string::npos);
    EXPECT_NE(out->from.find("Zoë"), std::string::npos);
}

TEST(Mime, IsSevenBitWithCrlfLinesAndNoBcc) {
    auto raw = build_mime(sample());
    ASSERT_TRUE(raw);
    for (const char c : *raw) ASSERT_LT(static_cast<unsigned char>(c), 128u) << "8-bit byte on the wire";
    for (std::size_t i = raw->find('\n'); i != std::string::npos; i = raw->find('\n', i + 1)) {
        ASSERT_GT(i, 0u);
        ASSERT_EQ((*raw)[i - 1], '\r') << "bare LF at " << i;
    }
    EXPECT_EQ(raw->find("\r\nBcc:"), std::string::npos);
    EXPECT_NE(raw->find("multipart/alternative"), std::string::npos);
    EXPECT_NE(raw->find("multipart/mixed"), std::string::npos);
}

TEST(Mime, SingleBodyWithoutAttachmentsIsOnePart) {
    Message m;
    m.from = "a@example.com";
    m.to = {"b@example.com"};
    m.subject = "s";
    m.text = "just text";
    auto raw = build_mime(m);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->find("multipart"), std::string::npos);
    auto out = parse_mime(*raw);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->text, "just text\n");  // the message ends with a line break
    EXPECT_TRUE(out->html.empty());
}

TEST(Mime, RefusesHeaderInjectionStructuralHeadersAndBadAddresses) {
    Message m = sample();
    m.headers = {{"X-Evil", "a\r\nBcc: victim@example.com"}};
    EXPECT_FALSE(build_mime(m));
    m.headers = {{"Subject", "second subject"}};
    EXPECT_FALSE(build_mime(m));
    m.headers = {{"Content-Type", "text/plain"}};
    EXPECT_FALSE(build_mime(m));
    m.headers = {{"Bad Name", "x"}};
    EXPECT_FALSE(build_mime(m));
    m.headers.clear();
    m.to = {"a@example.com, b@example.com"};  // two addresses where one is expected
    auto r = build_mime(m);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, util::ErrorKind::invalid_input);
    m = sample();
    m.attachments[0].content_type = "nonsense";
    EXPECT_FALSE(build_mime(m));
    m = sample();
    m.text.clear();
    m.html.clear();
    m.attachments.clear();
    EXPECT_FALSE(build_mime(m));
}

}  // namespace
}  // namespace mailtrack::mime
