#include "mailtrack/util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "mailtrack/util/json_escape.hpp"
#include "mailtrack/util/time.hpp"

namespace mailtrack::util::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<Format> g_format{Format::text};

std::string_view level_name(Level level) {
    switch (level) {
        case Level::debug: return "debug";
        case Level::info: return "info";
        case Level::warn: return "warn";
        case Level::error: return "error";
        case Level::off: return "off";
    }
    return "?";
}

void append_value(std::string& out, const Field& field, bool json) {
    std::visit(
        [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string_view>) {
                const bool needs_quotes = json || v.empty() || v.find_first_of(" \"=\n\t") != std::string_view::npos;
                if (needs_quotes) {
                    append_json_string(out, v);
                } else {
                    out += v;
                }
            } else if constexpr (std::is_same_v<V, bool>) {
                out += v ? "true" : "false";
            } else {
                out += std::to_string(v);
            }
        },
        field.value);
}

}  // namespace

void configure(Level level, Format format) {
    g_level = level;
    g_format = format;
}

bool parse_level(std::string_view text, Level& out) noexcept {
    for (const Level l : {Level::debug, Level::info, Level::warn, Level::error, Level::off}) {
        if (text == level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

bool parse_format(std::string_view text, Format& out) noexcept {
    if (text == "text")
        out = Format::text;
    else if (text == "json")
        out = Format::json;
    else
        return false;
    return true;
}

bool enabled(Level level) noexcept {
    return level >= g_level.load(std::memory_order_relaxed) && level != Level::off;
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
    if (!enabled(level)) return;
    const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    std::string line;
    line.reserve(128);
    if (g_format.load(std::memory_order_relaxed) == Format::json) {
        line += "{\"ts\":\"" + format_timestamp(now) + "\",\"level\":\"";
        line += level_name(level);
        line += "\",\"msg\":";
        append_json_string(line, message);
        for (const Field& f : fields) {
            line += ',';
            append_json_string(line, f.key);
            line += ':';
            append_value(line, f, true);
        }
        line += "}\n";
    } else {
        line += format_timestamp(now);
        line += ' ';
        line += level_name(level);
        line += ' ';
        line += message;
        for (const Field& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            append_value(line, f, false);
        }
        line += '\n';
    }
    // One write(2) per line keeps lines whole across threads and processes.
    const ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

}  // namespace mailtrack::util::log
