// `mailtrack status MESSAGE_ID [--raw]` and `mailtrack status --send SEND_ID`.
#include <fmt/core.h>

#include <iostream>

#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/util/time.hpp"
#include "mailtrack/views/message_view.hpp"
#include "mailtrack/views/recipient_view.hpp"
#include "mailtrack/views/send_view.hpp"

#include "../context.hpp"
#include "../table.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

using util::format_timestamp;

void print_message(const store::MessageView& v, bool raw) {
    const auto& m = v.message;
    std::cout << fmt::format("message   {}\nstatus    {}\nsent      {}\nfrom      {}\nsubject   {}\n", m.message_id,
                             core::to_string(m.status.status),
                             m.mail_timestamp ? format_timestamp(*m.mail_timestamp) : "", m.source, m.subject);
    if (!m.send_id.empty()) std::cout << "send id   " << m.send_id << "\n";
    std::cout << fmt::format("opens     {}   clicks {}   events {}\n\n", m.engagement.opens, m.engagement.clicks,
                             m.event_count);
    Table rt({"RECIPIENT", "STATUS", "SINCE", "DETAIL"});
    for (const auto& r : v.recipients) {
        rt.add({r.address, std::string(core::to_string(r.status.status)), format_timestamp(r.status.at),
                views::recipient_detail(r)});
    }
    std::cout << rt.render() << "\n";
    Table et({"TIME", "EVENT", "ID"});
    for (const auto& e : v.events) et.add({format_timestamp(e.occurred_at), e.type_name, e.id.hex().substr(0, 12)});
    std::cout << et.render();
    if (raw) {
        for (const auto& e : v.events) std::cout << e.raw_json << "\n";
    }
}

int cmd_status(const GlobalOptions& g, const std::string& message_id, bool raw) {
    auto services = open_services(g);
    const config::Config& c = services->config();
    store::Store* store = &require_store(*services, store::OpenMode::must_exist);
    auto view = store->message(message_id, raw);  // without --raw it may come from the Redis cache
    if (!view) throw CommandError{view.error().describe()};
    if (!*view) throw CommandError{"no message with id " + message_id + " in " + app::store_description(c)};
    if (g.json)
        std::cout << views::message(**view, raw).dump(2) << "\n";
    else
        print_message(**view, raw);
    return k_exit_ok;
}

void print_send(const store::SendRecord& s, std::span<const core::RecipientState> states) {
    std::cout << fmt::format("send      {}\nstatus    {}{}\nmessage   {}\ncreated   {}\nfrom      {}\n", s.send_id,
                             store::to_string(s.status), s.linked_by_event ? "  (message id found by an event)" : "",
                             s.ses_message_id.empty() ? "-" : s.ses_message_id, format_timestamp(s.created_at), s.from);
    if (!s.subject.empty()) std::cout << "subject   " << s.subject << "\n";
    if (!s.template_name.empty()) std::cout << "template  " << s.template_name << "\n";
    if (!s.idempotency_key.empty()) std::cout << "key       " << s.idempotency_key << "\n";
    if (!s.error_code.empty()) std::cout << "error     " << s.error_code << ": " << s.error_message << "\n";
    std::cout << "\n";
    Table t({"RECIPIENT", "ROLE", "STATUS", "SINCE", "DETAIL"});
    for (const auto& r : s.recipients) {
        const std::string role(store::to_string(r.role));
        if (!r.skipped.empty()) {
            t.add({r.address, role, "skipped", "", r.skipped});
        } else if (const auto* st = views::state_of(states, r.address)) {
            t.add({r.address, role, std::string(core::to_string(st->status.status)), format_timestamp(st->status.at),
                   views::recipient_detail(*st)});
        } else {
            t.add({r.address, role, std::string(store::to_string(s.status)), "", ""});
        }
    }
    std::cout << t.render();
}

// One send by its send id: the send record and, once SES accepted it, each recipient's status
// from the event path (recipients left out of the SES call are listed with why).
int cmd_status_send(const GlobalOptions& g, const std::string& send_id) {
    auto services = open_services(g);
    const config::Config& c = services->config();
    store::Store* store = &require_store(*services, store::OpenMode::must_exist);
    auto found = store->send(send_id);
    if (!found) throw CommandError{found.error().describe()};
    if (!*found) throw CommandError{"no send with id " + send_id + " in " + app::store_description(c)};
    const store::SendRecord& s = **found;
    std::vector<core::RecipientState> states;
    if (!s.ses_message_id.empty()) {
        auto view = store->message(s.ses_message_id, false);
        if (!view) throw CommandError{view.error().describe()};
        if (*view) states = (*view)->recipients;
    }
    if (g.json)
        std::cout << views::send(s, states).dump(2) << "\n";
    else
        print_send(s, states);
    return k_exit_ok;
}

struct StatusArgs {
    std::string message_id, send_id;
    bool raw = false;
};

}  // namespace

void register_status(const CommandLine& line) {
    auto a = std::make_shared<StatusArgs>();
    auto* status = line.app.add_subcommand("status", "one message: recipients, statuses and the event timeline");
    add_common_options(*status, line.global);
    status->add_option("message_id", a->message_id, "the SES message id");
    status->add_option("--send", a->send_id, "show a send by its send id instead (what `send` printed)");
    status->add_flag("--raw", a->raw, "also print each event's raw SES JSON");
    status->callback([line, a] {
        if (a->message_id.empty() == a->send_id.empty()) {
            throw CLI::ValidationError("status", "give a MESSAGE_ID or --send SEND_ID (one of them)");
        }
        line.action = [line, a] {
            return a->send_id.empty() ? cmd_status(line.global, a->message_id, a->raw)
                                      : cmd_status_send(line.global, a->send_id);
        };
    });
}

}  // namespace mailtrack::cli
