// `mailtrack apikey create|list|revoke`: the API keys of `mailtrack serve`. A key is printed once,
// at creation; the store keeps only its SHA-256.
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/api/keys.hpp"
#include "mailtrack/util/time.hpp"
#include "mailtrack/views/api_key_view.hpp"

#include "../context.hpp"
#include "../table.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

int cmd_apikey_create(const GlobalOptions& g, const std::string& name, const std::string& scope_name) {
    const auto scope = store::parse_api_scope(scope_name);
    if (!scope) throw CommandError{"--scope " + scope_name + ": expected read, send or admin", k_exit_partial};
    auto services = open_services(g);
    store::Store& store = require_store(*services);
    const util::SystemClock clock;
    auto issued = api::issue_api_key(name, *scope, clock.now_millis());
    if (!issued) throw CommandError{issued.error().describe()};
    if (auto r = store.create_api_key(issued->record); !r) throw CommandError{r.error().describe()};
    if (g.json) {
        std::cout << json{{"key", issued->key},
                          {"prefix", issued->record.prefix},
                          {"name", name},
                          {"scope", scope_name}}
                         .dump()
                  << "\n";
    } else {
        std::cout << issued->key << "\n";
        std::cerr << "API key " << issued->record.prefix << " (" << scope_name
                  << "): shown once; the store keeps only its hash\n";
    }
    return k_exit_ok;
}

int cmd_apikey_list(const GlobalOptions& g) {
    auto services = open_services(g);
    store::Store& store = require_store(*services, store::OpenMode::must_exist);
    auto keys = store.api_keys();
    if (!keys) throw CommandError{keys.error().describe()};
    if (g.json) {
        json out = json::array();
        for (const auto& k : *keys) out.push_back(views::api_key(k));
        std::cout << out.dump() << "\n";
        return k_exit_ok;
    }
    Table t({"PREFIX", "NAME", "SCOPE", "CREATED", "REVOKED"});
    for (const auto& k : *keys) {
        t.add({k.prefix, k.name, std::string(store::to_string(k.scope)), util::format_timestamp(k.created_at),
               k.revoked_at ? util::format_timestamp(*k.revoked_at) : ""});
    }
    std::cout << t.render();
    return k_exit_ok;
}

int cmd_apikey_revoke(const GlobalOptions& g, const std::string& prefix) {
    auto services = open_services(g);
    store::Store& store = require_store(*services, store::OpenMode::must_exist);
    const util::SystemClock clock;
    auto revoked = store.revoke_api_key(prefix, clock.now_millis());
    if (!revoked) throw CommandError{revoked.error().describe()};
    if (!*revoked) {
        auto found = store.api_key(prefix);
        if (found && *found) throw CommandError{"API key " + prefix + " was already revoked"};
        throw CommandError{"no API key with prefix " + prefix};
    }
    if (g.json)
        std::cout << json{{"revoked", prefix}}.dump() << "\n";
    else
        std::cout << "revoked " << prefix << "\n";
    return k_exit_ok;
}

}  // namespace

void register_apikey(const CommandLine& line) {
    auto* cmd = line.app.add_subcommand("apikey", "API keys of mailtrack serve");
    cmd->require_subcommand(1);
    auto name = std::make_shared<std::string>();
    auto scope = std::make_shared<std::string>("read");
    auto* create = cmd->add_subcommand("create", "create a key and print it (once)");
    add_common_options(*create, line.global);
    create->add_option("--name", *name, "what the key is for")->required();
    create->add_option("--scope", *scope, "read, send (includes read) or admin (everything)");
    create->callback([line, name, scope] {
        line.action = [line, name, scope] { return cmd_apikey_create(line.global, *name, *scope); };
    });
    auto* list = cmd->add_subcommand("list", "every key: prefix, name, scope, created, revoked");
    add_common_options(*list, line.global);
    list->callback([line] { line.action = [line] { return cmd_apikey_list(line.global); }; });
    auto prefix = std::make_shared<std::string>();
    auto* revoke = cmd->add_subcommand("revoke", "revoke a key by its prefix");
    add_common_options(*revoke, line.global);
    revoke->add_option("prefix", *prefix, "the key's prefix (mtk_ and 12 hex digits)")->required();
    revoke->callback(
        [line, prefix] { line.action = [line, prefix] { return cmd_apikey_revoke(line.global, *prefix); }; });
}

}  // namespace mailtrack::cli
