#pragma once

#include <string>
#include <string_view>

#include "mailtrack/util/expected.hpp"

namespace mailtrack::util {

// What went wrong, as a kind the caller can switch on. Message text is for humans only.
enum class ErrorKind {
    invalid_input,  // input from a user, a file or the queue is malformed
    unsupported,    // well-formed but not something we handle
    not_found,
    config,               // a setting is missing or invalid
    storage,              // the database failed (I/O, corruption, locked too long)
    storage_unavailable,  // the database cannot be reached or written right now; retry later
    io,                   // a local file could not be read or written
    internal,
};

std::string_view to_string(ErrorKind kind) noexcept;

struct Error {
    ErrorKind kind = ErrorKind::internal;
    std::string message;

    // "<kind>: <message>"
    std::string describe() const;
};

template <typename T>
using Result = Expected<T, Error>;

inline Unexpected<Error> fail(ErrorKind kind, std::string message) {
    return Unexpected<Error>(Error{kind, std::move(message)});
}

}  // namespace mailtrack::util
