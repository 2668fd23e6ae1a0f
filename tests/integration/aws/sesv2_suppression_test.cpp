// SES v2 suppression-list operations. Neither aws-ses-v2-local nor moto implements them, so
// these run against the test's own loopback server: the requests must have the shape the
// SES v2 model (botocore) gives them, and the canned responses follow the model.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mailtrack/aws/curl_transport.hpp"
#include "mailtrack/aws/sesv2.hpp"

#include "fakes.hpp"
#include "loopback_http_server.hpp"

namespace mailtrack::aws {
namespace {

using nlohmann::json;
using testing::TestRequest;
using testing::TestResponse;

struct Fixture {
    util::ManualClock clock{1700000000000};
    CurlTransport transport;
    StaticCredentialsProvider creds{Credentials{"AKID", "s", "", std::nullopt, "test"}};
    testing::RecordingSleeper sleeper;
    testing::FixedJitter jitter{0.0};
    RetryOptions retry;
    RetryQuota quota{retry};
    ClientContext context() { return {transport, creds, clock, sleeper, jitter, quota, retry}; }
};

TEST(SesV2Suppression, PutGetDeleteAndPaginatedList) {
    testing::LoopbackHttpServer server([](const TestRequest& r) -> TestResponse {
        if (r.method == "PUT" && r.target == "/v2/email/suppression/addresses") return {200, {}, "{}"};
        if (r.method == "GET" && r.target == "/v2/email/suppression/addresses/a%2Bb%40example.com") {
            return {200,
                    {},
                    R"({"SuppressedDestination":{"EmailAddress":"a+b@example.com","Reason":"BOUNCE",)"
                    R"("LastUpdateTime":1700000000.5,"Attributes":{"MessageId":"m-1","FeedbackId":"f-1"}}})"};
        }
        if (r.method == "GET" && r.target == "/v2/email/suppression/addresses/missing%40example.com") {
            return {404,
                    {{"x-amzn-ErrorType", "NotFoundException"}, {"x-amzn-RequestId", "rq"}},
                    R"({"message":"not found"})"};
        }
        if (r.method == "DELETE" && r.target == "/v2/email/suppression/addresses/a%2Bb%40example.com")
            return {200, {}, "{}"};
        if (r.method == "GET" && r.target.rfind("/v2/email/suppression/addresses?", 0) == 0) {
            if (r.target.find("NextToken=page2") == std::string::npos) {
                return {
                    200,
                    {},
                    R"({"SuppressedDestinationSummaries":[{"EmailAddress":"x@example.com","Reason":"BOUNCE","LastUpdateTime":1.0}],"NextToken":"page2"})"};
            }
            return {
                200,
                {},
                R"({"SuppressedDestinationSummaries":[{"EmailAddress":"y@example.com","Reason":"COMPLAINT","LastUpdateTime":2.0}]})"};
        }
        return {400, {{"x-amzn-ErrorType", "BadRequestException"}}, R"({"message":"unexpected request"})"};
    });
    Fixture f;
    SesV2Client ses(f.context(), ServiceEndpoint{server.url(), "us-east-1", "ses"});

    ASSERT_TRUE(ses.put_suppressed_destination("a+b@example.com", "BOUNCE"));
    EXPECT_EQ(json::parse(server.requests().back().body),
              json({{"EmailAddress", "a+b@example.com"}, {"Reason", "BOUNCE"}}));
    EXPECT_EQ(server.requests().back().header("Content-Type"), "application/json");
    EXPECT_NE(server.requests().back().header("Authorization").find("/us-east-1/ses/aws4_request"), std::string::npos);

    auto got = ses.get_suppressed_destination("a+b@example.com");
    ASSERT_TRUE(got) << got.error().describe();
    EXPECT_EQ(got->reason, "BOUNCE");
    EXPECT_EQ(got->last_update_time, 1700000000500);
    EXPECT_EQ(got->message_id, "m-1");

    auto missing = ses.get_suppressed_destination("missing@example.com");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ErrorKind::client);
    EXPECT_EQ(missing.error().http_status, 404);
    EXPECT_EQ(missing.error().code, "NotFoundException");

    ASSERT_TRUE(ses.delete_suppressed_destination("a+b@example.com"));

    ListSuppressedRequest req;
    req.reasons = {"BOUNCE", "COMPLAINT"};
    req.start = 1700000000000;
    req.page_size = 1;
    auto all = ses.list_all_suppressed_destinations(req);
    ASSERT_TRUE(all) << all.error().describe();
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[1].email_address, "y@example.com");
    const auto reqs = server.requests();
    EXPECT_EQ(
        reqs[reqs.size() - 2].target,
        "/v2/email/suppression/addresses?Reason=BOUNCE&Reason=COMPLAINT&StartDate=2023-11-14T22%3A13%3A20Z&PageSize=1");
}

}  // namespace
}  // namespace mailtrack::aws
