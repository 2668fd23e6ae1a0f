#include "mailtrack/cli/cli.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "command_line.hpp"
#include "commands/commands.hpp"

namespace mailtrack::cli {

// The parser and the error boundary; each command lives in commands/<name>.cpp.
int run(int argc, char** argv) {
    CLI::App app{"mailtrack: send email through Amazon SES and know what became of every message"};
    app.require_subcommand(1);
    GlobalOptions g;
    app.add_option("--config", g.config_file, "TOML configuration file (or MAILTRACK_CONFIG)");
    app.add_option("--set", g.overrides, "override a setting: section.key=value (repeatable)");
    app.add_option("--db", g.db, "SQLite database file (store.sqlite_path)");
    app.add_option("--log-level", g.log_level, "debug, info, warn, error, off");
    app.add_option("--log-format", g.log_format, "text or json");

    Action action;
    const CommandLine line{app, g, action};
    for (auto* add : {register_ingest, register_status, register_list, register_stats, register_worker, register_setup,
                      register_dlq, register_config, register_aws, register_notify, register_send, register_send_bulk,
                      register_suppress, register_serve, register_apikey}) {
        add(line);
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? k_exit_ok : k_exit_partial;
    }
    try {
        return action ? action() : k_exit_partial;
    } catch (const CommandError& e) {
        std::cerr << "mailtrack: " << e.message << "\n";
        return e.code;
    } catch (const std::exception& e) {
        std::cerr << "mailtrack: unexpected error: " << e.what() << "\n";
        return k_exit_failure;
    }
}

}  // namespace mailtrack::cli
