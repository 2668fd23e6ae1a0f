#include "mailtrack/ops/pipeline_setup.hpp"

#include <nlohmann/json.hpp>

namespace mailtrack::ops {
namespace {

using nlohmann::json;

template <typename T>
util::Result<T> step(const char* what, aws::Result<T> r) {
    if (!r) {
        util::Error e = aws::to_util_error(r.error());
        e.message = std::string(what) + ": " + e.message;
        return util::Unexpected(std::move(e));
    }
    return std::move(*r);
}

util::Result<void> step_void(const char* what, aws::Result<void> r) {
    if (!r) {
        util::Error e = aws::to_util_error(r.error());
        e.message = std::string(what) + ": " + e.message;
        return util::Unexpected(std::move(e));
    }
    return {};
}

util::Result<std::string> queue_arn(aws::SqsClient& sqs, const std::string& url) {
    MAILTRACK_TRY_ASSIGN(auto attrs, step("GetQueueAttributes", sqs.get_queue_attributes(url, {"QueueArn"})));
    const auto it = attrs.find("QueueArn");
    if (it == attrs.end() || it->second.empty()) {
        return util::fail(util::ErrorKind::internal, "GetQueueAttributes: no QueueArn for " + url);
    }
    return it->second;
}

}  // namespace

std::string queue_policy(const std::string& queue_arn, const std::string& topic_arn) {
    const json policy = {
        {"Version", "2012-10-17"},
        {"Statement", json::array({{{"Sid", "mailtrack-ses-events-topic"},
                                    {"Effect", "Allow"},
                                    {"Principal", {{"Service", "sns.amazonaws.com"}}},
                                    {"Action", "sqs:SendMessage"},
                                    {"Resource", queue_arn},
                                    {"Condition", {{"ArnEquals", {{"aws:SourceArn", topic_arn}}}}}}})}};
    return policy.dump();
}

util::Result<Pipeline> set_up_pipeline(aws::SqsClient& sqs, aws::SnsClient& sns, const PipelineSpec& spec) {
    Pipeline p;
    p.raw_delivery = spec.raw_delivery;

    MAILTRACK_TRY_ASSIGN(auto topic, step("CreateTopic", sns.create_topic(spec.topic_name)));
    p.topic_arn = std::move(topic);

    MAILTRACK_TRY_ASSIGN(auto dlq, step("CreateQueue (dead-letter queue)", sqs.create_queue(spec.dlq_name)));
    p.dlq_url = std::move(dlq);
    if (auto r = step_void(
            "SetQueueAttributes (dead-letter queue)",
            sqs.set_queue_attributes(p.dlq_url, {{"MessageRetentionPeriod", std::to_string(spec.dlq_retention_s)}}));
        !r) {
        return util::Unexpected(std::move(r).error());
    }
    MAILTRACK_TRY_ASSIGN(auto dlq_arn, queue_arn(sqs, p.dlq_url));
    p.dlq_arn = std::move(dlq_arn);

    MAILTRACK_TRY_ASSIGN(auto queue, step("CreateQueue", sqs.create_queue(spec.queue_name)));
    p.queue_url = std::move(queue);
    MAILTRACK_TRY_ASSIGN(auto arn, queue_arn(sqs, p.queue_url));
    p.queue_arn = std::move(arn);

    const json redrive = {{"deadLetterTargetArn", p.dlq_arn},
                          {"maxReceiveCount", std::to_string(spec.max_receive_count)}};
    if (auto r = step_void(
            "SetQueueAttributes",
            sqs.set_queue_attributes(p.queue_url, {{"RedrivePolicy", redrive.dump()},
                                                   {"VisibilityTimeout", std::to_string(spec.visibility_timeout_s)},
                                                   {"Policy", queue_policy(p.queue_arn, p.topic_arn)}}));
        !r) {
        return util::Unexpected(std::move(r).error());
    }

    // Subscribe answers an existing subscription's ARN only when the attributes given match it
    // (some implementations compare all of them). Ask with the wanted RawMessageDelivery first, then
    // with the other value to find one created before with it; SetSubscriptionAttributes then fixes it.
    const std::string wanted = spec.raw_delivery ? "true" : "false";
    auto sub = step("Subscribe", sns.subscribe(p.topic_arn, "sqs", p.queue_arn, {{"RawMessageDelivery", wanted}}));
    if (!sub) {
        sub = step("Subscribe", sns.subscribe(p.topic_arn, "sqs", p.queue_arn,
                                              {{"RawMessageDelivery", spec.raw_delivery ? "false" : "true"}}));
    }
    if (!sub) return util::Unexpected(std::move(sub).error());
    p.subscription_arn = std::move(*sub);
    if (auto r = step_void("SetSubscriptionAttributes",
                           sns.set_subscription_attributes(p.subscription_arn, "RawMessageDelivery",
                                                           spec.raw_delivery ? "true" : "false"));
        !r) {
        return util::Unexpected(std::move(r).error());
    }
    return p;
}

}  // namespace mailtrack::ops
