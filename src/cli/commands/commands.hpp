#pragma once

#include "../command_line.hpp"

namespace mailtrack::cli {

// One file per command under commands/: each register_* adds its command (and subcommands) to
// the parser with their flags, and sets the action when it is the one chosen. The cmd_* behind
// an action is a thin delegate: config, store and clients from context.hpp, the use case from
// app/ or sender/, the output through views/ (--json) or a table.
void register_ingest(const CommandLine& line);
void register_status(const CommandLine& line);
void register_list(const CommandLine& line);
void register_stats(const CommandLine& line);
void register_worker(const CommandLine& line);
void register_setup(const CommandLine& line);
void register_dlq(const CommandLine& line);
void register_config(const CommandLine& line);
void register_aws(const CommandLine& line);
void register_notify(const CommandLine& line);
void register_send(const CommandLine& line);
void register_send_bulk(const CommandLine& line);
void register_suppress(const CommandLine& line);
void register_serve(const CommandLine& line);
void register_apikey(const CommandLine& line);

}  // namespace mailtrack::cli
