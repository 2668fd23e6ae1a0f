#pragma once

// Private helpers for the JSON protocols (not a public header).

#include <nlohmann/json.hpp>

#include <string>

#include "mailtrack/aws/error.hpp"

namespace mailtrack::aws::detail {

inline Result<nlohmann::json> parse_json_body(const std::string& body, std::string_view what) {
    if (body.empty()) return nlohmann::json::object();
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return fail(ErrorKind::parse, std::string(what) + ": response is not a JSON object");
    }
    return j;
}

// The string member `key`, or "" when absent or not a string.
inline std::string str(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string base64_encode(std::string_view data);

}  // namespace mailtrack::aws::detail
