#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mailtrack::cli {

// Exit codes: 0 success, 1 failure (a clear message on stderr), 2 partial (some inputs rejected,
// some rows failed) or a usage error.
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1;
inline constexpr int k_exit_partial = 2;

// The options every command takes (before or after the command's name).
struct GlobalOptions {
    std::string config_file;
    std::vector<std::string> overrides;  // --set section.key=value
    std::string db;                      // --db: store.sqlite_path
    std::string log_level;
    std::string log_format;
    bool json = false;
};

// Thrown to leave a command with a message and exit code; caught by run()'s error boundary,
// which prints "mailtrack: <message>" on stderr.
struct CommandError {
    std::string message;
    int code = k_exit_failure;
};

// What the parsed command line runs: set by the chosen command's callback.
using Action = std::function<int()>;

// Everything a command registers itself with: the parser, the global options it reads once the
// line is parsed, and the action to set.
struct CommandLine {
    CLI::App& app;
    GlobalOptions& global;
    Action& action;
};

// --json, --db, --set and --config on a command, so they may follow its name.
void add_common_options(CLI::App& command, GlobalOptions& g);

}  // namespace mailtrack::cli
