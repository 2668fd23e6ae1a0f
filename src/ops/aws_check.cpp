#include "mailtrack/ops/aws_check.hpp"

#include <fmt/core.h>

namespace mailtrack::ops {

std::string key_hint(const std::string& id) {
    return id.substr(0, 4) + "..." + (id.size() > 8 ? id.substr(id.size() - 4) : "");
}

AwsCheckReport check_aws(const AwsClients& clients, const AwsCheckTargets& targets) {
    AwsCheckReport report;
    auto creds = clients.credentials.credentials();
    if (!creds) {
        report.credentials.error = creds.error().describe();
        return report;
    }
    report.credentials = {
        true, creds->source, key_hint(creds->access_key_id), !creds->session_token.empty(), creds->expiration, {}};
    auto verdict = [&](std::string service, std::string what, bool ok, std::string detail) {
        report.checks.push_back({std::move(service), std::move(what), ok, std::move(detail)});
    };
    if (targets.queue_urls.empty()) verdict("sqs", "GetQueueAttributes", false, "worker.queue_urls is not set");
    for (const auto& queue : targets.queue_urls) {
        auto a = clients.sqs.get_queue_attributes(queue, {"ApproximateNumberOfMessages", "QueueArn"});
        verdict("sqs", "GetQueueAttributes " + queue, static_cast<bool>(a),
                a ? "messages " + (*a)["ApproximateNumberOfMessages"] : a.error().describe());
    }
    auto account = clients.ses.get_account();
    verdict("ses", "GetAccount", static_cast<bool>(account),
            account ? fmt::format("max send rate {}/s, {} of {} sent in 24 h, sending {}", account->max_send_rate,
                                  account->sent_last_24_hours, account->max_24_hour_send,
                                  account->sending_enabled ? "enabled" : "DISABLED")
                    : account.error().describe());
    if (targets.topic_arn.empty()) {
        verdict("sns", "GetTopicAttributes", false, "sns.events_topic_arn / sns.alerts_topic_arn not set");
    } else {
        auto t = clients.sns.get_topic_attributes(targets.topic_arn);
        verdict("sns", "GetTopicAttributes " + targets.topic_arn, static_cast<bool>(t),
                t ? "subscriptions " + (*t)["SubscriptionsConfirmed"] : t.error().describe());
    }
    report.ok = true;
    for (const auto& c : report.checks) report.ok = report.ok && c.ok;
    return report;
}

}  // namespace mailtrack::ops
