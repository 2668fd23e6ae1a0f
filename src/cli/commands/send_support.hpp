#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "../command_line.hpp"

namespace mailtrack::cli {

// --sandbox-events / --sandbox-engagement: shorthands for the sending.* settings.
struct SandboxFlags {
    bool events = false, engagement = false;
};
void add_sandbox_flags(CLI::App& command, SandboxFlags& flags);
GlobalOptions with_sandbox_flags(const GlobalOptions& g, const SandboxFlags& flags);

// The content type of an attachment from its file name (application/octet-stream when unknown).
std::string content_type_for(const std::string& name);

}  // namespace mailtrack::cli
