// `mailtrack list [--recipient A] [--status S] [--since T] [--limit N]`: recipients, newest first.
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/core/address.hpp"
#include "mailtrack/util/time.hpp"
#include "mailtrack/views/recipient_view.hpp"

#include "../context.hpp"
#include "../input.hpp"
#include "../table.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

struct ListArgs {
    std::string recipient, status, since;
    std::size_t limit = 1000;
};

store::RecipientFilter filter_of(const ListArgs& a) {
    store::RecipientFilter f;
    f.limit = a.limit;
    if (!a.recipient.empty()) f.address = core::normalize_address(a.recipient);
    if (!a.status.empty()) {
        f.status = core::parse_status(a.status);
        if (!f.status) {
            throw CommandError{"--status " + a.status +
                                   ": unknown status (one of queued, sent, delivery_delayed, "
                                   "soft_bounced, delivered, rendering_failed, rejected, bounced, complained)",
                               k_exit_partial};
        }
    }
    if (!a.since.empty()) f.since = parse_since_flag("--since", a.since);
    return f;
}

int cmd_list(const GlobalOptions& g, const ListArgs& a) {
    auto services = open_services(g);
    const store::RecipientFilter f = filter_of(a);
    store::Store* store = &require_store(*services, store::OpenMode::must_exist);
    auto rows = store->recipients(f);
    if (!rows) throw CommandError{rows.error().describe()};
    if (g.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : *rows) out.push_back(views::recipient(r));
        std::cout << out.dump() << "\n";
        return k_exit_ok;
    }
    Table t({"MESSAGE", "RECIPIENT", "STATUS", "SINCE", "DETAIL"});
    for (const auto& r : *rows) {
        t.add({r.message_id, r.address, std::string(core::to_string(r.status.status)),
               util::format_timestamp(r.status.at), views::recipient_detail(r)});
    }
    std::cout << t.render();
    return k_exit_ok;
}

}  // namespace

void register_list(const CommandLine& line) {
    auto a = std::make_shared<ListArgs>();
    auto* list = line.app.add_subcommand("list", "recipients by address, status or time");
    add_common_options(*list, line.global);
    list->add_option("--recipient", a->recipient, "only this address");
    list->add_option("--status", a->status, "only this status");
    list->add_option("--since", a->since, "only recipients with events since (ISO time, or 24h, 7d ...)");
    list->add_option("--limit", a->limit, "at most this many rows")->capture_default_str();
    list->callback([line, a] { line.action = [line, a] { return cmd_list(line.global, *a); }; });
}

}  // namespace mailtrack::cli
