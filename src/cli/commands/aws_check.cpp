// `mailtrack aws check`: region, credential source, endpoints, and one cheap read per service.
#include "mailtrack/ops/aws_check.hpp"

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

// One line per fact, then one cheap read per service with a verdict (ops::check_aws). Never
// prints a secret.
int cmd_aws_check(const GlobalOptions& g) {
    auto services = open_services(g);
    const config::Settings& settings = services->config().typed();
    app::AwsServices& s = require_aws(*services);
    std::string topic = settings.sns.events_topic_arn;
    if (topic.empty()) topic = settings.sns.alerts_topic_arn;
    const ops::AwsCheckReport report =
        ops::check_aws({*s.credentials, *s.sqs, *s.ses, *s.sns}, {settings.worker.queue_urls, topic});
    const ops::CredentialsCheck& creds = report.credentials;
    if (g.json) {
        json out = {{"region", {{"value", s.region.value}, {"source", s.region.source}}},
                    {"endpoints",
                     {{"sqs", s.sqs_endpoint.value}, {"sns", s.sns_endpoint.value}, {"sesv2", s.sesv2_endpoint.value}}},
                    {"ok", report.ok}};
        out["credentials"] =
            creds.ok ? json{{"ok", true}, {"source", creds.source}} : json{{"ok", false}, {"error", creds.error}};
        out["checks"] = json::array();
        for (const auto& c : report.checks) {
            out["checks"].push_back({{"check", c.service}, {"ok", c.ok}, {"what", c.what}, {"detail", c.detail}});
        }
        std::cout << out.dump() << "\n";
        return report.ok ? k_exit_ok : k_exit_failure;
    }
    auto line = [](const std::string& label, const std::string& value) {
        std::cout << fmt::format("{:<14}{}\n", label, value);
    };
    line("region", s.region.value + "  (" + s.region.source + ")");
    if (creds.ok) {
        line("credentials", creds.source + "  (key " + creds.key_hint + (creds.session_token ? ", session token" : "") +
                                (creds.expiration ? ", expires " + format_timestamp(*creds.expiration) : "") + ")");
    } else {
        line("credentials", "FAIL  " + creds.error);
    }
    line("sqs endpoint", s.sqs_endpoint.value + "  (" + s.sqs_endpoint.source + ")");
    line("sns endpoint", s.sns_endpoint.value + "  (" + s.sns_endpoint.source + ")");
    line("ses endpoint", s.sesv2_endpoint.value + "  (" + s.sesv2_endpoint.source + ")");
    for (const auto& c : report.checks) {
        line(c.service, std::string(c.ok ? "OK    " : "FAIL  ") + c.what + (c.detail.empty() ? "" : "  " + c.detail));
    }
    std::cout << (report.ok ? "all checks passed\n" : "some checks failed\n");
    return report.ok ? k_exit_ok : k_exit_failure;
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
