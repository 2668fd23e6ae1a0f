// `mailtrack suppress add|remove|list|import|export|sync`: the suppression list.
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/core/address.hpp"
#include "mailtrack/ops/suppression_sync.hpp"
#include "mailtrack/util/time.hpp"
#include "mailtrack/views/suppression_view.hpp"

#include "../context.hpp"
#include "../table.hpp"
#include "commands.hpp"
#include "suppress_support.hpp"

namespace mailtrack::cli {

core::Suppression manual_entry(const std::string& address, const std::string& reason, const std::string& detail,
                               const std::string& expires, util::UnixMillis now) {
    core::Suppression s;
    s.address = core::normalize_address(address);
    if (!core::is_plausible_address(s.address))
        throw CommandError{"not an email address: \"" + address + "\"", k_exit_partial};
    const auto parsed = core::parse_suppression_reason(reason.empty() ? "manual" : reason);
    if (!parsed)
        throw CommandError{"unknown reason \"" + reason + "\" (manual, soft_bounce_policy, bounce, complaint)",
                           k_exit_partial};
    s.reason = *parsed;
    s.since = now;
    s.detail = detail;
    if (!expires.empty()) {
        // "30d" means 30 days from now; an ISO time is taken as is.
        if (auto ago = util::parse_since(expires, now); ago && !util::parse_timestamp(expires))
            s.expires_at = now + (now - *ago);
        else if (auto at = util::parse_timestamp(expires))
            s.expires_at = *at;
        else
            throw CommandError{"--expires " + expires + ": expected an ISO 8601 time or a duration like 30d",
                               k_exit_partial};
    }
    return s;
}

namespace {

using nlohmann::json;
using util::format_timestamp;

int cmd_suppress_add(const GlobalOptions& g, const std::vector<std::string>& addresses, const std::string& reason,
                     const std::string& detail, const std::string& expires) {
    auto services = open_services(g);
    store::Store* store = &require_store(*services);
    const util::SystemClock clock;
    for (const auto& a : addresses) {
        const auto entry = manual_entry(a, reason, detail, expires, clock.now_millis());
        if (auto r = store->suppress(entry); !r) throw CommandError{r.error().describe()};
        if (!g.json) std::cout << "suppressed " << entry.address << "\n";
    }
    if (g.json) std::cout << json{{"suppressed", addresses.size()}}.dump() << "\n";
    return k_exit_ok;
}

int cmd_suppress_remove(const GlobalOptions& g, const std::vector<std::string>& addresses) {
    auto services = open_services(g);
    store::Store* store = &require_store(*services);
    std::size_t removed = 0;
    for (const auto& a : addresses) {
        const std::string n = core::normalize_address(a);
        auto r = store->unsuppress(n);
        if (!r) throw CommandError{r.error().describe()};
        if (*r) ++removed;
        if (!g.json) std::cout << (*r ? "removed " : "not on the list: ") << n << "\n";
    }
    if (g.json) std::cout << json{{"removed", removed}}.dump() << "\n";
    return removed == addresses.size() ? k_exit_ok : k_exit_failure;
}

int cmd_suppress_list(const GlobalOptions& g) {
    auto services = open_services(g);
    store::Store* store = &require_store(*services, store::OpenMode::must_exist);
    auto list = store->suppressions();
    if (!list) throw CommandError{list.error().describe()};
    if (g.json) {
        json out = json::array();
        for (const auto& s : *list) out.push_back(views::suppression(s));
        std::cout << out.dump() << "\n";
        return k_exit_ok;
    }
    Table t({"ADDRESS", "REASON", "SINCE", "EXPIRES", "DETAIL"});
    for (const auto& s : *list) {
        t.add({s.address, std::string(core::to_string(s.reason)), format_timestamp(s.since),
               (s.expires_at ? format_timestamp(*s.expires_at) : ""), s.detail});
    }
    std::cout << t.render();
    return k_exit_ok;
}

// Reconciles with SES's account-level suppression list (ops::sync_suppressions).
int cmd_suppress_sync(const GlobalOptions& g, bool prune, bool dry_run) {
    auto services = open_services(g);
    store::Store* store = &require_store(*services);
    app::AwsServices* aws = &require_aws(*services);
    auto r = ops::sync_suppressions(*store, *aws->ses, aws->clock, {prune, dry_run});
    if (!r) throw CommandError{"suppress sync: " + r.error().describe()};
    if (g.json) {
        std::cout << json{{"pulled", r->pulled},
                          {"pushed", r->pushed},
                          {"pruned", r->pruned},
                          {"errors", r->errors},
                          {"dry_run", dry_run}}
                         .dump()
                  << "\n";
    } else {
        const char* verb = dry_run ? "would be " : "";
        for (const auto& a : r->pulled) std::cout << verb << "added here from SES  " << a << "\n";
        for (const auto& a : r->pushed) std::cout << verb << "put on SES           " << a << "\n";
        for (const auto& a : r->pruned) std::cout << verb << "deleted from SES     " << a << "\n";
        for (const auto& e : r->errors) std::cerr << "suppress sync: " << e << "\n";
        std::cout << (dry_run ? "dry run: " : "") << "pulled " << r->pulled.size() << ", pushed " << r->pushed.size()
                  << ", pruned " << r->pruned.size() << ", errors " << r->errors.size() << "\n";
    }
    return r->errors.empty() ? k_exit_ok : k_exit_partial;
}

struct SuppressArgs {
    std::vector<std::string> addresses;
    std::string reason, detail, expires, file;
    bool prune = false, dry_run = false;
};

}  // namespace

void register_suppress(const CommandLine& line) {
    auto a = std::make_shared<SuppressArgs>();
    const GlobalOptions& g = line.global;
    auto* suppress = line.app.add_subcommand("suppress", "the suppression list");
    suppress->require_subcommand(1);
    auto* add = suppress->add_subcommand("add", "add addresses (or strengthen their entry)");
    add_common_options(*add, line.global);
    add->add_option("addresses", a->addresses, "addresses")->required();
    add->add_option("--reason", a->reason, "manual (default), soft_bounce_policy, bounce, complaint");
    add->add_option("--detail", a->detail, "a note kept with the entry");
    add->add_option("--expires", a->expires, "expiry: an ISO time or a duration from now like 30d");
    add->callback([line, a, &g] {
        line.action = [a, &g] { return cmd_suppress_add(g, a->addresses, a->reason, a->detail, a->expires); };
    });
    auto* remove = suppress->add_subcommand("remove", "remove addresses");
    add_common_options(*remove, line.global);
    remove->add_option("addresses", a->addresses, "addresses")->required();
    remove->callback([line, a, &g] { line.action = [a, &g] { return cmd_suppress_remove(g, a->addresses); }; });
    auto* list = suppress->add_subcommand("list", "list the suppression list");
    add_common_options(*list, line.global);
    list->callback([line, &g] { line.action = [&g] { return cmd_suppress_list(g); }; });
    auto* import =
        suppress->add_subcommand("import", "import CSV address[,reason[,detail[,expires_at]]] or one address per line");
    add_common_options(*import, line.global);
    import->add_option("file", a->file, "file; - for standard input")->required();
    import->add_option("--reason", a->reason, "reason for lines that name none (default manual)");
    import->callback([line, a, &g] { line.action = [a, &g] { return cmd_suppress_import(g, a->file, a->reason);
};
}  // namespace mailtrack::cli
);
auto* exp = suppress->add_subcommand("export", "export the list as CSV");
add_common_options(*exp, line.global);
exp->add_option("file", a->file, "file (default: standard output)");
exp->callback([line, a, &g] { line.action = [a, &g] { return cmd_suppress_export(g, a->file); }; });
auto* sync = suppress->add_subcommand("sync", "reconcile with SES's account-level suppression list, both ways");
add_common_options(*sync, line.global);
sync->add_flag("--prune", a->prune, "also delete from SES the entries not on our list (ours is the authority)");
sync->add_flag("--dry-run", a->dry_run, "show what would change, change nothing");
sync->callback([line, a, &g] { line.action = [a, &g] { return cmd_suppress_sync(g, a->prune, a->dry_run); }; });
}

}  // namespace mailtrack::cli
