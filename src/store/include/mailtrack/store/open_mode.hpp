#pragma once

#include <cstdint>

namespace mailtrack::store {

// What opening a store may do when the database is not there.
enum class OpenMode : std::uint8_t {
    // Create it (an empty database, migrated): what writers (ingest, worker, send) want.
    create_if_missing,
    // Fail with ErrorKind::not_found, creating nothing: what read commands want, so a mistyped
    // path or database name is reported instead of answered from a new, empty database.
    must_exist,
};

}  // namespace mailtrack::store
