#pragma once

#include <string>

#include "mailtrack/aws/sns.hpp"
#include "mailtrack/aws/sqs.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::ops {

// What `mailtrack setup` creates.
struct PipelineSpec {
    std::string topic_name = "mailtrack-ses-events";
    std::string queue_name = "mailtrack-ses-events";
    std::string dlq_name = "mailtrack-ses-events-dlq";
    bool raw_delivery = false;             // SNS RawMessageDelivery: the SES JSON without the SNS envelope
    int max_receive_count = 5;             // redrive policy: receives before SQS moves a message to the DLQ
    int visibility_timeout_s = 60;         // the queue's default
    int dlq_retention_s = 14 * 24 * 3600;  // the most SQS allows, so dead letters wait for a fix
};

// What exists afterwards.
struct Pipeline {
    std::string topic_arn;
    std::string queue_url;
    std::string queue_arn;
    std::string dlq_url;
    std::string dlq_arn;
    std::string subscription_arn;
    bool raw_delivery = false;
};

// Creates, or brings up to date, the SES events topic, the SQS queue with its dead-letter queue
// and redrive policy, a queue policy that lets only that topic send (aws:SourceArn), and the
// topic's subscription to the queue. Idempotent: existing resources are reused and their
// attributes set again (CreateQueue is called without attributes, which never conflicts, then
// SetQueueAttributes; RawMessageDelivery is set again after Subscribe). Errors name the step that failed.
util::Result<Pipeline> set_up_pipeline(aws::SqsClient& sqs, aws::SnsClient& sns, const PipelineSpec& spec);

// The queue policy document set_up_pipeline() installs.
std::string queue_policy(const std::string& queue_arn, const std::string& topic_arn);

}  // namespace mailtrack::ops
