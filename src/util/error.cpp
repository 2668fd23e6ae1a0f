#include "mailtrack/util/error.hpp"

namespace mailtrack::util {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::invalid_input: return "invalid input";
        case ErrorKind::unsupported: return "unsupported";
        case ErrorKind::not_found: return "not found";
        case ErrorKind::config: return "configuration";
        case ErrorKind::storage: return "storage";
        case ErrorKind::storage_unavailable: return "storage unavailable";
        case ErrorKind::io: return "i/o";
        case ErrorKind::internal: return "internal";
    }
    return "unknown";
}

std::string Error::describe() const {
    std::string out(to_string(kind));
    out += ": ";
    out += message;
    return out;
}

}  // namespace mailtrack::util
