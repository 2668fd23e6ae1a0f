#include "mailtrack/aws/http.hpp"

#include <strings.h>

namespace mailtrack::aws {

std::string_view find_header(const std::vector<Header>& headers, std::string_view name) noexcept {
    for (const auto& h : headers) {
        if (h.name.size() == name.size() && strncasecmp(h.name.data(), name.data(), name.size()) == 0) return h.value;
    }
    return {};
}

}  // namespace mailtrack::aws
