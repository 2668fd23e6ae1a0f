#include "sqlite_db.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace mailtrack::store {

using util::ErrorKind;
using util::Result;

ErrorKind sqlite_kind_of(int rc) {
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_FULL:
        case SQLITE_READONLY:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_PROTOCOL: return ErrorKind::storage_unavailable;
        default: return ErrorKind::storage;
    }
}

util::Unexpected<util::Error> db_error(sqlite3* db, int rc, std::string_view doing) {
    std::string message = "sqlite: " + std::string(doing) + ": " + sqlite3_errstr(rc);
    if (db != nullptr && sqlite3_errmsg(db) != nullptr && std::strcmp(sqlite3_errmsg(db), sqlite3_errstr(rc)) != 0) {
        message += " (" + std::string(sqlite3_errmsg(db)) + ")";
    }
    return util::fail(sqlite_kind_of(rc), std::move(message));
}

SqliteStore::Impl::~Impl() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
    // close_v2 defers the close until the member statements are finalized after this body.
    sqlite3_close_v2(db);
}

Result<void> SqliteStore::Impl::exec(const char* sql, std::string_view doing) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        return util::fail(sqlite_kind_of(rc), "sqlite: " + std::string(doing) + ": " + detail);
    }
    return {};
}

// Turning a new database to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY to
// that without calling the busy handler: when another process is creating the same file
// (a worker and a sender started together) the switch is retried here up to the busy timeout.
Result<void> SqliteStore::Impl::enter_wal_mode() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
    for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, std::chrono::milliseconds(50))) {
        const int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
        if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) {
            return rc == SQLITE_OK ? Result<void>{} : db_error(db, rc, "switching to WAL mode");
        }
        std::this_thread::sleep_for(pause);
    }
}

void SqliteStore::Impl::release_snapshot() {
    for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st != nullptr; st = sqlite3_next_stmt(db, st)) {
        sqlite3_reset(st);
    }
}

Result<void> SqliteStore::Impl::prepare(Statement& s, const std::string& sql) {
    const int rc = s.prepare(db, sql.c_str());
    if (rc != SQLITE_OK) return db_error(db, rc, "preparing " + sql.substr(0, 60));
    return {};
}

Result<void> SqliteStore::Impl::run(Statement& s, std::string_view doing) {
    const int rc = s.step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_error(db, rc, doing);
    return {};
}

Result<std::string> SqliteStore::Impl::decompress(std::string_view frame, std::int64_t raw_size) {
    std::string out(static_cast<std::size_t>(raw_size), '\0');
    const std::size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != out.size()) {
        return util::fail(ErrorKind::storage, std::string("event archive is corrupt: ") +
                                                  (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
    }
    return out;
}

}  // namespace mailtrack::store
