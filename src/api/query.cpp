#include "mailtrack/api/query.hpp"

namespace mailtrack::api {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

util::Result<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
            const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return util::fail(util::ErrorKind::invalid_input,
                                  "malformed percent-encoding at offset " + std::to_string(i));
            }
            const char decoded = static_cast<char>(hi * 16 + lo);
            if (decoded == '\0') return util::fail(util::ErrorKind::invalid_input, "percent-encoded NUL");
            out.push_back(decoded);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

util::Result<Query> Query::parse(std::string_view query) {
    Query q;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (part.empty()) continue;
        const auto eq = part.find('=');
        MAILTRACK_TRY_ASSIGN(auto name, percent_decode(part.substr(0, eq), true));
        MAILTRACK_TRY_ASSIGN(
            auto value, percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true));
        q.m_params.emplace_back(std::move(name), std::move(value));
    }
    return q;
}

std::optional<std::string> Query::get(std::string_view name) const {
    for (const auto& [n, v] : m_params) {
        if (n == name) return v;
    }
    return std::nullopt;
}

}  // namespace mailtrack::api
