#include "mailtrack/adapters/sqs_queue_client.hpp"

#include <gtest/gtest.h>

namespace mailtrack::adapters {
namespace {

using worker::QueueErrorKind;

worker::QueueError map(aws::ErrorKind kind, int status = 0, std::string code = {}) {
    return to_queue_error(aws::Error{kind, status, std::move(code), "msg", "req-1"});
}

TEST(SqsQueueClient, MapsAwsErrorKindsToQueueErrorsWithTheRetryPolicy) {
    EXPECT_EQ(map(aws::ErrorKind::timeout).kind, QueueErrorKind::timeout);
    EXPECT_TRUE(map(aws::ErrorKind::timeout).retryable);
    EXPECT_EQ(map(aws::ErrorKind::connection).kind, QueueErrorKind::connection);
    EXPECT_TRUE(map(aws::ErrorKind::connection).retryable);
    EXPECT_EQ(map(aws::ErrorKind::throttled, 400, "ThrottlingException").kind, QueueErrorKind::throttled);
    EXPECT_TRUE(map(aws::ErrorKind::throttled).retryable);
    EXPECT_EQ(map(aws::ErrorKind::server, 503).kind, QueueErrorKind::http_status);
    EXPECT_TRUE(map(aws::ErrorKind::server, 503).retryable);
    EXPECT_EQ(map(aws::ErrorKind::auth, 403).kind, QueueErrorKind::auth);
    EXPECT_FALSE(map(aws::ErrorKind::auth, 403).retryable);
    EXPECT_EQ(map(aws::ErrorKind::client, 400, "AWS.SimpleQueueService.NonExistentQueue").kind,
              QueueErrorKind::queue_missing);
    EXPECT_EQ(map(aws::ErrorKind::client, 400, "QueueDoesNotExist").kind, QueueErrorKind::queue_missing);
    EXPECT_EQ(map(aws::ErrorKind::client, 400, "InvalidParameterValue").kind, QueueErrorKind::invalid_request);
    EXPECT_FALSE(map(aws::ErrorKind::client, 400).retryable);
    EXPECT_EQ(map(aws::ErrorKind::parse).kind, QueueErrorKind::parse);
    EXPECT_FALSE(map(aws::ErrorKind::parse).retryable);

    const auto e = map(aws::ErrorKind::client, 400, "QueueDoesNotExist");
    EXPECT_EQ(e.http_status, 400);
    EXPECT_EQ(e.aws_code, "QueueDoesNotExist");
    EXPECT_EQ(e.request_id, "req-1");
    EXPECT_EQ(e.message, "msg");
}

}  // namespace
}  // namespace mailtrack::adapters
