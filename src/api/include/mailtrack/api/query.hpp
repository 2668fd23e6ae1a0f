#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailtrack/util/error.hpp"

namespace mailtrack::api {

// "%40" -> "@", "+" stays "+" in a path and becomes " " in a query. Errors
// (ErrorKind::invalid_input): a '%' not followed by two hex digits, or a decoded NUL.
util::Result<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

// A query string's parameters, decoded, in order. The first of a name wins in get().
class Query {
public:
    static util::Result<Query> parse(std::string_view query);
    std::optional<std::string> get(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& all() const { return m_params; }

private:
    std::vector<std::pair<std::string, std::string>> m_params;
};

}  // namespace mailtrack::api
