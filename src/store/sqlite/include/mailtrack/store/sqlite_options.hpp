#pragma once

#include <string>

#include "mailtrack/store/open_mode.hpp"

namespace mailtrack::store {

// When a commit reaches the disk (SQLite's `synchronous` in WAL mode).
enum class SqliteSync {
    // Every COMMIT syncs the write-ahead log before it returns: a commit survives a power loss or
    // an operating-system crash. The worker deletes SQS messages only after their commit, so
    // anything less can lose events that exist nowhere else.
    full,
    // The log is synced only at checkpoints: faster, but a power loss or OS crash can roll back
    // the last commits (a crash of the process alone loses nothing).
    normal,
};

struct SqliteOptions {
    std::string path = "mailtrack.db";  // ":memory:" for a private in-memory database
    int busy_timeout_ms = 5000;         // how long a writer waits for another process's lock
    int archive_zstd_level = 1;         // compression of the raw-event archive
    int cache_kib = 2048;               // SQLite page cache of this connection
    SqliteSync synchronous = SqliteSync::full;
    // must_exist: a missing file is ErrorKind::not_found naming the path, and nothing is
    // created (":memory:" always opens).
    OpenMode mode = OpenMode::create_if_missing;
};

}  // namespace mailtrack::store
