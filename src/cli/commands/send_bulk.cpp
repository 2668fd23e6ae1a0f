// `mailtrack send-bulk --template T --recipients CSV`: a template to every row, resumable.
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "mailtrack/sender/bulk.hpp"
#include "mailtrack/views/send_view.hpp"

#include "../context.hpp"
#include "../input.hpp"
#include "commands.hpp"
#include "send_support.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

struct SendBulkOptions {
    std::string from, template_name, recipients, configuration_set;
    std::vector<std::string> tags;
    bool force = false;
    SandboxFlags sandbox;
};

// Progress on stderr: a redrawn bar with rate and ETA on a terminal, a plain line at most every
// 5 s (and at the end) otherwise.
class BulkProgressReport {
public:
    BulkProgressReport(const util::Clock& clock, bool quiet)
        : m_clock(clock),
          m_tty(!quiet && ::isatty(STDERR_FILENO) == 1),
          m_quiet(quiet),
          m_start(clock.steady_now()),
          m_last(m_start) {}
    void operator()(std::size_t done, std::size_t total) {
        if (m_quiet) return;
        const auto now = m_clock.steady_now();
        const double secs = std::chrono::duration<double>(now - m_start).count();
        const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
        const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
        if (m_tty) {
            constexpr int k_width = 30;
            const int filled = total ? static_cast<int>(k_width * done / total) : k_width;
            std::cerr << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
                      << std::string(static_cast<std::size_t>(k_width - filled), ' ') << "] " << done << "/" << total
                      << fmt::format("  {:.1f}/s  ETA {:.0f}s ", rate, eta) << (done == total ? "\n" : "")
                      << std::flush;
        } else if (done == total || now - m_last >= std::chrono::seconds(5)) {
            m_last = now;
            std::cerr << fmt::format("send-bulk: {}/{} rows, {:.1f}/s, ETA {:.0f}s\n", done, total, rate, eta);
        }
    }

private:
    const util::Clock& m_clock;
    bool m_tty, m_quiet;
    std::chrono::steady_clock::time_point m_start, m_last;
};

int cmd_send_bulk(const GlobalOptions& given, const SendBulkOptions& o) {
    const GlobalOptions g = with_sandbox_flags(given, o.sandbox);
    auto services = open_services(g);
    const config::Config& c = services->config();
    sender::BulkRequest r;
    r.from = o.from.empty() ? c.typed().ses.from : o.from;
    if (r.from.empty()) throw CommandError{"send-bulk: no --from and ses.from is not set", k_exit_partial};
    r.template_name = o.template_name;
    r.configuration_set = o.configuration_set.empty() ? c.typed().ses.configuration_set : o.configuration_set;
    for (const auto& t : o.tags) r.tags.push_back(split_pair(t, '=', "--tag"));
    r.force = o.force;
    const std::string text = read_input(o.recipients);
    r.file_key = sender::bulk_file_key(text);
    auto csv = sender::parse_bulk_csv(text);
    r.rows = std::move(csv.rows);
    for (const auto& e : csv.errors) {
        if (!g.json) std::cerr << o.recipients << ":" << e.line << ": " << e.message << "\n";
    }

    app::Sending& sending = require_sending(*services);
    app::AwsServices* aws = &require_aws(*services);
    BulkProgressReport progress(aws->clock, g.json);
    const auto results = sending.sender->send_bulk(r, std::ref(progress));

    for (const auto& x : results) {
        if (x.outcome == sender::BulkOutcome::sent && !x.detail.empty()) {
            std::cerr << "mailtrack: warning: " << o.recipients << ":" << x.line << ": " << x.detail << "\n";
        }
    }
    const views::BulkTally n = views::tally(results);
    const bool clean = n.clean(csv.errors.size());
    if (g.json) {
        std::cout << views::bulk_result(results, csv.errors).dump() << "\n";
    } else {
        std::cout << "sent " << n.sent << ", already sent " << n.already_sent << ", suppressed " << n.suppressed
                  << ", failed " << n.failed << ", in doubt " << n.in_doubt << ", bad rows " << csv.errors.size()
                  << "\n";
        for (const auto& x : results) {
            if (x.outcome == sender::BulkOutcome::sent || x.outcome == sender::BulkOutcome::already_sent) continue;
            std::cout << o.recipients << ":" << x.line << ": " << x.address << " " << sender::to_string(x.outcome)
                      << ": " << x.detail << "\n";
        }
    }
    return clean ? k_exit_ok : k_exit_partial;
}

}  // namespace

void register_send_bulk(const CommandLine& line) {
    auto o = std::make_shared<SendBulkOptions>();
    auto* bulk = line.app.add_subcommand("send-bulk", "send an SES template to every row of a CSV (resumable)");
    add_common_options(*bulk, line.global);
    bulk->add_option("--template", o->template_name, "SES template name")->required();
    bulk->add_option("--recipients", o->recipients, "CSV: address,template data JSON,tags (k=v;k=v)")->required();
    bulk->add_option("--from", o->from, "From address (default: ses.from)");
    bulk->add_option("--configuration-set", o->configuration_set,
                     "SES configuration set (default: ses.configuration_set)");
    bulk->add_option("--tag", o->tags, "SES message tag k=v on every row (repeatable)");
    bulk->add_flag("--force", o->force, "send to suppressed addresses too");
    add_sandbox_flags(*bulk, o->sandbox);
    bulk->callback([line, o] { line.action = [line, o] { return cmd_send_bulk(line.global, *o); }; });
}

}  // namespace mailtrack::cli
