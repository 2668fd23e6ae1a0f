#include "mailtrack/ses/documents.hpp"

#include <simdjson.h>

namespace mailtrack::ses {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

bool is_single_value(std::string_view input) {
    const auto first_newline = input.find('\n');
    if (first_newline == std::string_view::npos) return true;
    if (trim(input.substr(0, first_newline)) == "{") return true;
    simdjson::dom::parser parser;
    simdjson::dom::element ignored;
    return parser.parse(input.data(), input.size()).get(ignored) == simdjson::SUCCESS;
}

}  // namespace

std::vector<Document> split_documents(std::string_view input) {
    std::vector<Document> out;
    std::size_t line = 1;
    std::size_t skipped_lines = 0;
    // Leading blank lines only shift the line number.
    while (!input.empty()) {
        const auto nl = input.find('\n');
        if (!trim(input.substr(0, nl)).empty()) break;
        if (nl == std::string_view::npos) return out;
        input.remove_prefix(nl + 1);
        ++skipped_lines;
    }
    line += skipped_lines;
    if (trim(input).empty()) return out;
    if (is_single_value(trim(input))) {
        out.push_back({line, trim(input)});
        return out;
    }
    while (!input.empty()) {
        const auto nl = input.find('\n');
        const std::string_view text = trim(input.substr(0, nl));
        if (!text.empty()) out.push_back({line, text});
        if (nl == std::string_view::npos) break;
        input.remove_prefix(nl + 1);
        ++line;
    }
    return out;
}

}  // namespace mailtrack::ses
