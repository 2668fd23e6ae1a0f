// `mailtrack notify --message M [--subject S] [--topic-arn T]`: one message to an SNS topic.
#include <nlohmann/json.hpp>

#include <iostream>

#include "../context.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

struct NotifyArgs {
    std::string topic_arn, subject, message;
};

int cmd_notify(const GlobalOptions& g, std::string topic, const std::string& subject, const std::string& message) {
    auto services = open_services(g);
    const config::Config& c = services->config();
    if (topic.empty()) topic = c.typed().sns.alerts_topic_arn;
    if (topic.empty()) throw CommandError{"notify: no --topic-arn and sns.alerts_topic_arn is not set"};
    app::AwsServices* s = &require_aws(*services);
    auto r = s->sns->publish({topic, message, subject, "", {}, "", ""});
    if (!r) throw CommandError{"notify: " + aws::to_util_error(r.error()).describe()};
    if (g.json)
        std::cout << json{{"message_id", r->message_id}, {"topic_arn", topic}}.dump() << "\n";
    else
        std::cout << "published " << r->message_id << " to " << topic << "\n";
    return k_exit_ok;
}

}  // namespace

void register_notify(const CommandLine& line) {
    auto a = std::make_shared<NotifyArgs>();
    auto* notify =
        line.app.add_subcommand("notify", "publish a message to an SNS topic (default sns.alerts_topic_arn)");
    add_common_options(*notify, line.global);
    notify->add_option("--topic-arn", a->topic_arn, "topic ARN (default: the sns.alerts_topic_arn setting)");
    notify->add_option("--subject", a->subject, "subject (email subscribers see it)");
    notify->add_option("--message", a->message, "message text")->required();
    notify->callback([line, a] {
        line.action = [line, a] { return cmd_notify(line.global, a->topic_arn, a->subject, a->message); };
    });
}

}  // namespace mailtrack::cli
