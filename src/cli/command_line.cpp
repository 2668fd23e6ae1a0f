#include "command_line.hpp"

namespace mailtrack::cli {

void add_common_options(CLI::App& command, GlobalOptions& g) {
    command.add_flag("--json", g.json, "machine-readable output");
    command.add_option("--db", g.db, "SQLite database file (store.sqlite_path)");
    command.add_option("--set", g.overrides, "override a setting: section.key=value (repeatable)");
    command.add_option("--config", g.config_file, "TOML configuration file");
}

}  // namespace mailtrack::cli
