#include "send_support.hpp"

#include <cctype>
#include <string_view>

namespace mailtrack::cli {

void add_sandbox_flags(CLI::App& command, SandboxFlags& flags) {
    command.add_flag("--sandbox-events", flags.events,
                     "publish the SES mailbox simulator's events to sns.events_topic_arn (sending.sandbox_events)");
    command.add_flag("--sandbox-engagement", flags.engagement,
                     "with --sandbox-events, also Open and Click events (sending.sandbox_engagement)");
}

GlobalOptions with_sandbox_flags(const GlobalOptions& g, const SandboxFlags& flags) {
    GlobalOptions out = g;
    if (flags.events) out.overrides.push_back("sending.sandbox_events=true");
    if (flags.engagement) out.overrides.push_back("sending.sandbox_engagement=true");
    return out;
}

std::string content_type_for(const std::string& name) {
    static const std::pair<const char*, const char*> k_types[] = {
        {".txt", "text/plain"},
        {".csv", "text/csv"},
        {".html", "text/html"},
        {".htm", "text/html"},
        {".json", "application/json"},
        {".pdf", "application/pdf"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".svg", "image/svg+xml"},
        {".zip", "application/zip"},
        {".gz", "application/gzip"},
        {".xml", "application/xml"},
        {".ics", "text/calendar"},
        {".doc", "application/msword"},
        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    };
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const auto& [ext, type] : k_types) {
        const std::string_view e(ext);
        if (lower.size() > e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return type;
    }
    return "application/octet-stream";
}

}  // namespace mailtrack::cli
