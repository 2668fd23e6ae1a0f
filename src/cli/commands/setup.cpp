// `mailtrack setup`: the SNS events topic, SQS queue, dead-letter queue and subscription, created
// idempotently (ops::set_up_pipeline); prints the settings to use as TOML, or JSON.
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/app/services.hpp"
#include "mailtrack/ops/pipeline_setup.hpp"

#include "../context.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

// JSON escapes are valid TOML basic strings.
std::string toml_string(const std::string& s) {
    return json(s).dump();
}

int cmd_setup(const config::Config& c, ops::PipelineSpec spec, bool as_json) {
    app::Services services(c);
    app::AwsServices* aws = &require_aws(services);
    auto p = ops::set_up_pipeline(*aws->sqs, *aws->sns, spec);
    if (!p) throw CommandError{"setup: " + p.error().describe()};
    if (as_json) {
        std::cout << json{{"topic_arn", p->topic_arn},      {"queue_url", p->queue_url},
                          {"queue_arn", p->queue_arn},      {"dlq_url", p->dlq_url},
                          {"dlq_arn", p->dlq_arn},          {"subscription_arn", p->subscription_arn},
                          {"raw_delivery", p->raw_delivery}}
                         .dump()
                  << "\n";
    } else {
        std::cout << "# mailtrack setup: SES events topic -> SQS queue (dead-letter queue after "
                  << spec.max_receive_count << " receives)\n"
                  << "# subscription " << p->subscription_arn
                  << (p->raw_delivery ? " (raw delivery)" : " (SNS envelope)") << "\n[worker]\nqueue_urls = ["
                  << toml_string(p->queue_url) << "]\ndlq_url = " << toml_string(p->dlq_url)
                  << "\n\n[sns]\nevents_topic_arn = " << toml_string(p->topic_arn) << "\n";
    }
    return k_exit_ok;
}

}  // namespace

void register_setup(const CommandLine& line) {
    auto spec = std::make_shared<ops::PipelineSpec>();
    auto* setup =
        line.app.add_subcommand("setup", "create (idempotently) the SNS events topic, SQS queue, DLQ and subscription");
    add_common_options(*setup, line.global);
    setup->add_option("--topic-name", spec->topic_name, "SNS topic name")->capture_default_str();
    setup->add_option("--queue-name", spec->queue_name, "SQS queue name")->capture_default_str();
    setup->add_option("--dlq-name", spec->dlq_name, "dead-letter queue name")->capture_default_str();
    setup->add_flag("--raw", spec->raw_delivery, "raw message delivery (no SNS envelope)");
    setup->callback([line, spec] {
        line.action = [line, spec] {
            const auto c = load_config(line.global);
            spec->max_receive_count = static_cast<int>(c.typed().worker.max_receive_count);
            spec->visibility_timeout_s = static_cast<int>(c.typed().worker.visibility_timeout_s);
            return cmd_setup(c, *spec, line.global.json);
        };
    });
}

}  // namespace mailtrack::cli
