#include "mailtrack/store/sqlite_store.hpp"

#include <sqlite3.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "mailtrack/store/batch_effects.hpp"
#include "mailtrack/store/row_reader.hpp"

namespace mailtrack::store {
namespace {

using rows::read_message;
using rows::read_recipient;
using rows::read_suppression;
using rows::status_at;

using core::EventId;
using core::MessageState;
using core::RecipientState;
using util::ErrorKind;
using util::Result;
using util::UnixMillis;

// ---- schema ---------------------------------------------------------------------------------

struct Migration {
    int version;
    const char* sql;
};

constexpr Migration k_migrations[] = {
    {1, R"sql(
CREATE TABLE messages (
  message_id TEXT PRIMARY KEY,
  status INTEGER NOT NULL, status_at INTEGER NOT NULL, status_event BLOB,
  mail_timestamp INTEGER, source TEXT, subject TEXT, sending_account_id TEXT, source_arn TEXT,
  configuration_set TEXT, send_id TEXT, recipient_count INTEGER NOT NULL,
  opens INTEGER NOT NULL, first_open_at INTEGER, last_open_at INTEGER,
  clicks INTEGER NOT NULL, first_click_at INTEGER, last_click_at INTEGER,
  subscription_changes INTEGER NOT NULL, unsubscribed_at INTEGER,
  event_count INTEGER NOT NULL, unknown_events INTEGER NOT NULL,
  first_event_at INTEGER, last_event_at INTEGER
) WITHOUT ROWID;
CREATE INDEX messages_by_time ON messages(mail_timestamp);
CREATE INDEX messages_by_send ON messages(send_id) WHERE send_id IS NOT NULL;

CREATE TABLE recipients (
  message_id TEXT NOT NULL, address TEXT NOT NULL,
  status INTEGER NOT NULL, status_at INTEGER NOT NULL, status_event BLOB,
  delivered_at INTEGER, delivery_event BLOB, smtp_response TEXT, reporting_mta TEXT, processing_ms INTEGER,
  bounced_at INTEGER, bounce_event BLOB, bounce_type TEXT, bounce_subtype TEXT, bounce_action TEXT,
  bounce_status TEXT, diagnostic_code TEXT,
  complained_at INTEGER, complaint_event BLOB, feedback_type TEXT, complaint_subtype TEXT, complaint_user_agent TEXT,
  delayed_at INTEGER, delay_event BLOB, delay_type TEXT, delay_status TEXT, delay_diagnostic TEXT, delay_expires_at INTEGER,
  failed_at INTEGER, failure_event BLOB, failure_reason TEXT, failure_template TEXT,
  opens INTEGER NOT NULL, first_open_at INTEGER, last_open_at INTEGER,
  clicks INTEGER NOT NULL, first_click_at INTEGER, last_click_at INTEGER,
  subscription_changes INTEGER NOT NULL, unsubscribed_at INTEGER,
  soft_bounces INTEGER NOT NULL, event_count INTEGER NOT NULL, first_event_at INTEGER, last_event_at INTEGER,
  PRIMARY KEY (message_id, address)
) WITHOUT ROWID;
CREATE INDEX recipients_by_address ON recipients(address);
CREATE INDEX recipients_by_status ON recipients(status, last_event_at);

-- Every event once, by identity. The raw SES JSON lives in event_archive: one zstd frame per
-- applied batch, this row pointing at its slice. The key leads with the message id (which the
-- identity determines, as both come from the same JSON) so a message's events sit together
-- and inserts land near each other instead of at random hash positions; it also serves the
-- timeline, so no second index is needed.
CREATE TABLE events (
  message_id TEXT NOT NULL, event_id BLOB NOT NULL,
  type INTEGER NOT NULL, type_name TEXT NOT NULL, occurred_at INTEGER NOT NULL,
  archive_id INTEGER NOT NULL, archive_offset INTEGER NOT NULL, archive_length INTEGER NOT NULL,
  PRIMARY KEY (message_id, event_id)
) WITHOUT ROWID;

CREATE TABLE event_archive (
  archive_id INTEGER PRIMARY KEY, codec TEXT NOT NULL, raw_size INTEGER NOT NULL, data BLOB NOT NULL
);

CREATE TABLE suppressions (
  address TEXT PRIMARY KEY, reason INTEGER NOT NULL, since INTEGER NOT NULL, source_event BLOB,
  detail TEXT, expires_at INTEGER
) WITHOUT ROWID;

CREATE TABLE address_stats (
  address TEXT PRIMARY KEY, soft_bounces INTEGER NOT NULL, last_soft_bounce_at INTEGER
) WITHOUT ROWID;
)sql"},
    // The sending path (issue 5). A send is recorded before the SES call; its SES message id
    // is attached when SES answers. Idempotency keys are unique where given (NULLs are not).
    {2, R"sql(
CREATE TABLE sends (
  send_id TEXT PRIMARY KEY,
  idempotency_key TEXT UNIQUE,
  status INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, attempts INTEGER NOT NULL,
  from_address TEXT NOT NULL, subject TEXT, template_name TEXT, configuration_set TEXT,
  ses_message_id TEXT UNIQUE,
  error_code TEXT, error_message TEXT
) WITHOUT ROWID;
CREATE INDEX sends_by_status ON sends(status, created_at);

CREATE TABLE send_recipients (
  send_id TEXT NOT NULL REFERENCES sends(send_id),
  address TEXT NOT NULL, role INTEGER NOT NULL, skipped TEXT,
  PRIMARY KEY (send_id, address)
) WITHOUT ROWID;
)sql"},
};

// ---- thin RAII over the C API ---------------------------------------------------------------

ErrorKind kind_of(int rc) {
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_FULL:
        case SQLITE_READONLY:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_PROTOCOL:
            return ErrorKind::storage_unavailable;
        default:
            return ErrorKind::storage;
    }
}

util::Unexpected<util::Error> db_error(sqlite3* db, int rc, std::string_view doing) {
    std::string message = "sqlite: " + std::string(doing) + ": " + sqlite3_errstr(rc);
    if (db != nullptr && sqlite3_errmsg(db) != nullptr && std::strcmp(sqlite3_errmsg(db), sqlite3_errstr(rc)) != 0) {
        message += " (" + std::string(sqlite3_errmsg(db)) + ")";
    }
    return util::fail(kind_of(rc), std::move(message));
}

class Statement {
public:
    Statement() = default;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() { sqlite3_finalize(m_stmt); }

    int prepare(sqlite3* db, const char* sql) {
        m_db = db;
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
    void bind(const std::optional<UnixMillis>& v) {
        if (v) bind(*v);
        else sqlite3_bind_null(m_stmt, ++m_bind);
    }
    void bind(std::string_view v) {
        if (v.empty()) sqlite3_bind_null(m_stmt, ++m_bind);
        else sqlite3_bind_text(m_stmt, ++m_bind, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    }
    // Temporaries would be gone by the step(): refuse them.
    void bind(std::string&&) = delete;
    void bind(EventId&&) = delete;
    void bind(const EventId& id) {
        if (id == EventId{}) sqlite3_bind_null(m_stmt, ++m_bind);
        else sqlite3_bind_blob(m_stmt, ++m_bind, id.bytes.data(), static_cast<int>(id.bytes.size()), SQLITE_STATIC);
    }
    void bind_blob(const void* data, std::size_t size) {
        sqlite3_bind_blob64(m_stmt, ++m_bind, data, size, SQLITE_STATIC);
    }

    int step() {
        m_col = 0;
        return sqlite3_step(m_stmt);
    }

    bool is_null() const { return sqlite3_column_type(m_stmt, m_col) == SQLITE_NULL; }
    std::int64_t int64() { return sqlite3_column_int64(m_stmt, m_col++); }
    std::optional<UnixMillis> opt_int64() {
        if (is_null()) {
            ++m_col;
            return std::nullopt;
        }
        return int64();
    }
    std::string text() {
        const auto* p = sqlite3_column_text(m_stmt, m_col);
        const int n = sqlite3_column_bytes(m_stmt, m_col++);
        return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
    EventId event_id() {
        EventId id;
        const void* p = sqlite3_column_blob(m_stmt, m_col);
        const int n = sqlite3_column_bytes(m_stmt, m_col++);
        if (p != nullptr && n == static_cast<int>(id.bytes.size())) std::memcpy(id.bytes.data(), p, id.bytes.size());
        return id;
    }
    std::string_view blob() {
        const void* p = sqlite3_column_blob(m_stmt, m_col);
        const int n = sqlite3_column_bytes(m_stmt, m_col++);
        return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n));
    }

private:
    sqlite3* m_db = nullptr;
    sqlite3_stmt* m_stmt = nullptr;
    int m_bind = 0;
    int m_col = 0;
};

// ---- row codecs -----------------------------------------------------------------------------

void bind_engagement(Statement& s, const core::Engagement& e) {
    s.bind(e.opens);
    s.bind(e.first_open_at);
    s.bind(e.last_open_at);
    s.bind(e.clicks);
    s.bind(e.first_click_at);
    s.bind(e.last_click_at);
    s.bind(e.subscription_changes);
    s.bind(e.unsubscribed_at);
}

void bind_status(Statement& s, const core::StatusStamp& st) {
    s.bind(static_cast<std::int64_t>(core::precedence(st.status)));
    s.bind(st.at);
    s.bind(st.event);
}

constexpr const char* k_message_columns =
    "message_id, status, status_at, status_event, mail_timestamp, source, subject, sending_account_id, source_arn, "
    "configuration_set, send_id, recipient_count, opens, first_open_at, last_open_at, clicks, first_click_at, "
    "last_click_at, subscription_changes, unsubscribed_at, event_count, unknown_events, first_event_at, last_event_at";

void bind_message(Statement& s, const MessageState& m) {
    s.bind(m.message_id);
    bind_status(s, m.status);
    s.bind(m.mail_timestamp);
    s.bind(m.source);
    s.bind(m.subject);
    s.bind(m.sending_account_id);
    s.bind(m.source_arn);
    s.bind(m.configuration_set);
    s.bind(m.send_id);
    s.bind(m.recipient_count);
    bind_engagement(s, m.engagement);
    s.bind(m.event_count);
    s.bind(m.unknown_events);
    s.bind(m.first_event_at);
    s.bind(m.last_event_at);
}

constexpr const char* k_recipient_columns =
    "message_id, address, status, status_at, status_event, "
    "delivered_at, delivery_event, smtp_response, reporting_mta, processing_ms, "
    "bounced_at, bounce_event, bounce_type, bounce_subtype, bounce_action, bounce_status, diagnostic_code, "
    "complained_at, complaint_event, feedback_type, complaint_subtype, complaint_user_agent, "
    "delayed_at, delay_event, delay_type, delay_status, delay_diagnostic, delay_expires_at, "
    "failed_at, failure_event, failure_reason, failure_template, "
    "opens, first_open_at, last_open_at, clicks, first_click_at, last_click_at, subscription_changes, unsubscribed_at, "
    "soft_bounces, event_count, first_event_at, last_event_at";

// An absent fact is stored as a NULL timestamp; the other columns of it are then NULL too.
template <typename Fact>
std::optional<UnixMillis> fact_time(const std::optional<Fact>& f) {
    return f ? std::optional<UnixMillis>(f->at) : std::nullopt;
}

void bind_recipient(Statement& s, const RecipientState& r) {
    static const std::string k_empty;
    static const EventId k_no_event;
    s.bind(r.message_id);
    s.bind(r.address);
    bind_status(s, r.status);
    const auto& d = r.delivery;
    s.bind(fact_time(d));
    s.bind(d ? d->event : k_no_event);
    s.bind(d ? d->smtp_response : k_empty);
    s.bind(d ? d->reporting_mta : k_empty);
    s.bind(d ? std::optional<std::int64_t>(d->processing_time_millis) : std::nullopt);
    const auto& b = r.bounce;
    s.bind(fact_time(b));
    s.bind(b ? b->event : k_no_event);
    s.bind(b ? b->bounce_type : k_empty);
    s.bind(b ? b->bounce_subtype : k_empty);
    s.bind(b ? b->action : k_empty);
    s.bind(b ? b->status_code : k_empty);
    s.bind(b ? b->diagnostic_code : k_empty);
    const auto& c = r.complaint;
    s.bind(fact_time(c));
    s.bind(c ? c->event : k_no_event);
    s.bind(c ? c->feedback_type : k_empty);
    s.bind(c ? c->complaint_subtype : k_empty);
    s.bind(c ? c->user_agent : k_empty);
    const auto& y = r.delay;
    s.bind(fact_time(y));
    s.bind(y ? y->event : k_no_event);
    s.bind(y ? y->delay_type : k_empty);
    s.bind(y ? y->status_code : k_empty);
    s.bind(y ? y->diagnostic_code : k_empty);
    s.bind(y ? y->expiration_time : std::nullopt);
    const auto& f = r.failure;
    s.bind(fact_time(f));
    s.bind(f ? f->event : k_no_event);
    s.bind(f ? f->reason : k_empty);
    s.bind(f ? f->template_name : k_empty);
    bind_engagement(s, r.engagement);
    s.bind(r.soft_bounces);
    s.bind(r.event_count);
    s.bind(r.first_event_at);
    s.bind(r.last_event_at);
}

void bind_suppression(Statement& s, const core::Suppression& x) {
    s.bind(x.address);
    s.bind(static_cast<std::int64_t>(x.reason));
    s.bind(x.since);
    s.bind(x.source_event);
    s.bind(x.detail);
    s.bind(x.expires_at);
}

}  // namespace

// ---- the store ------------------------------------------------------------------------------

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

    ~Impl() {
        ZSTD_freeCCtx(cctx);
        ZSTD_freeDCtx(dctx);
        // close_v2 defers the close until the member statements are finalized after this body.
        sqlite3_close_v2(db);
    }

    Result<void> exec(const char* sql, std::string_view doing) {
        char* message = nullptr;
        const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
        if (rc != SQLITE_OK) {
            std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
            sqlite3_free(message);
            return util::fail(kind_of(rc), "sqlite: " + std::string(doing) + ": " + detail);
        }
        return {};
    }

    // Turning a new database to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY to
    // that without calling the busy handler: when another process is creating the same file
    // (a worker and a sender started together) the switch is retried here up to the busy timeout.
    Result<void> enter_wal_mode() {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
        for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, std::chrono::milliseconds(50))) {
            const int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
            if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) {
                return rc == SQLITE_OK ? Result<void>{} : db_error(db, rc, "switching to WAL mode");
            }
            std::this_thread::sleep_for(pause);
        }
    }

    // A SELECT left on SQLITE_ROW keeps this connection's read transaction open. Once another
    // process commits, a write (BEGIN IMMEDIATE or an autocommit statement) then fails with
    // SQLITE_BUSY_SNAPSHOT ("database is locked") without waiting; and a COMMIT made while one
    // is open leaves the transaction open, so SQLite's automatic checkpoint after it fails
    // (SQLITE_LOCKED, silently) and the write-ahead log grows until the connection closes.
    // Every write path calls this first and every commit right before it.
    void release_snapshot() {
        for (sqlite3_stmt* st = sqlite3_next_stmt(db, nullptr); st != nullptr; st = sqlite3_next_stmt(db, st)) {
            sqlite3_reset(st);
        }
    }

    Result<void> prepare(Statement& s, const std::string& sql) {
        const int rc = s.prepare(db, sql.c_str());
        if (rc != SQLITE_OK) return db_error(db, rc, "preparing " + sql.substr(0, 60));
        return {};
    }

    Result<void> run(Statement& s, std::string_view doing) {
        const int rc = s.step();
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_error(db, rc, doing);
        return {};
    }

    // The schema version, read with a statement that is reset at once: a statement left on
    // SQLITE_ROW keeps its read snapshot, and a BEGIN IMMEDIATE on a stale snapshot fails with
    // SQLITE_BUSY_SNAPSHOT without waiting for the busy timeout.
    Result<int> read_version() {
        Statement current;
        if (auto r = prepare(current, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"); !r) {
            return util::Unexpected(std::move(r).error());
        }
        if (current.step() != SQLITE_ROW) return db_error(db, sqlite3_errcode(db), "reading the schema version");
        const int found = static_cast<int>(current.int64());
        current.reset();
        return found;
    }

    // Several processes may open a new database at once (a worker and a sender): the pending
    // migrations are applied in one write transaction that reads the version again under the
    // write lock, so each migration is applied by exactly one of them and the others wait.
    Result<void> migrate() {
        if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
                          "creating schema_migrations");
            !r) {
            return r;
        }
        const int newest = k_migrations[std::size(k_migrations) - 1].version;
        auto check = [&](int found) -> Result<void> {
            if (found > newest) {
                return util::fail(ErrorKind::storage, "database schema version " + std::to_string(found) +
                                                          " is newer than this mailtrack knows (" + std::to_string(newest) +
                                                          ")");
            }
            version = found;
            return {};
        };
        auto seen = read_version();
        if (!seen) return util::Unexpected(std::move(seen).error());
        if (auto r = check(*seen); !r || version == newest) return r;
        if (auto r = exec("BEGIN IMMEDIATE", "starting a migration"); !r) return r;
        auto applied = [&]() -> Result<void> {
            auto locked = read_version();
            if (!locked) return util::Unexpected(std::move(locked).error());
            if (auto r = check(*locked); !r) return r;
            for (const Migration& m : k_migrations) {
                if (m.version <= version) continue;
                if (auto r = exec(m.sql, "migrating to version " + std::to_string(m.version)); !r) return r;
                const std::string record = "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) +
                                           ", strftime('%Y-%m-%dT%H:%M:%fZ','now'))";
                if (auto r = exec(record.c_str(), "recording a migration"); !r) return r;
            }
            return exec("COMMIT", "committing a migration");
        }();
        if (!applied) {
            (void)exec("ROLLBACK", "rolling back a migration");
            version = *seen;
            return applied;
        }
        version = newest;
        return {};
    }

    Result<void> prepare_all() {
        auto placeholders = [](int n) {
            std::string out = "?";
            for (int i = 1; i < n; ++i) out += ",?";
            return out;
        };
        // "UPDATE t SET c=?k+1, ... WHERE key=?1 AND ..." binding the same parameters, in the same
        // order, as the INSERT of all columns: the first `keys` columns are the key. An UPDATE of
        // an existing row leaves indexes on unchanged columns alone, where REPLACE rewrites them.
        auto update_sql = [](std::string_view table, std::string_view columns, int keys) {
            std::vector<std::string> names;
            for (std::size_t start = 0; start < columns.size();) {
                const std::size_t comma = std::min(columns.find(',', start), columns.size());
                std::string_view name = columns.substr(start, comma - start);
                while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
                names.emplace_back(name);
                start = comma + 1;
            }
            std::string set, where;
            for (std::size_t i = 0; i < names.size(); ++i) {
                std::string& part = static_cast<int>(i) < keys ? where : set;
                if (!part.empty()) part += static_cast<int>(i) < keys ? " AND " : ", ";
                part += names[i] + " = ?" + std::to_string(i + 1);
            }
            return "UPDATE " + std::string(table) + " SET " + set + " WHERE " + where;
        };
        const std::pair<Statement*, std::string> statements[] = {
            {&begin, "BEGIN IMMEDIATE"},
            {&commit, "COMMIT"},
            {&rollback, "ROLLBACK"},
            {&insert_event,
             "INSERT OR IGNORE INTO events (event_id, message_id, type, type_name, occurred_at, archive_id, "
             "archive_offset, archive_length) VALUES (?,?,?,?,?,?,?,?)"},
            {&next_archive, "SELECT COALESCE(MAX(archive_id), 0) + 1 FROM event_archive"},
            {&insert_archive, "INSERT INTO event_archive (archive_id, codec, raw_size, data) VALUES (?, 'zstd', ?, ?)"},
            {&get_message, std::string("SELECT ") + k_message_columns + " FROM messages WHERE message_id = ?"},
            {&insert_message, std::string("INSERT INTO messages (") + k_message_columns + ") VALUES (" +
                                  placeholders(24) + ")"},
            {&update_message, update_sql("messages", k_message_columns, 1)},
            {&get_recipient,
             std::string("SELECT ") + k_recipient_columns + " FROM recipients WHERE message_id = ? AND address = ?"},
            {&insert_recipient, std::string("INSERT INTO recipients (") + k_recipient_columns + ") VALUES (" +
                                    placeholders(44) + ")"},
            {&update_recipient, update_sql("recipients", k_recipient_columns, 2)},
            {&get_suppression,
             "SELECT address, reason, since, source_event, detail, expires_at FROM suppressions WHERE address = ?"},
            {&put_suppression,
             "INSERT OR REPLACE INTO suppressions (address, reason, since, source_event, detail, expires_at) "
             "VALUES (?,?,?,?,?,?)"},
            {&delete_suppression, "DELETE FROM suppressions WHERE address = ?"},
            {&add_soft_bounce,
             "INSERT INTO address_stats (address, soft_bounces, last_soft_bounce_at) VALUES (?, ?, ?) "
             "ON CONFLICT(address) DO UPDATE SET soft_bounces = soft_bounces + excluded.soft_bounces, "
             "last_soft_bounce_at = MAX(COALESCE(last_soft_bounce_at, 0), excluded.last_soft_bounce_at)"},
            {&get_soft_bounces, "SELECT soft_bounces FROM address_stats WHERE address = ?"},
        };
        for (const auto& [stmt, sql] : statements) {
            if (auto r = prepare(*stmt, sql); !r) return r;
        }
        return {};
    }

    Result<std::string> decompress(std::string_view frame, std::int64_t raw_size) {
        std::string out(static_cast<std::size_t>(raw_size), '\0');
        const std::size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), frame.data(), frame.size());
        if (ZSTD_isError(n) || n != out.size()) {
            return util::fail(ErrorKind::storage, std::string("event archive is corrupt: ") +
                                                      (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
        }
        return out;
    }

    Result<ApplyResult> apply_in_transaction(std::span<const core::SesEvent> events);

    Result<void> prepare_send_statements();
    Result<std::optional<SendRecord>> read_send(Statement& row);
    Result<void> send_accepted_in_transaction(std::string_view send_id, std::string_view ses_message_id, UnixMillis at);
    // Runs f inside BEGIN IMMEDIATE ... COMMIT, rolling back when f or the commit fails.
    template <typename F>
    auto in_transaction(F&& f) -> decltype(f());
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const { return m_impl->version; }

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options) {
    // Memory statistics cost a global mutex on every SQLite allocation; we never read them.
    // This only takes effect before SQLite initializes (the first open), and is harmless after.
    static const bool k_memstatus_off = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
    (void)k_memstatus_off;
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(options.path.c_str(), &impl->db, flags, nullptr);
    if (rc != SQLITE_OK) {
        auto err = db_error(impl->db, rc, "opening " + options.path);
        return err;
    }
    sqlite3_extended_result_codes(impl->db, 1);
    sqlite3_busy_timeout(impl->db, options.busy_timeout_ms);
    if (auto r = impl->enter_wal_mode(); !r) return util::Unexpected(std::move(r).error());
    const char* sync = options.synchronous == SqliteSync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    for (const char* pragma : {sync, "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
        if (auto r = impl->exec(pragma, pragma); !r) return util::Unexpected(std::move(r).error());
    }
    // A negative cache_size is in KiB.
    const std::string cache = "PRAGMA cache_size=-" + std::to_string(std::max(64, options.cache_kib));
    if (auto r = impl->exec(cache.c_str(), "setting the page cache size"); !r) return util::Unexpected(std::move(r).error());
    if (auto r = impl->migrate(); !r) return util::Unexpected(std::move(r).error());
    if (auto r = impl->prepare_all(); !r) return util::Unexpected(std::move(r).error());
    if (auto r = impl->prepare_send_statements(); !r) return util::Unexpected(std::move(r).error());
    impl->cctx = ZSTD_createCCtx();
    impl->dctx = ZSTD_createDCtx();
    if (impl->cctx == nullptr || impl->dctx == nullptr) return util::fail(ErrorKind::internal, "zstd: out of memory");
    ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_compressionLevel, options.archive_zstd_level);
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

Result<ApplyResult> SqliteStore::apply(std::span<const core::SesEvent> events) {
    Impl& s = *m_impl;
    if (events.empty()) return ApplyResult{};
    s.release_snapshot();
    s.begin.reset();
    if (auto r = s.run(s.begin, "starting a transaction"); !r) return util::Unexpected(std::move(r).error());
    auto result = s.apply_in_transaction(events);
    if (result) {
        s.release_snapshot();
        s.commit.reset();
        if (auto r = s.run(s.commit, "committing"); !r) {
            s.rollback.reset();
            (void)s.rollback.step();
            return util::Unexpected(std::move(r).error());
        }
        return result;
    }
    s.rollback.reset();
    (void)s.rollback.step();
    return result;
}

Result<ApplyResult> SqliteStore::Impl::apply_in_transaction(std::span<const core::SesEvent> events) {
    ApplyResult result;
    next_archive.reset();
    if (next_archive.step() != SQLITE_ROW) return db_error(db, sqlite3_errcode(db), "allocating an archive id");
    const std::int64_t archive_id = next_archive.int64();
    archive_buffer.clear();

    // The batch's effects, joined in memory first so each row is read and written once.
    BatchEffects effects;

    for (const core::SesEvent& ev : events) {
        insert_event.reset();
        insert_event.bind(ev.id);
        insert_event.bind(ev.mail.message_id);
        insert_event.bind(static_cast<std::int64_t>(ev.type));
        insert_event.bind(ev.type_name);
        insert_event.bind(ev.occurred_at);
        insert_event.bind(archive_id);
        insert_event.bind(static_cast<std::int64_t>(archive_buffer.size()));
        insert_event.bind(static_cast<std::int64_t>(ev.raw_json.size()));
        if (auto r = run(insert_event, "recording an event"); !r) return util::Unexpected(std::move(r).error());
        if (sqlite3_changes(db) == 0) {
            ++result.duplicates;
            continue;
        }
        archive_buffer += ev.raw_json;
        ++(ev.type == core::EventType::unknown ? result.unknown : result.applied);

        effects.add(ev);
    }
    if (archive_buffer.empty()) return result;

    for (auto& [id, m] : effects.messages) {
        get_message.reset();
        get_message.bind(id);
        const int rc = get_message.step();
        if (rc == SQLITE_ROW) {
            MessageState stored = read_message(get_message);
            merge_into(m, stored);
        } else if (rc != SQLITE_DONE) {
            return db_error(db, rc, "reading a message");
        }
        Statement& put = rc == SQLITE_ROW ? update_message : insert_message;
        put.reset();
        bind_message(put, m);
        if (auto r = run(put, "writing a message"); !r) return util::Unexpected(std::move(r).error());
    }
    for (auto& [key, r] : effects.recipients) {
        get_recipient.reset();
        get_recipient.bind(key.first);
        get_recipient.bind(key.second);
        const int rc = get_recipient.step();
        if (rc == SQLITE_ROW) {
            RecipientState stored = read_recipient(get_recipient);
            merge_into(r, stored);
        } else if (rc != SQLITE_DONE) {
            return db_error(db, rc, "reading a recipient");
        }
        Statement& put = rc == SQLITE_ROW ? update_recipient : insert_recipient;
        put.reset();
        bind_recipient(put, r);
        if (auto w = run(put, "writing a recipient"); !w) return util::Unexpected(std::move(w).error());
    }
    for (auto& [address, x] : effects.suppressions) {
        get_suppression.reset();
        get_suppression.bind(address);
        const int rc = get_suppression.step();
        if (rc == SQLITE_ROW) {
            merge_into(x, read_suppression(get_suppression));
        } else if (rc != SQLITE_DONE) {
            return db_error(db, rc, "reading a suppression");
        }
        put_suppression.reset();
        bind_suppression(put_suppression, x);
        if (auto w = run(put_suppression, "writing a suppression"); !w) return util::Unexpected(std::move(w).error());
    }
    for (const auto& [address, v] : effects.soft_bounces) {
        add_soft_bounce.reset();
        add_soft_bounce.bind(address);
        add_soft_bounce.bind(v.first);
        add_soft_bounce.bind(v.second);
        if (auto w = run(add_soft_bounce, "counting a soft bounce"); !w) return util::Unexpected(std::move(w).error());
    }

    compressed.resize(ZSTD_compressBound(archive_buffer.size()));
    const std::size_t n = ZSTD_compress2(cctx, compressed.data(), compressed.size(), archive_buffer.data(),
                                         archive_buffer.size());
    if (ZSTD_isError(n)) return util::fail(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    insert_archive.reset();
    insert_archive.bind(archive_id);
    insert_archive.bind(static_cast<std::int64_t>(archive_buffer.size()));
    insert_archive.bind_blob(compressed.data(), n);
    if (auto r = run(insert_archive, "archiving raw events"); !r) return util::Unexpected(std::move(r).error());
    return result;
}

Result<std::optional<MessageView>> SqliteStore::message(std::string_view message_id, bool with_raw_json) {
    Impl& s = *m_impl;
    s.get_message.reset();
    s.get_message.bind(message_id);
    const int rc = s.get_message.step();
    if (rc == SQLITE_DONE) return std::optional<MessageView>();
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading a message");
    MessageView view;
    view.message = read_message(s.get_message);
    s.get_message.reset();

    Statement rs;
    if (auto r = s.prepare(rs, std::string("SELECT ") + k_recipient_columns +
                                   " FROM recipients WHERE message_id = ? ORDER BY address");
        !r) {
        return util::Unexpected(std::move(r).error());
    }
    rs.bind(message_id);
    int step = 0;
    while ((step = rs.step()) == SQLITE_ROW) view.recipients.push_back(read_recipient(rs));
    if (step != SQLITE_DONE) return db_error(s.db, step, "reading recipients");

    Statement es;
    if (auto r = s.prepare(es,
                           "SELECT e.event_id, e.type, e.type_name, e.occurred_at, e.archive_offset, e.archive_length, "
                           "e.archive_id FROM events e WHERE e.message_id = ? ORDER BY e.occurred_at, e.event_id");
        !r) {
        return util::Unexpected(std::move(r).error());
    }
    es.bind(message_id);
    std::unordered_map<std::int64_t, std::string> archives;
    Statement as;
    if (with_raw_json) {
        if (auto r = s.prepare(as, "SELECT raw_size, data FROM event_archive WHERE archive_id = ?"); !r) {
            return util::Unexpected(std::move(r).error());
        }
    }
    while ((step = es.step()) == SQLITE_ROW) {
        EventRecord e;
        e.id = es.event_id();
        const auto type = es.int64();
        e.type = type >= 0 && type < core::k_event_type_count ? static_cast<core::EventType>(type) : core::EventType::unknown;
        e.type_name = es.text();
        e.message_id = std::string(message_id);
        e.occurred_at = es.int64();
        const auto offset = es.int64();
        const auto length = es.int64();
        const auto archive_id = es.int64();
        if (with_raw_json) {
            auto it = archives.find(archive_id);
            if (it == archives.end()) {
                as.reset();
                as.bind(archive_id);
                if (as.step() != SQLITE_ROW) return util::fail(ErrorKind::storage, "event archive " + std::to_string(archive_id) + " is missing");
                const auto raw_size = as.int64();
                auto data = s.decompress(as.blob(), raw_size);
                if (!data) return util::Unexpected(std::move(data).error());
                it = archives.emplace(archive_id, std::move(*data)).first;
            }
            if (offset < 0 || length < 0 || static_cast<std::size_t>(offset + length) > it->second.size()) {
                return util::fail(ErrorKind::storage, "event archive slice out of range for event " + e.id.hex());
            }
            e.raw_json = it->second.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
        }
        view.events.push_back(std::move(e));
    }
    if (step != SQLITE_DONE) return db_error(s.db, step, "reading events");
    return std::optional<MessageView>(std::move(view));
}

Result<std::vector<RecipientState>> SqliteStore::recipients(const RecipientFilter& filter) {
    Impl& s = *m_impl;
    std::string sql = std::string("SELECT ") + k_recipient_columns + " FROM recipients WHERE 1=1";
    if (filter.address) sql += " AND address = ?";
    if (filter.status) sql += " AND status = ?";
    if (filter.since) sql += " AND last_event_at >= ?";
    sql += " ORDER BY last_event_at DESC, message_id, address LIMIT ?";
    Statement q;
    if (auto r = s.prepare(q, sql); !r) return util::Unexpected(std::move(r).error());
    if (filter.address) q.bind(*filter.address);
    if (filter.status) q.bind(static_cast<std::int64_t>(core::precedence(*filter.status)));
    if (filter.since) q.bind(*filter.since);
    q.bind(static_cast<std::int64_t>(filter.limit));
    std::vector<RecipientState> out;
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_recipient(q));
    if (rc != SQLITE_DONE) return db_error(s.db, rc, "listing recipients");
    return out;
}

Result<DeliveryCounts> SqliteStore::counts(std::optional<UnixMillis> since) {
    Impl& s = *m_impl;
    const std::string where = since ? " WHERE m.mail_timestamp >= ?1" : "";
    Statement q;
    // Bounces onto the account suppression list are not attempts and SES leaves them out of
    // the bounce rate; so do we.
    const std::string sql =
        "SELECT r.status, COUNT(*), SUM(r.delivered_at IS NOT NULL), "
        "SUM(r.status = 7 AND COALESCE(r.bounce_subtype, '') <> 'OnAccountSuppressionList'), "
        "SUM(r.complained_at IS NOT NULL) FROM recipients r JOIN messages m USING (message_id)" +
        where + " GROUP BY r.status";
    if (auto r = s.prepare(q, sql); !r) return util::Unexpected(std::move(r).error());
    if (since) q.bind(*since);
    DeliveryCounts c;
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW) {
        const auto status = q.int64();
        const auto n = q.int64();
        if (status >= 0 && status < core::k_status_count) c.by_status[status] = n;
        c.recipients += n;
        c.delivered += q.int64();
        c.hard_bounced += q.int64();
        c.complained += q.int64();
        const auto st = status_at(status);
        if (st != core::RecipientStatus::queued && st != core::RecipientStatus::rejected &&
            st != core::RecipientStatus::rendering_failed) {
            c.sent += n;
        }
    }
    if (rc != SQLITE_DONE) return db_error(s.db, rc, "counting recipients");
    Statement m;
    if (auto r = s.prepare(m, "SELECT COUNT(*), COALESCE(SUM(opens), 0), COALESCE(SUM(clicks), 0) FROM messages m" + where);
        !r) {
        return util::Unexpected(std::move(r).error());
    }
    if (since) m.bind(*since);
    if ((rc = m.step()) != SQLITE_ROW) return db_error(s.db, rc, "counting messages");
    c.messages = m.int64();
    c.opens = m.int64();
    c.clicks = m.int64();
    return c;
}

Result<StoreInfo> SqliteStore::info() {
    Impl& s = *m_impl;
    Statement q;
    if (auto r = s.prepare(q, "SELECT (SELECT COUNT(*) FROM events), (SELECT COALESCE(SUM(raw_size), 0) FROM event_archive), "
                              "(SELECT COALESCE(SUM(LENGTH(data)), 0) FROM event_archive)");
        !r) {
        return util::Unexpected(std::move(r).error());
    }
    if (const int rc = q.step(); rc != SQLITE_ROW) return db_error(s.db, rc, "reading store info");
    StoreInfo i;
    i.events = q.int64();
    i.archived_raw_bytes = q.int64();
    i.archived_stored_bytes = q.int64();
    return i;
}

Result<std::vector<core::Suppression>> SqliteStore::suppressions() {
    Impl& s = *m_impl;
    Statement q;
    if (auto r = s.prepare(q, "SELECT address, reason, since, source_event, detail, expires_at FROM suppressions ORDER BY address");
        !r) {
        return util::Unexpected(std::move(r).error());
    }
    std::vector<core::Suppression> out;
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_suppression(q));
    if (rc != SQLITE_DONE) return db_error(s.db, rc, "listing suppressions");
    return out;
}

Result<std::optional<core::Suppression>> SqliteStore::suppression(std::string_view address) {
    Impl& s = *m_impl;
    s.get_suppression.reset();
    s.get_suppression.bind(address);
    const int rc = s.get_suppression.step();
    if (rc == SQLITE_DONE) return std::optional<core::Suppression>();
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading a suppression");
    auto x = read_suppression(s.get_suppression);
    s.get_suppression.reset();
    return std::optional<core::Suppression>(std::move(x));
}

Result<void> SqliteStore::suppress(const core::Suppression& entry) {
    auto existing = suppression(entry.address);
    if (!existing) return util::Unexpected(std::move(existing).error());
    core::Suppression merged = entry;
    if (*existing) merge_into(merged, **existing);
    Impl& s = *m_impl;
    s.release_snapshot();
    s.put_suppression.reset();
    bind_suppression(s.put_suppression, merged);
    return s.run(s.put_suppression, "writing a suppression");
}

Result<bool> SqliteStore::unsuppress(std::string_view address) {
    Impl& s = *m_impl;
    s.release_snapshot();
    s.delete_suppression.reset();
    s.delete_suppression.bind(address);
    if (auto r = s.run(s.delete_suppression, "removing a suppression"); !r) return util::Unexpected(std::move(r).error());
    return sqlite3_changes(s.db) > 0;
}

Result<std::int64_t> SqliteStore::soft_bounces(std::string_view address) {
    Impl& s = *m_impl;
    s.get_soft_bounces.reset();
    s.get_soft_bounces.bind(address);
    const int rc = s.get_soft_bounces.step();
    if (rc == SQLITE_DONE) return std::int64_t{0};
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading soft bounces");
    const auto n = s.get_soft_bounces.int64();
    s.get_soft_bounces.reset();
    return n;
}

// ---- sends ----------------------------------------------------------------------------------

namespace {
constexpr const char* k_send_columns =
    "send_id, idempotency_key, status, created_at, updated_at, attempts, from_address, subject, template_name, "
    "configuration_set, ses_message_id, error_code, error_message";
}  // namespace

Result<void> SqliteStore::Impl::prepare_send_statements() {
    const std::string select = std::string("SELECT ") + k_send_columns + " FROM sends ";
    const std::pair<Statement*, std::string> statements[] = {
        {&sends.insert_send, std::string("INSERT INTO sends (") + k_send_columns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"},
        {&sends.insert_recipient, "INSERT INTO send_recipients (send_id, address, role, skipped) VALUES (?,?,?,?)"},
        {&sends.find_by_key, select + "WHERE idempotency_key = ?"},
        {&sends.get_send, select + "WHERE send_id = ?"},
        {&sends.get_recipients, "SELECT address, role, skipped FROM send_recipients WHERE send_id = ? ORDER BY role, address"},
        {&sends.mark_attempt,
         "UPDATE sends SET status = 0, attempts = attempts + 1, updated_at = ?2, error_code = NULL, error_message = NULL "
         "WHERE send_id = ?1"},
        {&sends.mark_sent,
         "UPDATE sends SET status = 1, ses_message_id = ?2, updated_at = ?3, error_code = NULL, error_message = NULL "
         "WHERE send_id = ?1"},
        // A failure never overwrites a recorded success (a late error report of an accepted send).
        {&sends.mark_failed,
         "UPDATE sends SET status = 2, error_code = ?2, error_message = ?3, updated_at = ?4 "
         "WHERE send_id = ?1 AND status <> 1"},
        {&sends.find_linked_message, "SELECT message_id FROM messages WHERE send_id = ? ORDER BY message_id LIMIT 1"},
    };
    for (const auto& [stmt, sql] : statements) {
        if (auto r = prepare(*stmt, sql); !r) return r;
    }
    return {};
}

template <typename F>
auto SqliteStore::Impl::in_transaction(F&& f) -> decltype(f()) {
    release_snapshot();
    begin.reset();
    if (auto r = run(begin, "starting a transaction"); !r) return util::Unexpected(std::move(r).error());
    auto result = f();
    if (result) {
        release_snapshot();
        commit.reset();
        if (auto r = run(commit, "committing"); r) return result;
        else result = util::Unexpected(std::move(r).error());
    }
    rollback.reset();
    (void)rollback.step();
    return result;
}

// Reads the send the statement has just stepped onto, then its recipients.
Result<std::optional<SendRecord>> SqliteStore::Impl::read_send(Statement& row) {
    SendRecord x;
    x.send_id = row.text();
    x.idempotency_key = row.text();
    const auto status = row.int64();
    x.status = status == 1 ? SendStatus::sent : status == 2 ? SendStatus::failed : SendStatus::queued;
    x.created_at = row.int64();
    x.updated_at = row.int64();
    x.attempts = row.int64();
    x.from = row.text();
    x.subject = row.text();
    x.template_name = row.text();
    x.configuration_set = row.text();
    x.ses_message_id = row.text();
    x.error_code = row.text();
    x.error_message = row.text();
    row.reset();

    Statement& rs = sends.get_recipients;
    rs.reset();
    rs.bind(x.send_id);
    int rc = 0;
    while ((rc = rs.step()) == SQLITE_ROW) {
        SendRecipient r;
        r.address = rs.text();
        const auto role = rs.int64();
        r.role = role == 1 ? RecipientRole::cc : role == 2 ? RecipientRole::bcc : RecipientRole::to;
        r.skipped = rs.text();
        x.recipients.push_back(std::move(r));
    }
    rs.reset();
    if (rc != SQLITE_DONE) return db_error(db, rc, "reading send recipients");

    if (x.ses_message_id.empty()) {
        Statement& link = sends.find_linked_message;
        link.reset();
        link.bind(x.send_id);
        rc = link.step();
        if (rc == SQLITE_ROW) {
            x.ses_message_id = link.text();
            x.linked_by_event = true;
            x.status = SendStatus::sent;
        } else if (rc != SQLITE_DONE) {
            return db_error(db, rc, "looking for a message linked to a send");
        }
        link.reset();
    }
    return std::optional<SendRecord>(std::move(x));
}

Result<SendClaim> SqliteStore::begin_send(const SendRecord& draft) {
    Impl& s = *m_impl;
    SendStatements& q = s.sends;
    return s.in_transaction([&]() -> Result<SendClaim> {
        if (!draft.idempotency_key.empty()) {
            q.find_by_key.reset();
            q.find_by_key.bind(draft.idempotency_key);
            const int rc = q.find_by_key.step();
            if (rc == SQLITE_ROW) {
                auto existing = s.read_send(q.find_by_key);
                if (!existing) return util::Unexpected(std::move(existing).error());
                return SendClaim{std::move(**existing), false};
            }
            if (rc != SQLITE_DONE) return db_error(s.db, rc, "looking up an idempotency key");
        }
        q.insert_send.reset();
        q.insert_send.bind(draft.send_id);
        q.insert_send.bind(draft.idempotency_key);
        q.insert_send.bind(std::int64_t{0});
        q.insert_send.bind(draft.created_at);
        q.insert_send.bind(draft.created_at);
        q.insert_send.bind(std::int64_t{1});
        q.insert_send.bind(draft.from);
        q.insert_send.bind(draft.subject);
        q.insert_send.bind(draft.template_name);
        q.insert_send.bind(draft.configuration_set);
        q.insert_send.bind(std::string_view());
        q.insert_send.bind(std::string_view());
        q.insert_send.bind(std::string_view());
        if (auto r = s.run(q.insert_send, "recording a send"); !r) return util::Unexpected(std::move(r).error());
        for (const SendRecipient& r : draft.recipients) {
            q.insert_recipient.reset();
            q.insert_recipient.bind(draft.send_id);
            q.insert_recipient.bind(r.address);
            q.insert_recipient.bind(static_cast<std::int64_t>(r.role));
            q.insert_recipient.bind(r.skipped);
            if (auto w = s.run(q.insert_recipient, "recording a send recipient"); !w) {
                return util::Unexpected(std::move(w).error());
            }
        }
        SendClaim claim{draft, true};
        claim.send.status = SendStatus::queued;
        claim.send.attempts = 1;
        claim.send.updated_at = draft.created_at;
        return claim;
    });
}

Result<void> SqliteStore::retry_send(std::string_view send_id, UnixMillis at) {
    Impl& s = *m_impl;
    s.release_snapshot();
    s.sends.mark_attempt.reset();
    s.sends.mark_attempt.bind(send_id);
    s.sends.mark_attempt.bind(at);
    if (auto r = s.run(s.sends.mark_attempt, "starting a send attempt"); !r) return r;
    if (sqlite3_changes(s.db) == 0) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
    return {};
}

Result<void> SqliteStore::Impl::send_accepted_in_transaction(std::string_view send_id, std::string_view ses_message_id,
                                                             UnixMillis at) {
    sends.get_send.reset();
    sends.get_send.bind(send_id);
    const int rc = sends.get_send.step();
    if (rc == SQLITE_DONE) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
    if (rc != SQLITE_ROW) return db_error(db, rc, "reading a send");
    auto stored = read_send(sends.get_send);
    if (!stored) return util::Unexpected(std::move(stored).error());
    const SendRecord& send = **stored;

    sends.mark_sent.reset();
    sends.mark_sent.bind(send_id);
    sends.mark_sent.bind(ses_message_id);
    sends.mark_sent.bind(at);
    if (auto r = run(sends.mark_sent, "recording an SES message id"); !r) return r;

    // The message row as the sending path knows it, joined with what events may have stored:
    // the same join the event path uses, so the order of the two does not matter.
    MessageState m;
    m.message_id = std::string(ses_message_id);
    m.status = core::StatusStamp{core::RecipientStatus::queued, at, EventId{}};
    m.mail_timestamp = at;
    m.source = send.from;
    m.subject = send.subject;
    m.configuration_set = send.configuration_set;
    m.send_id = std::string(send_id);
    std::vector<RecipientState> recipients;
    for (const SendRecipient& r : send.recipients) {
        if (!r.skipped.empty()) continue;
        RecipientState st;
        st.message_id = m.message_id;
        st.address = r.address;
        st.status = core::StatusStamp{core::RecipientStatus::queued, at, EventId{}};
        recipients.push_back(std::move(st));
    }
    m.recipient_count = static_cast<std::int64_t>(recipients.size());

    get_message.reset();
    get_message.bind(m.message_id);
    const int mrc = get_message.step();
    if (mrc == SQLITE_ROW) merge_into(m, read_message(get_message));
    else if (mrc != SQLITE_DONE) return db_error(db, mrc, "reading a message");
    Statement& put_message = mrc == SQLITE_ROW ? update_message : insert_message;
    put_message.reset();
    bind_message(put_message, m);
    if (auto r = run(put_message, "writing a message"); !r) return r;
    get_message.reset();

    for (RecipientState& r : recipients) {
        get_recipient.reset();
        get_recipient.bind(r.message_id);
        get_recipient.bind(r.address);
        const int rrc = get_recipient.step();
        if (rrc == SQLITE_ROW) merge_into(r, read_recipient(get_recipient));
        else if (rrc != SQLITE_DONE) return db_error(db, rrc, "reading a recipient");
        Statement& put = rrc == SQLITE_ROW ? update_recipient : insert_recipient;
        put.reset();
        bind_recipient(put, r);
        if (auto w = run(put, "writing a recipient"); !w) return w;
        get_recipient.reset();
    }
    return {};
}

Result<void> SqliteStore::send_accepted(std::string_view send_id, std::string_view ses_message_id, UnixMillis at) {
    if (ses_message_id.empty()) return util::fail(ErrorKind::invalid_input, "empty SES message id");
    Impl& s = *m_impl;
    return s.in_transaction([&] { return s.send_accepted_in_transaction(send_id, ses_message_id, at); });
}

Result<void> SqliteStore::send_failed(std::string_view send_id, std::string_view error_code, std::string_view error_message,
                                      UnixMillis at) {
    Impl& s = *m_impl;
    s.release_snapshot();
    Statement& q = s.sends.mark_failed;
    q.reset();
    q.bind(send_id);
    q.bind(error_code);
    q.bind(error_message);
    q.bind(at);
    return s.run(q, "recording a failed send");
}

Result<std::optional<SendRecord>> SqliteStore::send(std::string_view send_id) {
    Impl& s = *m_impl;
    s.sends.get_send.reset();
    s.sends.get_send.bind(send_id);
    const int rc = s.sends.get_send.step();
    if (rc == SQLITE_DONE) {
        s.sends.get_send.reset();
        return std::optional<SendRecord>();
    }
    if (rc != SQLITE_ROW) return db_error(s.db, rc, "reading a send");
    return s.read_send(s.sends.get_send);
}

}  // namespace mailtrack::store
