// `mailtrack stats [--since T]`: counts, and bounce and complaint rates against SES's thresholds.
#include <fmt/core.h>

#include <iostream>

#include "mailtrack/views/stats_view.hpp"

#include "../context.hpp"
#include "../input.hpp"
#include "../table.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

void print_stats(const store::DeliveryCounts& n) {
    const auto r = views::reputation(n);
    std::cout << fmt::format(
        "messages {}  recipients {}\nsent {}  delivered {}  bounced {}  complained {}  opens {}  clicks {}\n",
        n.messages, n.recipients, n.sent, n.delivered, n.hard_bounced, n.complained, n.opens, n.clicks);
    std::cout << fmt::format("bounce rate    {:6.2f}%  {}  (SES: warning at 5%, at risk at 10%)\n", r.bounce_rate * 100,
                             core::to_string(r.bounce_verdict));
    std::cout << fmt::format("complaint rate {:6.3f}%  {}  (SES: warning at 0.1%, at risk at 0.5%)\n",
                             r.complaint_rate * 100, core::to_string(r.complaint_verdict));
    Table t({"STATUS", "RECIPIENTS"});
    for (int i = 0; i < core::k_status_count; ++i) {
        t.add({std::string(core::to_string(static_cast<core::RecipientStatus>(i))), std::to_string(n.by_status[i])});
    }
    std::cout << "\n" << t.render();
}

int cmd_stats(const GlobalOptions& g, const std::string& since) {
    auto services = open_services(g);
    std::optional<util::UnixMillis> from;
    if (!since.empty()) from = parse_since_flag("--since", since);
    store::Store* store = &require_store(*services, store::OpenMode::must_exist);
    auto counts = store->counts(from);
    if (!counts) throw CommandError{counts.error().describe()};
    if (g.json)
        std::cout << views::stats(*counts).dump() << "\n";
    else
        print_stats(*counts);
    return k_exit_ok;
}

}  // namespace

void register_stats(const CommandLine& line) {
    auto since = std::make_shared<std::string>();
    auto* stats =
        line.app.add_subcommand("stats", "delivery counts, bounce and complaint rates against SES thresholds");
    add_common_options(*stats, line.global);
    stats->add_option("--since", *since, "only messages sent since (ISO time, or 24h, 7d ...)");
    stats->callback([line, since] { line.action = [line, since] { return cmd_stats(line.global, *since); }; });
}

}  // namespace mailtrack::cli
