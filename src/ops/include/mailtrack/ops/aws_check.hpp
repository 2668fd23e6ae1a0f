#pragma once

// `mailtrack aws check`: whether the credentials resolve and each service answers one cheap read.

#include <optional>
#include <string>
#include <vector>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/aws/sesv2.hpp"
#include "mailtrack/aws/sns.hpp"
#include "mailtrack/aws/sqs.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::ops {

struct AwsCheckTargets {
    std::vector<std::string> queue_urls;  // worker.queue_urls; each gets GetQueueAttributes
    std::string topic_arn;                // sns.events_topic_arn, else sns.alerts_topic_arn
};

// Where the credentials came from, never the secret: the access key id shortened to its first
// and last four characters.
struct CredentialsCheck {
    bool ok = false;
    std::string source;    // "environment", "instance profile", ...
    std::string key_hint;  // "AKIA...WXYZ"
    bool session_token = false;
    std::optional<util::UnixMillis> expiration;
    std::string error;  // when !ok
};

struct ServiceCheck {
    std::string service;  // "sqs", "ses", "sns"
    std::string what;     // the call, with its target: "GetQueueAttributes https://..."
    bool ok = false;
    std::string detail;  // what it answered, or the error
};

struct AwsCheckReport {
    CredentialsCheck credentials;
    std::vector<ServiceCheck> checks;  // none when the credentials do not resolve
    bool ok = false;                   // credentials and every check
};

struct AwsClients {
    aws::CredentialsProvider& credentials;
    aws::SqsClient& sqs;
    aws::SesV2Client& ses;
    aws::SnsClient& sns;
};

// A queue or topic that is not configured is a failed check naming the setting.
AwsCheckReport check_aws(const AwsClients& clients, const AwsCheckTargets& targets);

// "AKIA...WXYZ": the first and last four characters of an access key id (only the first four
// when it is eight or shorter).
std::string key_hint(const std::string& access_key_id);

}  // namespace mailtrack::ops
