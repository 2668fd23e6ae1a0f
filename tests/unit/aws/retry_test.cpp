#include "mailtrack/aws/retry.hpp"

#include <gtest/gtest.h>

#include "mailtrack/aws/client.hpp"

namespace mailtrack::aws {
namespace {

using std::chrono::milliseconds;

TEST(Retry, FullJitterBackoffIsTruncatedExponential) {
    const RetryOptions o;
    EXPECT_EQ(backoff_delay(1, 0.5, o), milliseconds(500));
    EXPECT_EQ(backoff_delay(2, 0.5, o), milliseconds(1000));
    EXPECT_EQ(backoff_delay(3, 0.999, o), milliseconds(3996));
    EXPECT_EQ(backoff_delay(10, 1.0, o), milliseconds(20000));  // capped at 20 s
    EXPECT_EQ(backoff_delay(1, 0.0, o), milliseconds(0));
}

TEST(Retry, OnlyTransientKindsAreRetryable) {
    EXPECT_TRUE(is_retryable(Error{ErrorKind::timeout}));
    EXPECT_TRUE(is_retryable(Error{ErrorKind::connection}));
    EXPECT_TRUE(is_retryable(Error{ErrorKind::throttled}));
    EXPECT_TRUE(is_retryable(Error{ErrorKind::server}));
    EXPECT_FALSE(is_retryable(Error{ErrorKind::client}));
    EXPECT_FALSE(is_retryable(Error{ErrorKind::auth}));
    EXPECT_FALSE(is_retryable(Error{ErrorKind::parse}));
}

TEST(Retry, ClassifiesServiceSpecificThrottling) {
    EXPECT_EQ(classify(429, "Throttled"), ErrorKind::throttled);                 // SNS
    EXPECT_EQ(classify(429, "TooManyRequestsException"), ErrorKind::throttled);  // SES v2
    EXPECT_EQ(classify(400, "ThrottlingException"), ErrorKind::throttled);
    EXPECT_EQ(classify(403, "OverLimit"), ErrorKind::throttled);  // SQS in-flight limit
    EXPECT_EQ(classify(400, "LimitExceededException"), ErrorKind::throttled);
    EXPECT_EQ(classify(503, ""), ErrorKind::server);
    EXPECT_EQ(classify(400, "RequestTimeout"), ErrorKind::server);
    EXPECT_EQ(classify(403, "SignatureDoesNotMatch"), ErrorKind::auth);
    EXPECT_EQ(classify(400, "ExpiredTokenException"), ErrorKind::auth);
    EXPECT_EQ(classify(400, "InvalidParameterValue"), ErrorKind::client);
    EXPECT_EQ(classify(400, "MessageRejected"), ErrorKind::client);
    EXPECT_EQ(classify(404, "NotFound"), ErrorKind::client);
}

TEST(Retry, QuotaChargesRetriesAndRefundsSuccesses) {
    RetryOptions o;
    o.quota_capacity = 12;
    RetryQuota q(o);
    EXPECT_EQ(q.acquire(Error{ErrorKind::server}), 5);
    EXPECT_EQ(q.available(), 7);
    EXPECT_FALSE(q.acquire(Error{ErrorKind::timeout}).has_value());  // timeouts cost 10
    EXPECT_EQ(q.acquire(Error{ErrorKind::throttled}), 5);
    EXPECT_FALSE(q.acquire(Error{ErrorKind::server}).has_value());  // 2 left: exhausted
    q.release(5);
    EXPECT_EQ(q.available(), 7);
    q.on_success_without_retry();
    EXPECT_EQ(q.available(), 8);
    q.release(100);
    EXPECT_EQ(q.available(), 12);  // never above capacity
}

TEST(ErrorParsing, SqsJsonPrefersLegacyQueryCode) {
    HttpResponse r{
        400,
        {{"x-amzn-RequestId", "66916324"}, {"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}},
        R"({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."})"};
    const auto d = parse_json_error(r);
    EXPECT_EQ(d.code, "AWS.SimpleQueueService.NonExistentQueue");
    EXPECT_EQ(d.message, "The specified queue does not exist.");
    EXPECT_EQ(d.request_id, "66916324");
    r.headers.pop_back();
    EXPECT_EQ(parse_json_error(r).code, "QueueDoesNotExist");
}

TEST(ErrorParsing, RestJsonUsesErrorTypeHeader) {
    HttpResponse r{429,
                   {{"x-amzn-ErrorType", "TooManyRequestsException:http://internal"}, {"x-amzn-RequestId", "r1"}},
                   R"({"message":"Maximum sending rate exceeded."})"};
    const auto d = parse_rest_json_error(r);
    EXPECT_EQ(d.code, "TooManyRequestsException");
    EXPECT_EQ(d.message, "Maximum sending rate exceeded.");
    r.headers.clear();
    r.body = R"({"__type":"aws#NotFoundException","Message":"nope"})";
    EXPECT_EQ(parse_rest_json_error(r).code, "NotFoundException");
    EXPECT_EQ(parse_rest_json_error(r).message, "nope");
}

TEST(ErrorParsing, QueryXmlErrorResponse) {
    HttpResponse r{404, {}, R"(<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error>
  <RequestId>9dd01905</RequestId></ErrorResponse>)"};
    const auto d = parse_query_error(r);
    EXPECT_EQ(d.code, "NotFound");
    EXPECT_EQ(d.message, "Topic does not exist");
    EXPECT_EQ(d.request_id, "9dd01905");
    r.body = "not xml <";
    EXPECT_EQ(parse_query_error(r).code, "");
}

}  // namespace
}  // namespace mailtrack::aws
