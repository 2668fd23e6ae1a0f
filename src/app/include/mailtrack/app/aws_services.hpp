#pragma once

#include <memory>
#include <string>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/aws/curl_transport.hpp"
#include "mailtrack/aws/retry.hpp"
#include "mailtrack/aws/secretsmanager.hpp"
#include "mailtrack/aws/sesv2.hpp"
#include "mailtrack/aws/sns.hpp"
#include "mailtrack/aws/sqs.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::app {

// Where a resolved value came from, for `mailtrack aws check`.
struct Resolved {
    std::string value;
    std::string source;  // "config aws.region", "AWS_REGION", "profile default", "default"
};

// Region: aws.region setting, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region.
Resolved resolve_region(const config::Config& c, const aws::Environment& env);
// Endpoint for `service` ("sqs", "sns", "sesv2", "secretsmanager"): the service's mailtrack setting, else
// aws.endpoint_url, else AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else the AWS default
// for the region. mailtrack's own settings win because they are the more specific choice.
Resolved resolve_endpoint(const config::Config& c, const aws::Environment& env, std::string_view service,
                          const std::string& region);

// Everything the AWS clients need, wired from configuration and the environment. The clients
// are thread-safe; the object must outlive their use.
struct AwsServices {
    util::SystemClock clock;
    util::RealSleeper sleeper;
    aws::RandomJitter jitter;
    aws::RetryOptions retry;
    aws::RetryQuota quota;
    std::unique_ptr<aws::CurlTransport> transport;
    std::unique_ptr<aws::CredentialsProvider> credentials;
    Resolved region;
    Resolved sqs_endpoint, sns_endpoint, sesv2_endpoint, secretsmanager_endpoint;
    std::unique_ptr<aws::SqsClient> sqs;
    std::unique_ptr<aws::SnsClient> sns;
    std::unique_ptr<aws::SesV2Client> ses;
    std::unique_ptr<aws::SecretsManagerClient> secrets;

    AwsServices(std::uint64_t seed, aws::RetryOptions options) : jitter(seed), retry(options), quota(options) {}
};

// Errors (ErrorKind::config) when no region can be found.
util::Result<std::unique_ptr<AwsServices>> make_aws_services(const config::Config& c, const aws::Environment& env);

}  // namespace mailtrack::app
