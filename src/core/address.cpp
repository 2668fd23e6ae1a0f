#include "mailtrack/core/address.hpp"

#include <algorithm>

namespace mailtrack::core {

std::string normalize_address(std::string_view address) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    const auto open = address.rfind('<');
    const auto close = address.rfind('>');
    if (open != std::string_view::npos && close != std::string_view::npos && open < close) {
        address = address.substr(open + 1, close - open - 1);
    }
    while (!address.empty() && is_space(address.front())) address.remove_prefix(1);
    while (!address.empty() && is_space(address.back())) address.remove_suffix(1);
    std::string out(address);
    const auto at = out.rfind('@');
    if (at != std::string::npos) {
        std::transform(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(),
                       out.begin() + static_cast<std::ptrdiff_t>(at),
                       [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    }
    return out;
}

bool is_plausible_address(std::string_view a) noexcept {
    const auto at = a.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= a.size() || a.size() > 320) return false;
    const auto local = a.substr(0, at);
    const auto domain = a.substr(at + 1);
    if (local.size() > 64) return false;
    for (const char c : local) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',') return false;
    }
    if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
        domain.find("..") != std::string_view::npos) {
        return false;
    }
    for (const char c : domain) {
        const auto u = static_cast<unsigned char>(c);
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '.' || u >= 0x80;
        if (!ok) return false;
    }
    return true;
}

}  // namespace mailtrack::core
