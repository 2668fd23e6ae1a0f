#include "mailtrack/store/sqlite_store.hpp"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "mailtrack/store_sql/shared_sql.hpp"

#include "sqlite_db.hpp"

// Opening: the connection, its pragmas, the migrations and the event path's statements.

namespace mailtrack::store {
namespace {

using util::ErrorKind;
using util::Result;

std::string placeholders(std::size_t n) {
    std::string out = "?";
    for (std::size_t i = 1; i < n; ++i) out += ",?";
    return out;
}

// "UPDATE t SET c = ?k, ... WHERE key = ?1 AND ..." binding the same parameters, in the same
// order, as the INSERT of all columns (Statement::bind_row). An UPDATE of an existing row
// leaves indexes on unchanged columns alone, where REPLACE rewrites them.
template <typename Table>
std::string update_sql(std::string_view table, const Table& columns) {
    std::string set, where;
    std::size_t i = 0;
    sql::for_each_column(columns, [&](const auto& c) {
        const bool key = c.join == sql::Join::key;
        std::string& part = key ? where : set;
        if (!part.empty()) part += key ? " AND " : ", ";
        part += std::string(c.name) + " = ?" + std::to_string(++i);
    });
    return "UPDATE " + std::string(table) + " SET " + set + " WHERE " + where;
}

template <typename Table>
std::string insert_sql(std::string_view verb, std::string_view table, const Table& columns) {
    return std::string(verb) + " INTO " + std::string(table) + " (" + sql::column_names(columns) + ") VALUES (" +
           placeholders(sql::k_column_count<Table>) + ")";
}

// A read command must not answer from a database it just created: without SQLITE_OPEN_CREATE
// a missing file is SQLITE_CANTOPEN, which says too little, so the path is checked first.
Result<void> check_exists(const SqliteOptions& options) {
    if (options.mode != OpenMode::must_exist || options.path == ":memory:") return {};
    std::error_code ec;
    if (std::filesystem::exists(options.path, ec)) return {};
    return util::fail(ErrorKind::not_found, "sqlite: no database at " + options.path);
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const {
    return m_impl->version;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options) {
    // Memory statistics cost a global mutex on every SQLite allocation; we never read them.
    // This only takes effect before SQLite initializes (the first open), and is harmless after.
    static const bool k_memstatus_off = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
    (void)k_memstatus_off;
    MAILTRACK_TRY(check_exists(options));
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    const bool create = options.mode == OpenMode::create_if_missing;
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(options.path.c_str(), &impl->db, flags, nullptr);
    if (rc != SQLITE_OK) {
        // Removed between the check and the open: still not found, and still not created.
        if (!create && (rc & 0xff) == SQLITE_CANTOPEN) MAILTRACK_TRY(check_exists(options));
        return db_error(impl->db, rc, "opening " + options.path);
    }
    sqlite3_extended_result_codes(impl->db, 1);
    sqlite3_busy_timeout(impl->db, options.busy_timeout_ms);
    MAILTRACK_TRY(impl->enter_wal_mode());
    const char* sync =
        options.synchronous == SqliteSync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    for (const char* pragma : {sync, "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
        MAILTRACK_TRY(impl->exec(pragma, pragma));
    }
    // A negative cache_size is in KiB.
    const std::string cache = "PRAGMA cache_size=-" + std::to_string(std::max(64, options.cache_kib));
    MAILTRACK_TRY(impl->exec(cache.c_str(), "setting the page cache size"));
    MAILTRACK_TRY(impl->migrate());
    MAILTRACK_TRY(impl->prepare_all());
    MAILTRACK_TRY(impl->prepare_send_statements());
    impl->cctx = ZSTD_createCCtx();
    impl->dctx = ZSTD_createDCtx();
    if (impl->cctx == nullptr || impl->dctx == nullptr) return util::fail(ErrorKind::internal, "zstd: out of memory");
    ZSTD_CCtx_setParameter(impl->cctx, ZSTD_c_compressionLevel, options.archive_zstd_level);
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

Result<void> SqliteStore::Impl::prepare_all() {
    const std::string suppression_select = sql::select_from(sql::k_suppression_columns, "suppressions");
    const std::pair<Statement*, std::string> statements[] = {
        {&begin, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&insert_event,
         "INSERT OR IGNORE INTO events (" + std::string(sql::k_event_columns) + ") VALUES (?,?,?,?,?,?,?,?)"},
        {&next_archive, "SELECT COALESCE(MAX(archive_id), 0) + 1 FROM event_archive"},
        {&insert_archive, "INSERT INTO event_archive (archive_id, codec, raw_size, data) VALUES (?, 'zstd', ?, ?)"},
        {&get_message, sql::select_from(sql::k_message_columns, "messages") + "WHERE message_id = ?"},
        {&insert_message, insert_sql("INSERT", "messages", sql::k_message_columns)},
        {&update_message, update_sql("messages", sql::k_message_columns)},
        {&get_recipient,
         sql::select_from(sql::k_recipient_columns, "recipients") + "WHERE message_id = ? AND address = ?"},
        {&insert_recipient, insert_sql("INSERT", "recipients", sql::k_recipient_columns)},
        {&update_recipient, update_sql("recipients", sql::k_recipient_columns)},
        {&get_suppression, suppression_select + "WHERE address = ?"},
        {&put_suppression, insert_sql("INSERT OR REPLACE", "suppressions", sql::k_suppression_columns)},
        {&delete_suppression, "DELETE FROM suppressions WHERE address = ?"},
        {&add_soft_bounce,
         "INSERT INTO address_stats (address, soft_bounces, last_soft_bounce_at) VALUES (?, ?, ?) "
         "ON CONFLICT(address) DO UPDATE SET soft_bounces = soft_bounces + excluded.soft_bounces, "
         "last_soft_bounce_at = MAX(COALESCE(last_soft_bounce_at, 0), excluded.last_soft_bounce_at)"},
        {&get_soft_bounces, "SELECT soft_bounces FROM address_stats WHERE address = ?"},
    };
    for (const auto& [stmt, text] : statements) MAILTRACK_TRY(prepare(*stmt, text));
    return {};
}

}  // namespace mailtrack::store
