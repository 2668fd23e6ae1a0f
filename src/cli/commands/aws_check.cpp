// `mailtrack aws check`: region, credential source, endpoints, and one cheap read per service.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/util/time.hpp"

#include "../context.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;
using util::format_timestamp;

// One line per fact, then one cheap read per service with a verdict. Never prints a secret.
int cmd_aws_check(const GlobalOptions& g) {
    auto services = open_services(g);
    const config::Config& c = services->config();
    app::AwsServices* s = &require_aws(*services);
    json out = json::object();
    auto line = [&](const std::string& label, const std::string& value) {
        if (!g.json) std::cout << fmt::format("{:<14}{}\n", label, value);
    };
    line("region", s->region.value + "  (" + s->region.source + ")");
    out["region"] = {{"value", s->region.value}, {"source", s->region.source}};
    auto creds = s->credentials->credentials();
    if (creds) {
        std::string key =
            creds->access_key_id.substr(0, 4) + "..." +
            (creds->access_key_id.size() > 8 ? creds->access_key_id.substr(creds->access_key_id.size() - 4) : "");
        line("credentials", creds->source + "  (key " + key + (creds->session_token.empty() ? "" : ", session token") +
                                (creds->expiration ? ", expires " + format_timestamp(*creds->expiration) : "") + ")");
        out["credentials"] = {{"ok", true}, {"source", creds->source}};
    } else {
        line("credentials", "FAIL  " + creds.error().describe());
        out["credentials"] = {{"ok", false}, {"error", creds.error().describe()}};
    }
    line("sqs endpoint", s->sqs_endpoint.value + "  (" + s->sqs_endpoint.source + ")");
    line("sns endpoint", s->sns_endpoint.value + "  (" + s->sns_endpoint.source + ")");
    line("ses endpoint", s->sesv2_endpoint.value + "  (" + s->sesv2_endpoint.source + ")");
    out["endpoints"] = {
        {"sqs", s->sqs_endpoint.value}, {"sns", s->sns_endpoint.value}, {"sesv2", s->sesv2_endpoint.value}};

    bool all_ok = static_cast<bool>(creds);
    json checks = json::array();
    auto verdict = [&](const std::string& name, const std::string& what, bool ok, const std::string& detail) {
        all_ok = all_ok && ok;
        line(name, std::string(ok ? "OK    " : "FAIL  ") + what + (detail.empty() ? "" : "  " + detail));
        checks.push_back({{"check", name}, {"ok", ok}, {"what", what}, {"detail", detail}});
    };
    if (creds) {
        const auto queues = c.typed().worker.queue_urls;
        if (queues.empty()) verdict("sqs", "GetQueueAttributes", false, "worker.queue_urls is not set");
        for (const auto& queue : queues) {
            auto a = s->sqs->get_queue_attributes(queue, {"ApproximateNumberOfMessages", "QueueArn"});
            verdict("sqs", "GetQueueAttributes " + queue, static_cast<bool>(a),
                    a ? "messages " + (*a)["ApproximateNumberOfMessages"] : a.error().describe());
        }
        auto acct = s->ses->get_account();
        verdict("ses", "GetAccount", static_cast<bool>(acct),
                acct ? fmt::format("max send rate {}/s, {} of {} sent in 24 h, sending {}", acct->max_send_rate,
                                   acct->sent_last_24_hours, acct->max_24_hour_send,
                                   acct->sending_enabled ? "enabled" : "DISABLED")
                     : acct.error().describe());
        std::string topic = c.typed().sns.events_topic_arn;
        if (topic.empty()) topic = c.typed().sns.alerts_topic_arn;
        if (topic.empty()) {
            verdict("sns", "GetTopicAttributes", false, "sns.events_topic_arn / sns.alerts_topic_arn not set");
        } else {
            auto t = s->sns->get_topic_attributes(topic);
            verdict("sns", "GetTopicAttributes " + topic, static_cast<bool>(t),
                    t ? "subscriptions " + (*t)["SubscriptionsConfirmed"] : t.error().describe());
        }
    }
    if (g.json) {
        out["checks"] = checks;
        out["ok"] = all_ok;
        std::cout << out.dump() << "\n";
    } else {
        std::cout << (all_ok ? "all checks passed\n" : "some checks failed\n");
    }
    return all_ok ? k_exit_ok : k_exit_failure;
}

}  // namespace

void register_aws(const CommandLine& line) {
    auto* aws_cmd = line.app.add_subcommand("aws", "AWS connectivity");
    aws_cmd->require_subcommand(1);
    auto* check =
        aws_cmd->add_subcommand("check", "region, credential source, endpoints, and one cheap read per service");
    add_common_options(*check, line.global);
    check->callback([line] { line.action = [line] { return cmd_aws_check(line.global); }; });
}

}  // namespace mailtrack::cli
