// `mailtrack dlq inspect` and `mailtrack dlq redrive [--apply]`. The dead-letter queue is
// --queue-url, else worker.dlq_url; redrive's target is --to, else the first of worker.queue_urls.
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/app/services.hpp"
#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/ops/dead_letters.hpp"

#include "../context.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

int cmd_dlq_inspect(const config::Config& c, std::string dlq_url, std::size_t limit, bool as_json) {
    if (dlq_url.empty()) dlq_url = c.typed().worker.dlq_url;
    if (dlq_url.empty()) throw CommandError{"no dead-letter queue: pass --queue-url or set worker.dlq_url"};
    app::Services services(c);
    app::AwsServices* aws = &require_aws(services);
    auto letters = ops::inspect_dead_letters(*aws->sqs, dlq_url, limit,
                                             static_cast<std::size_t>(c.typed().ingest.max_document_bytes));
    if (!letters) throw CommandError{letters.error().describe()};
    if (as_json) {
        json out = json::array();
        for (const auto& d : *letters) {
            out.push_back({{"message_id", d.message_id},
                           {"receive_count", d.receive_count},
                           {"parse_error", d.parse_error},
                           {"reject_reason", d.reject_reason},
                           {"source_queue", d.source_queue},
                           {"source_message_id", d.source_message_id},
                           {"body", d.body}});
        }
        std::cout << out.dump() << "\n";
        return k_exit_ok;
    }
    for (const auto& d : *letters) {
        std::cout << d.message_id << "  receives " << d.receive_count << "\n";
        if (!d.source_message_id.empty())
            std::cout << "  from      " << d.source_queue << " " << d.source_message_id << "\n";
        if (!d.reject_reason.empty()) std::cout << "  rejected  " << d.reject_reason << "\n";
        std::cout << "  now       " << (d.parse_error.empty() ? "parses (a redrive will apply it)" : d.parse_error)
                  << "\n";
        std::cout << "  body      " << d.body.substr(0, 160) << (d.body.size() > 160 ? "..." : "") << "\n";
    }
    std::cout << letters->size() << " dead letter(s)\n";
    return k_exit_ok;
}

int cmd_dlq_redrive(const config::Config& c, std::string dlq_url, std::string queue_url, std::size_t limit,
                    bool as_json) {
    if (dlq_url.empty()) dlq_url = c.typed().worker.dlq_url;
    if (queue_url.empty()) {
        const auto urls = c.typed().worker.queue_urls;
        if (!urls.empty()) queue_url = urls.front();
    }
    if (dlq_url.empty() || queue_url.empty()) {
        throw CommandError{"redrive needs the dead-letter queue (worker.dlq_url) and a target (worker.queue_urls)"};
    }
    app::Services services(c);
    app::AwsServices* aws = &require_aws(services);
    auto r = ops::redrive_dead_letters(*aws->sqs, dlq_url, queue_url, limit);
    if (!r) throw CommandError{r.error().describe()};
    if (as_json)
        std::cout << json{{"moved", r->moved}, {"to", queue_url}}.dump() << "\n";
    else
        std::cout << "moved " << r->moved << " message(s) to " << queue_url << "\n";
    return k_exit_ok;
}

int cmd_dlq_apply(const config::Config& c, std::string dlq_url, std::size_t limit, bool as_json) {
    if (dlq_url.empty()) dlq_url = c.typed().worker.dlq_url;
    if (dlq_url.empty())
        throw CommandError{"redrive --apply needs the dead-letter queue (worker.dlq_url or --queue-url)"};
    app::Services services(c);  // the store behind Redis with redis.url: applied messages leave the cache
    store::Store* store = &require_store(services);
    app::AwsServices* aws = &require_aws(services);
    auto r = ops::apply_dead_letters(*aws->sqs, dlq_url, *store, limit,
                                     static_cast<std::size_t>(c.typed().ingest.max_document_bytes));
    if (!r) throw CommandError{r.error().describe()};
    if (as_json) {
        json failing = json::array();
        for (const auto& f : r->still_failing) failing.push_back({{"message_id", f.message_id}, {"error", f.error}});
        std::cout << json{{"applied", r->applied}, {"new_events", r->new_events}, {"still_failing", failing}}.dump()
                  << "\n";
    } else {
        std::cout << "applied " << r->applied << " dead letter(s) to the store (" << r->new_events
                  << " new event(s))\n";
        for (const auto& f : r->still_failing)
            std::cout << "still failing: " << f.message_id << ": " << f.error << "\n";
    }
    return r->still_failing.empty() ? k_exit_ok : k_exit_partial;
}

struct DlqArgs {
    std::string dlq_url, target;
    std::size_t limit = 100;
    bool apply = false;
};

}  // namespace

void register_dlq(const CommandLine& line) {
    auto a = std::make_shared<DlqArgs>();
    auto* dlq = line.app.add_subcommand("dlq", "the dead-letter queue");
    dlq->require_subcommand(1);
    auto* inspect = dlq->add_subcommand("inspect", "show dead letters with the parse error of each (nothing deleted)");
    add_common_options(*inspect, line.global);
    inspect->add_option("--queue-url", a->dlq_url, "dead-letter queue (default worker.dlq_url)");
    inspect->add_option("--limit", a->limit, "at most this many")->capture_default_str();
    inspect->callback([line, a] {
        line.action = [line, a] {
            return cmd_dlq_inspect(load_config(line.global), a->dlq_url, a->limit, line.global.json);
        };
    });
    auto* redrive = dlq->add_subcommand("redrive", "move dead letters back into the main queue");
    add_common_options(*redrive, line.global);
    redrive->add_option("--queue-url", a->dlq_url, "dead-letter queue (default worker.dlq_url)");
    redrive->add_option("--to", a->target, "target queue (default the first of worker.queue_urls)");
    redrive->add_option("--limit", a->limit, "at most this many")->capture_default_str();
    redrive
        ->add_flag("--apply", a->apply,
                   "apply the dead letters straight to the store instead of moving them to the main queue; "
                   "those that still do not parse stay (exit status 2)")
        ->excludes("--to");
    redrive->callback([line, a] {
        line.action = [line, a] {
            const auto c = load_config(line.global);
            if (a->apply) return cmd_dlq_apply(c, a->dlq_url, a->limit, line.global.json);
            return cmd_dlq_redrive(c, a->dlq_url, a->target, a->limit, line.global.json);
        };
    });
}

}  // namespace mailtrack::cli
