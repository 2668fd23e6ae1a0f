// `mailtrack send`: one email through SES, tracked from the first byte.
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/views/send_view.hpp"

#include "../context.hpp"
#include "../input.hpp"
#include "commands.hpp"
#include "send_support.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

struct SendOptions {
    std::string from;
    std::vector<std::string> to, cc, bcc, reply_to;
    std::string subject, text, html, text_file, html_file;
    std::vector<std::string> attach, headers, tags;
    std::string template_name, template_data, configuration_set, idempotency_key;
    std::string list_contact_list, list_topic;
    bool force = false;
    SandboxFlags sandbox;
};

// The request the flags describe (bodies and attachments read from their files).
sender::SendRequest request_of(const SendOptions& o, const config::Config& c) {
    sender::SendRequest r;
    r.from = o.from.empty() ? c.typed().ses.from : o.from;
    if (r.from.empty()) throw CommandError{"send: no --from and ses.from is not set", k_exit_partial};
    r.to = o.to;
    r.cc = o.cc;
    r.bcc = o.bcc;
    r.reply_to = o.reply_to;
    r.subject = o.subject;
    r.text = o.text_file.empty() ? o.text : read_input(o.text_file);
    r.html = o.html_file.empty() ? o.html : read_input(o.html_file);
    for (const std::string& spec : o.attach) {
        std::string path = spec, type;
        if (const auto at = spec.find(";type="); at != std::string::npos) {
            path = spec.substr(0, at);
            type = spec.substr(at + 6);
        }
        const auto slash = path.find_last_of('/');
        const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        r.attachments.push_back({name, type.empty() ? content_type_for(name) : type, read_input(path)});
    }
    for (const std::string& h : o.headers) r.headers.push_back(split_pair(h, ':', "--header"));
    for (const std::string& t : o.tags) r.tags.push_back(split_pair(t, '=', "--tag"));
    r.template_name = o.template_name;
    r.template_data = o.template_data;
    if (!r.template_data.empty() && !json::accept(r.template_data)) {
        throw CommandError{"--template-data is not valid JSON", k_exit_partial};
    }
    r.configuration_set = o.configuration_set.empty() ? c.typed().ses.configuration_set : o.configuration_set;
    r.list_contact_list = o.list_contact_list;
    r.list_topic = o.list_topic;
    r.idempotency_key = o.idempotency_key;
    r.force = o.force;

    return r;
}

int cmd_send(const GlobalOptions& given, const SendOptions& o) {
    const GlobalOptions g = with_sandbox_flags(given, o.sandbox);
    auto services = open_services(g);
    const config::Config& c = services->config();
    const sender::SendRequest r = request_of(o, c);
    app::Sending& sending = require_sending(*services);
    auto result = sending.sender->send(r);
    if (!result) {
        const auto& e = result.error();
        if (g.json) std::cout << views::send_error(e).dump() << "\n";
        throw CommandError{"send: " + e.message};
    }
    for (const auto& w : result->warnings) std::cerr << "mailtrack: warning: " << w << "\n";
    if (g.json) {
        std::cout << views::send_result(*result).dump() << "\n";
    } else {
        std::cout << "send id         " << result->send_id << "\n"
                  << "SES message id  " << result->ses_message_id
                  << (result->duplicate ? "  (already sent: not sent again)" : "") << "\n";
        for (const auto& x : result->skipped) {
            std::cout << "skipped         " << x.address << "  (suppressed: " << core::to_string(x.reason)
                      << (x.detail.empty() ? "" : ", " + x.detail) << "; --force sends anyway)\n";
        }
    }
    return k_exit_ok;
}

}  // namespace

void register_send(const CommandLine& line) {
    auto o = std::make_shared<SendOptions>();
    auto* send = line.app.add_subcommand("send", "send one email through SES, tracked from the first byte");
    add_common_options(*send, line.global);
    send->add_option("--from", o->from, "From address (default: ses.from)");
    send->add_option("--to", o->to, "To address (repeatable)");
    send->add_option("--cc", o->cc, "Cc address (repeatable)");
    send->add_option("--bcc", o->bcc, "Bcc address (repeatable; never in a header)");
    send->add_option("--reply-to", o->reply_to, "Reply-To address (repeatable)");
    send->add_option("--subject", o->subject, "subject (UTF-8)");
    send->add_option("--text", o->text, "plain text body");
    send->add_option("--text-file", o->text_file, "plain text body from a file");
    send->add_option("--html", o->html, "HTML body");
    send->add_option("--html-file", o->html_file, "HTML body from a file");
    send->add_option("--attach", o->attach, "attach FILE, or FILE;type=a/b (repeatable)");
    send->add_option("--header", o->headers, "custom header \"Name: value\" (repeatable)");
    send->add_option("--template", o->template_name, "SES template name (instead of subject and bodies)");
    send->add_option("--template-data", o->template_data, "template data, a JSON object");
    send->add_option("--configuration-set", o->configuration_set,
                     "SES configuration set (default: ses.configuration_set)");
    send->add_option("--tag", o->tags, "SES message tag k=v (repeatable)");
    send->add_option("--list-contact-list", o->list_contact_list, "SES list management: contact list");
    send->add_option("--list-topic", o->list_topic, "SES list management: topic");
    send->add_option("--idempotency-key", o->idempotency_key, "a retry with the same key never sends twice");
    send->add_flag("--force", o->force, "send to suppressed addresses too");
    add_sandbox_flags(*send, o->sandbox);
    send->callback([line, o] { line.action = [line, o] { return cmd_send(line.global, *o); }; });
}

}  // namespace mailtrack::cli
