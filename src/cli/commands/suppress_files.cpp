// The suppression list as CSV: `suppress import` and `suppress export`.
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "mailtrack/util/time.hpp"

#include "../context.hpp"
#include "../input.hpp"
#include "suppress_support.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;
using util::format_timestamp;

// CSV fields, with RFC 4180 quotes.
std::vector<std::string> csv_fields(std::string_view line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char ch = line[i];
        if (quoted) {
            if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                out.back() += '"';
                ++i;
            } else if (ch == '"') {
                quoted = false;
            } else {
                out.back() += ch;
            }
        } else if (ch == '"') {
            quoted = true;
        } else if (ch == ',') {
            out.emplace_back();
        } else if (ch != '\r') {
            out.back() += ch;
        }
    }
    return out;
}

std::string csv_field(const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char ch : v) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
}

}  // namespace

// Import: CSV "address[,reason[,detail[,expires_at]]]" (a header row starting with "address" is
// skipped), or one address per line. Bad lines are reported by number and do not stop the rest.
int cmd_suppress_import(const GlobalOptions& g, const std::string& path, const std::string& default_reason) {
    auto services = open_services(g);
    store::Store* store = &require_store(*services);
    const util::SystemClock clock;
    const std::string text = read_input(path);
    std::size_t line_no = 0, imported = 0;
    json bad = json::array();
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (line.empty() || line == "\r" || line.front() == '#') continue;
        auto f = csv_fields(line);
        if (line_no == 1 && f[0] == "address") continue;
        try {
            auto entry = manual_entry(f[0], f.size() > 1 && !f[1].empty() ? f[1] : default_reason,
                                      f.size() > 2 ? f[2] : "", f.size() > 3 ? f[3] : "", clock.now_millis());
            if (auto r = store->suppress(entry); !r) throw CommandError{r.error().describe()};
            ++imported;
        } catch (const CommandError& e) {
            if (e.code != k_exit_partial) throw;
            bad.push_back({{"line", line_no}, {"error", e.message}});
            if (!g.json) std::cerr << path << ":" << line_no << ": " << e.message << "\n";
        }
    }
    if (g.json)
        std::cout << json{{"imported", imported}, {"bad", bad}}.dump() << "\n";
    else
        std::cout << "imported " << imported << ", bad lines " << bad.size() << "\n";
    return bad.empty() ? k_exit_ok : k_exit_failure;
}

int cmd_suppress_export(const GlobalOptions& g, const std::string& path) {
    auto services = open_services(g);
    store::Store* store = &require_store(*services, store::OpenMode::must_exist);
    auto list = store->suppressions();
    if (!list) throw CommandError{list.error().describe()};
    std::ostringstream out;
    out << "address,reason,detail,expires_at,since\n";
    for (const auto& s : *list) {
        out << csv_field(s.address) << "," << core::to_string(s.reason) << "," << csv_field(s.detail) << ","
            << (s.expires_at ? format_timestamp(*s.expires_at) : "") << "," << format_timestamp(s.since) << "\n";
    }
    if (path.empty() || path == "-") {
        std::cout << out.str();
    } else {
        std::ofstream f(path, std::ios::binary);
        if (!(f << out.str())) throw CommandError{"cannot write " + path};
        std::cerr << "exported " << list->size() << " addresses to " << path << "\n";
    }
    return k_exit_ok;
}

}  // namespace mailtrack::cli
