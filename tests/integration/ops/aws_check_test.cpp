// `aws check`'s use case against the emulators: fauxqs (SQS, SNS) and aws-ses-v2-local (SES v2).
#include "mailtrack/ops/aws_check.hpp"

#include <gtest/gtest.h>

#include "aws/peer_test_support.hpp"

namespace mailtrack::ops {
namespace {

class NoCredentials final : public aws::CredentialsProvider {
public:
    aws::Result<aws::Credentials> credentials() override {
        return util::Unexpected(aws::Error{aws::ErrorKind::auth, 0, "", "no credentials: tried the environment", ""});
    }
};

class AwsCheck : public ::testing::Test {
protected:
    std::string sqs_url = testing::peer_url("MAILTRACK_TEST_FAUXQS_URL");
    std::string ses_url = testing::peer_url("MAILTRACK_TEST_SES_URL");
    testing::PeerContext ctx;
    aws::SqsClient sqs{ctx.context(), aws::ServiceEndpoint{sqs_url, "us-east-1", "sqs"}};
    aws::SnsClient sns{ctx.context(), aws::ServiceEndpoint{sqs_url, "us-east-1", "sns"}};
    aws::SesV2Client ses{ctx.context(), aws::ServiceEndpoint{ses_url, "us-east-1", "ses"}};
    AwsClients clients{ctx.creds, sqs, ses, sns};

    const ServiceCheck* find(const AwsCheckReport& r, std::string_view service) {
        for (const auto& c : r.checks) {
            if (c.service == service) return &c;
        }
        ADD_FAILURE() << "no " << service << " check";
        return nullptr;
    }
};

TEST_F(AwsCheck, EveryServiceAnswersAndTheKeyIsShownShortened) {
    auto queue = sqs.create_queue(testing::unique_name("mt-check"));
    ASSERT_TRUE(queue) << queue.error().describe();
    auto topic = sns.create_topic(testing::unique_name("mt-check"));
    ASSERT_TRUE(topic) << topic.error().describe();
    const auto r = check_aws(clients, {{*queue}, *topic});
    EXPECT_TRUE(r.ok);
    EXPECT_TRUE(r.credentials.ok);
    EXPECT_EQ(r.credentials.source, "test");
    EXPECT_EQ(r.credentials.key_hint, "test...");
    ASSERT_EQ(r.checks.size(), 3u);
    EXPECT_EQ(find(r, "sqs")->what, "GetQueueAttributes " + *queue);
    EXPECT_EQ(find(r, "sqs")->detail, "messages 0");
    EXPECT_NE(find(r, "ses")->detail.find("max send rate"), std::string::npos);
    EXPECT_EQ(find(r, "sns")->what, "GetTopicAttributes " + *topic);
    EXPECT_EQ(key_hint("AKIAIOSFODNN7EXAMPLE"), "AKIA...MPLE");
}

TEST_F(AwsCheck, AMissingQueueOrUnsetSettingFailsItsCheckAndTheReport) {
    auto queue = sqs.create_queue(testing::unique_name("mt-check"));
    ASSERT_TRUE(queue);
    const auto missing = check_aws(clients, {{*queue + "-missing"}, ""});
    EXPECT_FALSE(missing.ok);
    EXPECT_FALSE(find(missing, "sqs")->ok);
    EXPECT_FALSE(find(missing, "sns")->ok);
    EXPECT_EQ(find(missing, "sns")->detail, "sns.events_topic_arn / sns.alerts_topic_arn not set");
    EXPECT_TRUE(find(missing, "ses")->ok);

    const auto unset = check_aws(clients, {{}, ""});
    EXPECT_EQ(find(unset, "sqs")->detail, "worker.queue_urls is not set");
}

TEST_F(AwsCheck, NoCredentialsMeansNoCallsAndTheReasonIsReported) {
    NoCredentials none;
    const auto r = check_aws({none, sqs, ses, sns}, {{"http://unused"}, "arn:unused"});
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.credentials.ok);
    EXPECT_NE(r.credentials.error.find("no credentials"), std::string::npos);
    EXPECT_TRUE(r.checks.empty());
}

}  // namespace
}  // namespace mailtrack::ops
