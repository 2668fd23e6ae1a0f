#pragma once

// MysqlStore's parts share this: the error mapping, a connection and its result sets, SQL
// literals, and the store's state (MysqlStore::Impl: the pool and the transaction runner).
// Private to the store_mysql layer.

#include <mysql.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mailtrack/store/mysql_store.hpp"
#include "mailtrack/util/expected.hpp"

namespace mailtrack::store {

// ---- errors (mysql_errors.cpp)

// The connection is gone (or never came up): it is closed, and so are the idle ones beside it.
bool connection_lost(unsigned e);
// Restart the whole transaction: another writer won a lock race.
bool retryable(unsigned e);
util::ErrorKind mysql_kind_of(unsigned e);

// ---- a connection

struct Cell {
    const char* data = nullptr;  // null = SQL NULL
    std::size_t size = 0;
};

// One result set, fully fetched, read with a running column index like SqliteStore's Statement.
class Rows {
public:
    explicit Rows(MYSQL_RES* res) : m_res(res) {}
    Rows(Rows&& o) noexcept : m_res(std::exchange(o.m_res, nullptr)) {}
    Rows(const Rows&) = delete;
    Rows& operator=(const Rows&) = delete;
    Rows& operator=(Rows&&) = delete;
    ~Rows() {
        if (m_res != nullptr) mysql_free_result(m_res);
    }

    bool next() {
        if (m_res == nullptr) return false;
        m_row = mysql_fetch_row(m_res);
        m_lengths = m_row != nullptr ? mysql_fetch_lengths(m_res) : nullptr;
        m_col = 0;
        return m_row != nullptr;
    }
    std::size_t count() const { return m_res != nullptr ? static_cast<std::size_t>(mysql_num_rows(m_res)) : 0; }

    Cell cell() {
        const unsigned i = m_col++;
        return Cell{m_row[i], m_row[i] != nullptr ? m_lengths[i] : 0};
    }
    bool is_null() const { return m_row[m_col] == nullptr; }
    std::int64_t int64() {
        const Cell c = cell();
        std::int64_t v = 0;
        if (c.data != nullptr) v = std::strtoll(c.data, nullptr, 10);
        return v;
    }
    std::optional<util::UnixMillis> opt_int64() {
        if (is_null()) {
            ++m_col;
            return std::nullopt;
        }
        return int64();
    }
    std::string text() {
        const Cell c = cell();
        return c.data == nullptr ? std::string() : std::string(c.data, c.size);
    }
    core::EventId event_id() {
        const Cell c = cell();
        core::EventId id;
        if (c.data != nullptr && c.size == id.bytes.size()) std::memcpy(id.bytes.data(), c.data, id.bytes.size());
        return id;
    }

private:
    MYSQL_RES* m_res = nullptr;
    MYSQL_ROW m_row = nullptr;
    unsigned long* m_lengths = nullptr;
    unsigned m_col = 0;
};

struct Connection {
    MYSQL* db = nullptr;
    unsigned last_errno = 0;

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        if (db != nullptr) mysql_close(db);
    }

    util::Unexpected<util::Error> fail(std::string_view doing);
    util::Result<void> exec(std::string_view sql, std::string_view doing);
    util::Result<Rows> select(std::string_view sql, std::string_view doing);
    std::int64_t affected() { return static_cast<std::int64_t>(mysql_affected_rows(db)); }
};

// ---- SQL literals (mysql_sql.cpp)

void append_hex(std::string& out, const void* data, std::size_t size);
// Bytes as a hex literal: immune to escaping and character set questions.
std::string bin(std::string_view v);
// Optional text, empty stored as NULL (as SqliteStore does).
std::string text(std::string_view v);
inline std::string num(std::int64_t v) {
    return std::to_string(v);
}
inline std::string num(const std::optional<std::int64_t>& v) {
    return v ? std::to_string(*v) : "NULL";
}
std::string event(const core::EventId& id);  // NULL for the zero id
std::string event_key_literal(const core::EventId& id);

// Multi-row statements are cut at this much SQL text, well under the default max_allowed_packet (16 MiB+).
inline constexpr std::size_t k_max_statement_bytes = 4 * 1024 * 1024;

// Runs `head rows... tail` for the rows, as few statements as the size limit allows.
util::Result<void> insert_rows(Connection& c, const std::string& head, const std::vector<std::string>& rows,
                               const std::string& tail, std::string_view doing);

// ---- the store

struct MysqlStore::Impl {
    MysqlOptions options;
    int version = 0;
    std::optional<std::string> durability_warning;  // see MysqlStore::durability_warning()
    std::atomic<std::int64_t> retries{0};

    std::mutex mutex;
    std::condition_variable available;
    std::vector<std::unique_ptr<Connection>> idle;
    int open_connections = 0;

    // The statements' text, built once (mysql_upserts.cpp).
    std::string message_select, recipient_select, suppression_select, message_upsert_head, message_upsert_tail,
        recipient_upsert_head, recipient_upsert_tail, suppression_upsert_head, suppression_upsert_tail,
        stats_upsert_head, stats_upsert_tail;

    // The password in use: replaced (under its own mutex, connects run in parallel) when the
    // server refuses it and refresh_password gives a new one.
    std::mutex password_mutex;

    // mysql_pool.cpp
    util::Result<std::unique_ptr<Connection>> connect(bool with_database);
    // `error_number` gets the server's error number when the connect fails.
    util::Result<std::unique_ptr<Connection>> connect_with(bool with_database, const std::string& password,
                                                           unsigned& error_number);
    util::Result<std::unique_ptr<Connection>> acquire();
    void release(std::unique_ptr<Connection> c);

    // A connection for one call. The lease returns it, or drops it (and the idle ones, which
    // lost the same server) when the call found the connection gone.
    class Lease {
    public:
        Lease(Impl& impl, std::unique_ptr<Connection> c) : m_impl(impl), m_conn(std::move(c)) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { m_impl.release(std::move(m_conn)); }
        Connection& operator*() { return *m_conn; }
        Connection* operator->() { return m_conn.get(); }

    private:
        Impl& m_impl;
        std::unique_ptr<Connection> m_conn;
    };

    // Runs f(connection) in one transaction, restarting it after a deadlock or lock-wait
    // timeout (bounded, exponential backoff with jitter).
    template <typename F>
    auto in_transaction(F&& f) -> decltype(f(std::declval<Connection&>())) {
        thread_local std::minstd_rand jitter(std::random_device{}());
        for (int attempt = 0;; ++attempt) {
            MAILTRACK_TRY_ASSIGN(auto acquired, acquire());
            Lease c(*this, std::move(acquired));
            decltype(f(*c)) result = util::Unexpected(util::Error{});
            if (auto begun = c->exec("START TRANSACTION", "starting a transaction"); !begun) {
                result = util::Unexpected(std::move(begun).error());
            } else {
                result = f(*c);
                if (result) {
                    if (auto committed = c->exec("COMMIT", "committing"); committed)
                        return result;
                    else
                        result = util::Unexpected(std::move(committed).error());
                }
                const unsigned e = c->last_errno;
                if (!connection_lost(e)) {
                    (void)c->exec("ROLLBACK", "rolling back");
                    c->last_errno = e;
                }
            }
            if (retryable(c->last_errno) && attempt < options.max_retries) {
                retries.fetch_add(1, std::memory_order_relaxed);
                const int base_ms = 2 << std::min(attempt, 7);
                std::uniform_int_distribution<int> spread(base_ms / 2, base_ms + base_ms / 2);
                std::this_thread::sleep_for(std::chrono::milliseconds(spread(jitter)));
                continue;
            }
            return result;
        }
    }

    // Runs f(connection) outside a transaction (single statements, reads).
    template <typename F>
    auto with_connection(F&& f) -> decltype(f(std::declval<Connection&>())) {
        MAILTRACK_TRY_ASSIGN(auto acquired, acquire());
        Lease c(*this, std::move(acquired));
        return f(*c);
    }

    // mysql_schema.cpp
    util::Result<void> migrate(Connection& c);

    // mysql_upserts.cpp
    void build_statements();
    util::Result<void> write_states(
        Connection& c, const std::map<std::string, core::MessageState, std::less<>>& messages,
        const std::map<std::pair<std::string, std::string>, core::RecipientState>& recipients);
    util::Result<void> write_suppressions(Connection& c,
                                          const std::map<std::string, core::Suppression, std::less<>>& entries);
    std::string suppression_upsert(const core::Suppression& entry) const;

    // mysql_apply.cpp
    util::Result<ApplyResult> apply_in_transaction(Connection& c, std::span<const core::SesEvent* const> events,
                                                   std::int64_t batch_duplicates);

    // mysql_sends.cpp
    // The send the WHERE condition selects (locked when for_update), with its recipients.
    util::Result<std::optional<SendRecord>> read_send(Connection& c, std::string_view where, bool for_update);

    // mysql_queries.cpp
    util::Result<std::string> decompress(std::string_view frame, std::int64_t raw_size);
};

}  // namespace mailtrack::store
