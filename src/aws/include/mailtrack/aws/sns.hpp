#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mailtrack/aws/client.hpp"
#include "mailtrack/aws/sqs.hpp"

namespace mailtrack::aws {

struct PublishRequest {
    std::string topic_arn;
    std::string message;
    std::string subject;            // optional (email subscriptions); ASCII, < 100 chars
    std::string message_structure;  // "json" to send per-protocol messages
    MessageAttributes attributes;
    std::string message_group_id;          // FIFO topics
    std::string message_deduplication_id;  // FIFO topics
};

struct PublishEntry {
    std::string id;
    std::string message;
    std::string subject;
    MessageAttributes attributes;
    std::string message_group_id;
    std::string message_deduplication_id;
};

struct Published {
    std::string id;  // batch entry id (empty for Publish)
    std::string message_id;
    std::string sequence_number;
};

struct PublishBatchOutcome {
    std::vector<Published> successful;
    std::vector<BatchFailure> failed;
};

// Amazon SNS over the Query protocol (form-encoded requests, XML responses). Thread-safe.
class SnsClient {
public:
    SnsClient(ClientContext context, ServiceEndpoint endpoint);

    Result<Published> publish(const PublishRequest& request);
    Result<PublishBatchOutcome> publish_batch(const std::string& topic_arn, const std::vector<PublishEntry>& entries);
    // Returns the topic ARN (idempotent for an existing name with the same attributes).
    Result<std::string> create_topic(const std::string& name, const std::map<std::string, std::string>& attributes = {},
                                     const std::vector<std::pair<std::string, std::string>>& tags = {});
    Result<std::map<std::string, std::string>> get_topic_attributes(const std::string& topic_arn);
    // Returns the subscription ARN (ReturnSubscriptionArn=true, so never "pending confirmation"
    // for protocols that confirm themselves such as sqs).
    Result<std::string> subscribe(const std::string& topic_arn, const std::string& protocol,
                                  const std::string& endpoint,
                                  const std::map<std::string, std::string>& attributes = {});
    Result<void> set_subscription_attributes(const std::string& subscription_arn, const std::string& name,
                                             const std::string& value);

    const ServiceEndpoint& endpoint() const noexcept { return m_client.endpoint(); }

private:
    AwsClient m_client;
};

// application/x-www-form-urlencoded value encoding as botocore emits it (space as '+').
std::string form_encode(std::string_view value);

}  // namespace mailtrack::aws
