#pragma once

// SqliteStore's parts share this: the thin RAII over sqlite3's C API, the error mapping, and
// the store's state (SqliteStore::Impl). Private to the store_sqlite layer.

#include <sqlite3.h>
#include <zstd.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "mailtrack/store/sqlite_store.hpp"
#include "mailtrack/store_sql/column.hpp"
#include "mailtrack/util/expected.hpp"

namespace mailtrack::store {

util::ErrorKind sqlite_kind_of(int rc);
util::Unexpected<util::Error> db_error(sqlite3* db, int rc, std::string_view doing);

class Statement {
public:
    Statement() = default;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() { sqlite3_finalize(m_stmt); }

    int prepare(sqlite3* db, const char* sql) {
        return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
    }
    sqlite3_stmt* get() const { return m_stmt; }

    // Binding, with a running index so row codecs read like column lists. Every use binds
    // every parameter, so reset() does not clear bindings. Text and blobs are bound without a
    // copy (SQLITE_STATIC): what is bound must stay alive until the step() that follows.
    void reset() {
        sqlite3_reset(m_stmt);
        m_bind = 0;
        m_col = 0;
    }
    void bind(std::int64_t v) { sqlite3_bind_int64(m_stmt, ++m_bind, v); }
    void bind(const std::optional<util::UnixMillis>& v) {
        if (v)
            bind(*v);
        else
            sqlite3_bind_null(m_stmt, ++m_bind);
    }
    void bind(std::string_view v) {
        if (v.empty())
            sqlite3_bind_null(m_stmt, ++m_bind);
        else
            sqlite3_bind_text(m_stmt, ++m_bind, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
    // Temporaries would be gone by the step(): refuse them.
    void bind(std::string&&) = delete;
    void bind(core::EventId&&) = delete;
    void bind(const core::EventId& id) {
        if (id == core::EventId{})
            sqlite3_bind_null(m_stmt, ++m_bind);
        else
            sqlite3_bind_blob(m_stmt, ++m_bind, id.bytes.data(), static_cast<int>(id.bytes.size()), SQLITE_STATIC);
    }
    void bind_blob(const void* data, std::size_t size) {
        sqlite3_bind_blob64(m_stmt, ++m_bind, data, size, SQLITE_STATIC);
    }
    // Binds every column of a column table (store_sql/columns.hpp) from `row`, in order.
    template <typename Table, typename Row>
    void bind_row(const Table& table, const Row& row) {
        sql::for_each_value(table, row, [&](const auto&, const auto& v) { bind(v); });
    }

    int step() {
        m_col = 0;
        return sqlite3_step(m_stmt);
    }

    bool is_null() const { return sqlite3_column_type(m_stmt, m_col) == SQLITE_NULL; }
    std::int64_t int64() { return sqlite3_column_int64(m_stmt, m_col++); }
    std::optional<util::UnixMillis> opt_int64() {
        if (is_null()) {
            ++m_col;
            return std::nullopt;
        }
        return int64();
    }
    std::string text() {
        const auto* p = sqlite3_column_text(m_stmt, m_col);
        const int n = sqlite3_column_bytes(m_stmt, m_col++);
        return p == nullptr ? std::string()
                            : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
    core::EventId event_id() {
        core::EventId id;
        const void* p = sqlite3_column_blob(m_stmt, m_col);
        const int n = sqlite3_column_bytes(m_stmt, m_col++);
        if (p != nullptr && n == static_cast<int>(id.bytes.size())) std::memcpy(id.bytes.data(), p, id.bytes.size());
        return id;
    }
    std::string_view blob() {
        const void* p = sqlite3_column_blob(m_stmt, m_col);
        const int n = sqlite3_column_bytes(m_stmt, m_col++);
        return p == nullptr ? std::string_view()
                            : std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n));
    }

private:
    sqlite3_stmt* m_stmt = nullptr;
    int m_bind = 0;
    int m_col = 0;
};

// Statements of the sending path, kept apart from the event path's.
struct SendStatements {
    Statement insert_send, insert_recipient, find_by_key, get_send, get_recipients, mark_attempt, mark_sent,
        mark_failed, find_linked_message;
};

struct SqliteStore::Impl {
    sqlite3* db = nullptr;
    SendStatements sends;
    SqliteOptions options;
    int version = 0;
    Statement begin, commit, rollback;
    Statement insert_event, next_archive, insert_archive;
    Statement get_message, insert_message, update_message;
    Statement get_recipient, insert_recipient, update_recipient;
    Statement get_suppression, put_suppression, delete_suppression, add_soft_bounce, get_soft_bounces;
    ZSTD_CCtx* cctx = nullptr;
    ZSTD_DCtx* dctx = nullptr;
    std::string archive_buffer;
    std::string compressed;

    ~Impl();

    // sqlite_db.cpp
    util::Result<void> exec(const char* sql, std::string_view doing);
    util::Result<void> enter_wal_mode();
    // A SELECT left on SQLITE_ROW keeps this connection's read transaction open. Once another
    // process commits, a write (BEGIN IMMEDIATE or an autocommit statement) then fails with
    // SQLITE_BUSY_SNAPSHOT ("database is locked") without waiting; and a COMMIT made while one
    // is open leaves the transaction open, so SQLite's automatic checkpoint after it fails
    // (SQLITE_LOCKED, silently) and the write-ahead log grows until the connection closes.
    // Every write path calls this first and every commit right before it.
    void release_snapshot();
    util::Result<void> prepare(Statement& s, const std::string& sql);
    util::Result<void> run(Statement& s, std::string_view doing);
    util::Result<std::string> decompress(std::string_view frame, std::int64_t raw_size);

    // sqlite_schema.cpp
    util::Result<int> read_version();
    util::Result<void> migrate();

    // sqlite_store.cpp
    util::Result<void> prepare_all();

    // sqlite_apply.cpp
    util::Result<ApplyResult> apply_in_transaction(std::span<const core::SesEvent> events);
    // Joins `m` (or `r`) with the stored row of its key, if any, and writes the result.
    util::Result<void> merge_message(core::MessageState& m);
    util::Result<void> merge_recipient(core::RecipientState& r);

    // sqlite_sends.cpp
    util::Result<void> prepare_send_statements();
    // The send the statement has just stepped onto, with its recipients.
    util::Result<SendRecord> read_send(Statement& row);
    util::Result<void> send_accepted_in_transaction(std::string_view send_id, std::string_view ses_message_id,
                                                    util::UnixMillis at);

    // Runs f inside BEGIN IMMEDIATE ... COMMIT, rolling back when f or the commit fails.
    template <typename F>
    auto in_transaction(F&& f) -> decltype(f()) {
        release_snapshot();
        begin.reset();
        MAILTRACK_TRY(run(begin, "starting a transaction"));
        auto result = f();
        if (result) {
            release_snapshot();
            commit.reset();
            if (auto r = run(commit, "committing"); r)
                return result;
            else
                result = util::Unexpected(std::move(r).error());
        }
        rollback.reset();
        (void)rollback.step();
        return result;
    }
};

}  // namespace mailtrack::store
