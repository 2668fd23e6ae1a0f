#pragma once

#include <string>

#include "mailtrack/core/state.hpp"
#include "mailtrack/util/clock.hpp"

#include "../command_line.hpp"

namespace mailtrack::cli {

// An entry added by hand (suppress add, suppress import): the address normalized and checked,
// the reason (manual when empty), and the expiry -- an ISO time or a duration from now like 30d.
// Throws CommandError (exit 2) naming what is wrong.
core::Suppression manual_entry(const std::string& address, const std::string& reason, const std::string& detail,
                               const std::string& expires, util::UnixMillis now);

// `suppress import FILE` and `suppress export [FILE]` (suppress_files.cpp).
int cmd_suppress_import(const GlobalOptions& g, const std::string& path, const std::string& default_reason);
int cmd_suppress_export(const GlobalOptions& g, const std::string& path);

}  // namespace mailtrack::cli
