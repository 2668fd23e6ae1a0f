// The ReceiveMessage answer parser (AWS JSON 1.0): what the worker reads every message through.
#include <gtest/gtest.h>

#include "mailtrack/aws/sqs.hpp"

namespace mailtrack::aws {
namespace {

TEST(SqsReceiveParse, ReadsEveryFieldOfEveryMessage) {
    const std::string body = R"({"Messages":[
      {"MessageId":"m-1","ReceiptHandle":"rh-1","MD5OfBody":"abc","Body":"{\"Type\":\"Notification\",\"x\":\"caf\u00e9 \\\" q\"}",
       "Attributes":{"ApproximateReceiveCount":"3","SentTimestamp":"1700000000123","Ignored":7},
       "MessageAttributes":{"trace":{"DataType":"String","StringValue":"t-9"},"bin":{"DataType":"Binary","BinaryValue":"AAE="}}},
      {"MessageId":"m-2","ReceiptHandle":"rh-2","Body":""}]})";
    auto r = parse_receive_message_response(body);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_EQ(r->size(), 2u);
    const SqsMessage& m = (*r)[0];
    EXPECT_EQ(m.message_id, "m-1");
    EXPECT_EQ(m.receipt_handle, "rh-1");
    EXPECT_EQ(m.md5_of_body, "abc");
    EXPECT_EQ(m.body, "{\"Type\":\"Notification\",\"x\":\"caf\xC3\xA9 \\\" q\"}");
    EXPECT_EQ(m.receive_count(), 3);
    EXPECT_EQ(m.sent_timestamp(), 1700000000123);
    EXPECT_EQ(m.attributes.count("Ignored"), 0u);  // not a string: skipped
    ASSERT_EQ(m.message_attributes.size(), 2u);
    EXPECT_EQ(m.message_attributes.at("trace").string_value, "t-9");
    EXPECT_EQ(m.message_attributes.at("bin").data_type, "Binary");
    EXPECT_EQ(m.message_attributes.at("bin").binary_value, "AAE=");
    EXPECT_EQ((*r)[1].body, "");
    EXPECT_FALSE((*r)[1].receive_count().has_value());
}

TEST(SqsReceiveParse, AnEmptyQueueIsNoMessages) {
    for (const char* body : {"{}", R"({"Messages":null})", R"({"Messages":[]})"}) {
        auto r = parse_receive_message_response(body);
        ASSERT_TRUE(r.has_value()) << body;
        EXPECT_TRUE(r->empty()) << body;
    }
}

TEST(SqsReceiveParse, MalformedAnswersAreParseErrorsNamingTheProblem) {
    struct Case {
        const char* body;
        const char* says;
    };
    for (const Case& c : {Case{"<xml/>", "not JSON"}, Case{R"({"Messages":{}})", "Messages is not an array"},
                          Case{R"({"Messages":[7]})", "a message is not an object"},
                          Case{R"({"Messages":[{"MessageId":"m","Body":"b"}]})", "no ReceiptHandle"},
                          Case{R"({"Messages":[{"MessageId":"m","ReceiptHandle":""}]})", "no ReceiptHandle"},
                          Case{R"({"Messages":[{"ReceiptHandle":"h","Body":{"a":1}}]})", "Body is not a string"},
                          Case{R"({"Messages":[{"ReceiptHandle":"h","Body":"x"})", "not JSON"}}) {
        auto r = parse_receive_message_response(c.body);
        ASSERT_FALSE(r.has_value()) << c.body;
        EXPECT_EQ(r.error().kind, ErrorKind::parse) << c.body;
        EXPECT_NE(r.error().message.find(c.says), std::string::npos) << c.body << " -> " << r.error().message;
    }
}

}  // namespace
TEST(SqsBatchParse, ReadsSuccessfulAndFailedEntriesWithTheirFault) {
    auto r = parse_batch_outcome(R"({"Successful":[{"Id":"0"},{"Id":"2"}],
      "Failed":[{"Id":"1","Code":"ReceiptHandleIsInvalid","Message":"stale \u00e9","SenderFault":true},
                {"Id":"3","Code":"InternalError","SenderFault":false},{"Id":"4","Code":"X"}]})",
                                 "DeleteMessageBatch");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->successful, (std::vector<std::string>{"0", "2"}));
    ASSERT_EQ(r->failed.size(), 3u);
    EXPECT_EQ(r->failed[0].id, "1");
    EXPECT_EQ(r->failed[0].code, "ReceiptHandleIsInvalid");
    EXPECT_EQ(r->failed[0].message, "stale \xC3\xA9");
    EXPECT_TRUE(r->failed[0].sender_fault);
    EXPECT_FALSE(r->failed[1].sender_fault);
    EXPECT_FALSE(r->failed[2].sender_fault);  // absent: not the sender's fault
    auto empty = parse_batch_outcome("", "DeleteMessageBatch");
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->successful.empty() && empty->failed.empty());
    for (const char* bad : {"[1]", "{\"Successful\":", "nope"}) {
        auto e = parse_batch_outcome(bad, "ChangeMessageVisibilityBatch");
        ASSERT_FALSE(e.has_value()) << bad;
        EXPECT_EQ(e.error().kind, ErrorKind::parse);
        EXPECT_NE(e.error().message.find("ChangeMessageVisibilityBatch"), std::string::npos);
    }
}

}  // namespace mailtrack::aws
