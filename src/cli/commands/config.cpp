// `mailtrack config show`: the effective configuration, secrets masked.
#include <iostream>

#include "../context.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

int cmd_config_show(const GlobalOptions& g) {
    const auto c = load_config(g);
    std::cout << (g.json ? c.show_json() + "\n" : c.show());
    return k_exit_ok;
}

}  // namespace

void register_config(const CommandLine& line) {
    auto* cfg = line.app.add_subcommand("config", "configuration");
    cfg->require_subcommand(1);
    auto* show = cfg->add_subcommand("show", "print the effective configuration, secrets masked");
    add_common_options(*show, line.global);
    show->callback([line] { line.action = [line] { return cmd_config_show(line.global); }; });
}

}  // namespace mailtrack::cli
