#include "mailtrack/core/event.hpp"

#include <xxhash.h>

#include <cstring>

namespace mailtrack::core {

std::string EventId::hex() const {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(32);
    for (const auto b : bytes) {
        out.push_back(k_hex[b >> 4]);
        out.push_back(k_hex[b & 0xf]);
    }
    return out;
}

EventId EventId::of_json(std::string_view minified_json) noexcept {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits(minified_json.data(), minified_json.size()));
    EventId id;
    static_assert(sizeof canonical.digest == sizeof id.bytes);
    std::memcpy(id.bytes.data(), canonical.digest, sizeof canonical.digest);
    return id;
}

std::string_view MailInfo::tag(std::string_view name) const noexcept {
    for (const auto& [key, values] : tags) {
        if (key == name && !values.empty()) return values.front();
    }
    return {};
}

}  // namespace mailtrack::core
