// SQS (JSON 1.0) and SNS (Query/XML) clients against two independent emulators, fauxqs and
// moto, plus interop with the AWS CLI as an independent client.
#include <nlohmann/json.hpp>

#include "mailtrack/aws/sns.hpp"
#include "mailtrack/aws/sqs.hpp"

#include "peer_test_support.hpp"

namespace mailtrack::aws {
namespace {

using nlohmann::json;
using testing::PeerContext;

class SqsSnsPeer : public ::testing::TestWithParam<const char*> {
protected:
    std::string url() { return testing::peer_url(GetParam()); }
    SqsClient sqs() { return SqsClient(ctx.context(), ServiceEndpoint{url(), "us-east-1", "sqs"}); }
    SnsClient sns() { return SnsClient(ctx.context(), ServiceEndpoint{url(), "us-east-1", "sns"}); }

    // Receives until `want` messages arrived or a few empty polls passed.
    std::vector<SqsMessage> receive(SqsClient& c, const std::string& q, std::size_t want, int visibility = 30) {
        std::vector<SqsMessage> all;
        for (int i = 0; i < 10 && all.size() < want; ++i) {
            ReceiveMessageRequest r{q, 10, 1, visibility};
            auto got = c.receive_message(r);
            EXPECT_TRUE(got) << got.error().describe();
            if (!got) break;
            all.insert(all.end(), got->begin(), got->end());
        }
        return all;
    }
    PeerContext ctx;
};

TEST_P(SqsSnsPeer, QueueLifecycleSendReceiveVisibilityDelete) {
    auto c = sqs();
    const std::string name = testing::unique_name("mt-q");
    auto q = c.create_queue(name, {{"VisibilityTimeout", "45"}});
    ASSERT_TRUE(q) << q.error().describe();
    auto again = c.get_queue_url(name);
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(*again, *q);

    ASSERT_TRUE(c.set_queue_attributes(*q, {{"VisibilityTimeout", "60"}, {"MessageRetentionPeriod", "3600"}}));
    auto attrs = c.get_queue_attributes(*q, {"All"});
    ASSERT_TRUE(attrs) << attrs.error().describe();
    EXPECT_EQ((*attrs)["VisibilityTimeout"], "60");
    EXPECT_EQ((*attrs)["MessageRetentionPeriod"], "3600");
    EXPECT_FALSE((*attrs)["QueueArn"].empty());

    SendMessageRequest one{
        *q, "h\xc3\xa9llo {\"k\":1}", std::nullopt, {{"kind", {"String", "bounce", ""}}, {"n", {"Number", "3", ""}}}};
    auto sent = c.send_message(one);
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(sent->md5_of_body.size(), 32u);
    auto batch =
        c.send_message_batch(*q, {{"a", "first", std::nullopt, {}, "", ""}, {"b", "second", std::nullopt, {}, "", ""}});
    ASSERT_TRUE(batch) << batch.error().describe();
    EXPECT_EQ(batch->successful.size(), 2u);
    EXPECT_TRUE(batch->failed.empty());

    auto msgs = receive(c, *q, 3);
    ASSERT_EQ(msgs.size(), 3u);
    const SqsMessage* first = nullptr;
    for (const auto& m : msgs) {
        EXPECT_EQ(m.receive_count(), 1);
        ASSERT_TRUE(m.sent_timestamp().has_value());
        EXPECT_GT(*m.sent_timestamp(), 1600000000000);  // epoch milliseconds
        if (m.message_id == sent->message_id) first = &m;
    }
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->body, one.body);
    EXPECT_EQ(first->message_attributes.at("kind").string_value, "bounce");
    EXPECT_EQ(first->message_attributes.at("n").data_type, "Number");

    // Make one visible again at once, extend the others as a batch.
    ASSERT_TRUE(c.change_message_visibility(*q, msgs[0].receipt_handle, 0));
    auto vis =
        c.change_message_visibility_batch(*q, {{"x", msgs[1].receipt_handle, 120}, {"y", msgs[2].receipt_handle, 120}});
    ASSERT_TRUE(vis) << vis.error().describe();
    EXPECT_EQ(vis->successful.size(), 2u);
    auto back = receive(c, *q, 1);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].message_id, msgs[0].message_id);
    EXPECT_EQ(back[0].receive_count(), 2);

    auto del = c.delete_message_batch(
        *q, {{"0", back[0].receipt_handle}, {"1", msgs[1].receipt_handle}, {"2", msgs[2].receipt_handle}});
    ASSERT_TRUE(del) << del.error().describe();
    EXPECT_EQ(del->successful.size() + del->failed.size(), 3u);
    EXPECT_EQ(del->successful.size(), 3u);
}

TEST_P(SqsSnsPeer, DeleteBatchReportsPerEntryFailures) {
    auto c = sqs();
    auto q = c.create_queue(testing::unique_name("mt-fail"));
    ASSERT_TRUE(q);
    ASSERT_TRUE(c.send_message({*q, "x"}));
    auto msgs = receive(c, *q, 1);
    ASSERT_EQ(msgs.size(), 1u);
    auto del = c.delete_message_batch(*q, {{"good", msgs[0].receipt_handle}, {"bad", "not-a-receipt-handle"}});
    ASSERT_TRUE(del) << del.error().describe();
    if (std::string(GetParam()).find("FAUXQS") != std::string::npos) {
        // fauxqs 1.9 accepts any receipt handle in DeleteMessageBatch (emulator leniency); the
        // per-entry failure path is exercised against moto.
        EXPECT_EQ(del->successful.size(), 2u);
        return;
    }
    EXPECT_EQ(del->successful, std::vector<std::string>{"good"});
    ASSERT_EQ(del->failed.size(), 1u);
    EXPECT_EQ(del->failed[0].id, "bad");
    EXPECT_FALSE(del->failed[0].code.empty());
}

TEST_P(SqsSnsPeer, MissingQueueIsATypedClientError) {
    auto c = sqs();
    auto r = c.get_queue_url("mt-does-not-exist");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::client);
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_TRUE(r.error().code == "AWS.SimpleQueueService.NonExistentQueue" || r.error().code == "QueueDoesNotExist")
        << r.error().code;
}

TEST_P(SqsSnsPeer, InteropWithTheAwsCli) {
    auto c = sqs();
    auto q = c.create_queue(testing::unique_name("mt-cli"));
    ASSERT_TRUE(q);
    const std::string aws = "aws --endpoint-url " + url() + " --region us-east-1 --output json sqs ";
    // Ours -> CLI.
    ASSERT_TRUE(c.send_message({*q, "from mailtrack \xe2\x9c\x93"}));
    int status = 0;
    const std::string out =
        testing::run(aws + "receive-message --wait-time-seconds 1 --queue-url " + testing::shell_quote(*q), &status);
    ASSERT_EQ(status, 0) << out;
    const auto j = json::parse(out);
    ASSERT_EQ(j.at("Messages").size(), 1u);
    EXPECT_EQ(j["Messages"][0]["Body"], "from mailtrack \xe2\x9c\x93");
    // CLI -> ours.
    testing::run(aws + "send-message --queue-url " + testing::shell_quote(*q) + " --message-body 'from the cli'",
                 &status);
    ASSERT_EQ(status, 0);
    bool seen = false;
    for (const auto& m : receive(c, *q, 2, 0)) seen = seen || m.body == "from the cli";
    EXPECT_TRUE(seen);
}

TEST_P(SqsSnsPeer, PublishReachesSubscribedQueuesEnvelopedAndRaw) {
    auto q = sqs();
    auto t = sns();
    auto topic = t.create_topic(testing::unique_name("mt-topic"), {{"DisplayName", "mailtrack"}}, {{"team", "mail"}});
    ASSERT_TRUE(topic) << topic.error().describe();
    auto tattrs = t.get_topic_attributes(*topic);
    ASSERT_TRUE(tattrs) << tattrs.error().describe();
    EXPECT_EQ((*tattrs)["TopicArn"], *topic);
    EXPECT_EQ((*tattrs)["DisplayName"], "mailtrack");

    auto enveloped = q.create_queue(testing::unique_name("mt-env"));
    auto raw = q.create_queue(testing::unique_name("mt-raw"));
    ASSERT_TRUE(enveloped && raw);
    auto arn_of = [&](const std::string& url) { return (*q.get_queue_attributes(url, {"QueueArn"}))["QueueArn"]; };
    auto s1 = t.subscribe(*topic, "sqs", arn_of(*enveloped));
    ASSERT_TRUE(s1) << s1.error().describe();
    auto s2 = t.subscribe(*topic, "sqs", arn_of(*raw), {{"RawMessageDelivery", "false"}});
    ASSERT_TRUE(s2) << s2.error().describe();
    ASSERT_TRUE(t.set_subscription_attributes(*s2, "RawMessageDelivery", "true"));

    const std::string event = R"({"eventType":"Delivery","mail":{"messageId":"m-1"}})";
    auto pub = t.publish({*topic, event, "ses event", "", {{"kind", {"String", "delivery", ""}}}});
    ASSERT_TRUE(pub) << pub.error().describe();
    EXPECT_FALSE(pub->message_id.empty());
    auto batch = t.publish_batch(*topic, {{"e1", "batch one", "", {}, "", ""}, {"e2", "batch two", "", {}, "", ""}});
    ASSERT_TRUE(batch) << batch.error().describe();
    EXPECT_EQ(batch->successful.size(), 2u);
    EXPECT_TRUE(batch->failed.empty());

    auto env_msgs = receive(q, *enveloped, 3);
    ASSERT_EQ(env_msgs.size(), 3u);
    bool found = false;
    for (const auto& m : env_msgs) {
        const auto j = json::parse(m.body);
        EXPECT_EQ(j.at("Type"), "Notification");
        EXPECT_EQ(j.at("TopicArn"), *topic);
        if (j.at("Message") == event) {
            found = true;
            EXPECT_EQ(j.at("MessageId"), pub->message_id);
            EXPECT_EQ(j.at("Subject"), "ses event");
        }
    }
    EXPECT_TRUE(found);
    auto raw_msgs = receive(q, *raw, 3);
    ASSERT_EQ(raw_msgs.size(), 3u);
    std::vector<std::string> bodies;
    for (const auto& m : raw_msgs) bodies.push_back(m.body);
    std::sort(bodies.begin(), bodies.end());
    std::vector<std::string> expected{event, "batch one", "batch two"};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(bodies, expected);
}

TEST_P(SqsSnsPeer, MissingTopicIsATypedError) {
    auto t = sns();
    auto r = t.get_topic_attributes("arn:aws:sns:us-east-1:000000000000:mt-nope");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::client);
    EXPECT_EQ(r.error().code, "NotFound");
}

INSTANTIATE_TEST_SUITE_P(Peers, SqsSnsPeer, ::testing::Values("MAILTRACK_TEST_FAUXQS_URL", "MAILTRACK_TEST_MOTO_URL"),
                         [](const auto& param_info) {
                             return std::string(param_info.param).find("FAUXQS") != std::string::npos ? "fauxqs"
                                                                                                      : "moto";
                         });

}  // namespace
}  // namespace mailtrack::aws
