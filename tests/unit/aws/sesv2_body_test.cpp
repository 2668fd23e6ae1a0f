// Our SES v2 SendEmail bodies must equal what botocore serializes for the same input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "mailtrack/aws/sesv2.hpp"

namespace mailtrack::aws {
namespace {

using nlohmann::json;

json botocore_body(const json& params) {
    char path[] = "/tmp/mailtrack-sesv2-XXXXXX";
    const int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << params.dump();
    const std::string cmd = std::string(MAILTRACK_PYTHON3) + " " + MAILTRACK_SESV2_BODY_SCRIPT + " < " + path;
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0) << out;
    std::remove(path);
    return json::parse(out);
}

TEST(SesV2Body, SimpleWithTagsConfigurationSetAndListManagementMatchesBotocore) {
    SendEmailRequest r;
    r.from = "Sender Name <sender@example.com>";
    r.destination = {{"a@example.com"}, {"c@example.com"}, {"b@example.com"}};
    r.reply_to = {"reply@example.com"};
    r.content = SimpleEmail{"H\xc3\xa9llo \xe2\x9c\x93",
                            "plain",
                            "<p>html</p>",
                            "UTF-8",
                            {{"X-Campaign", "w1"}},
                            {{"a.txt", "bytes\x01\x02", "text/plain", "ATTACHMENT", "cid1"}}};
    r.configuration_set = "ConfigSet";
    r.tags = {{"campaign", "welcome"}, {"tenant", "t-1"}};
    r.list_contact_list = "newsletter";
    r.list_topic = "weekly";
    const json params = {
        {"FromEmailAddress", r.from},
        {"Destination",
         {{"ToAddresses", {"a@example.com"}}, {"CcAddresses", {"c@example.com"}}, {"BccAddresses", {"b@example.com"}}}},
        {"ReplyToAddresses", {"reply@example.com"}},
        {"Content",
         {{"Simple",
           {{"Subject", {{"Data", "H\xc3\xa9llo \xe2\x9c\x93"}, {"Charset", "UTF-8"}}},
            {"Body",
             {{"Text", {{"Data", "plain"}, {"Charset", "UTF-8"}}},
              {"Html", {{"Data", "<p>html</p>"}, {"Charset", "UTF-8"}}}}},
            {"Headers", {{{"Name", "X-Campaign"}, {"Value", "w1"}}}},
            // botocore takes blob bytes and base64-encodes them; JSON carries them as latin-1 text here
            {"Attachments",
             {{{"FileName", "a.txt"},
               {"RawContent", "__BYTES__"},
               {"ContentType", "text/plain"},
               {"ContentDisposition", "ATTACHMENT"},
               {"ContentId", "cid1"}}}}}}}},
        {"EmailTags", {{{"Name", "campaign"}, {"Value", "welcome"}}, {{"Name", "tenant"}, {"Value", "t-1"}}}},
        {"ConfigurationSetName", "ConfigSet"},
        {"ListManagementOptions", {{"ContactListName", "newsletter"}, {"TopicName", "weekly"}}}};
    json expected = botocore_body(params);
    // "__BYTES__" was base64-encoded by botocore as the string's bytes; put the real value in.
    expected["Content"]["Simple"]["Attachments"][0]["RawContent"] = "Ynl0ZXMBAg==";
    EXPECT_EQ(json::parse(send_email_body(r)), expected);
}

TEST(SesV2Body, RawAndTemplateMatchBotocore) {
    SendEmailRequest raw;
    raw.from = "sender@example.com";
    raw.destination.to = {"r@example.com"};
    raw.content = RawEmail{"Subject: x\r\n\r\nbody"};
    json expected = botocore_body({{"FromEmailAddress", "sender@example.com"},
                                   {"Destination", {{"ToAddresses", {"r@example.com"}}}},
                                   {"Content", {{"Raw", {{"Data", "Subject: x\r\n\r\nbody"}}}}}});
    EXPECT_EQ(json::parse(send_email_body(raw)), expected);

    SendEmailRequest t;
    t.from = "sender@example.com";
    t.destination.bcc = {"b@example.com"};
    t.content = TemplateEmail{"welcome", R"({"name":"Ann"})"};
    t.configuration_set = "cs";
    t.feedback_forwarding_address = "bounces@example.com";
    expected = botocore_body(
        {{"FromEmailAddress", "sender@example.com"},
         {"Destination", {{"BccAddresses", {"b@example.com"}}}},
         {"Content", {{"Template", {{"TemplateName", "welcome"}, {"TemplateData", R"({"name":"Ann"})"}}}}},
         {"ConfigurationSetName", "cs"},
         {"FeedbackForwardingEmailAddress", "bounces@example.com"}});
    EXPECT_EQ(json::parse(send_email_body(t)), expected);
}

}  // namespace
}  // namespace mailtrack::aws
