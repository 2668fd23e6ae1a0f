#include <iterator>

#include "mailtrack/store_sql/columns.hpp"

#include "sqlite_db.hpp"

// The schema, as versioned migrations. A migration is never edited once released: a change is
// a new version (ALTER TABLE ... ADD COLUMN for a new column of store_sql/columns.hpp).

namespace mailtrack::store {
namespace {

using util::ErrorKind;
using util::Result;

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
    // The sending path. A send is recorded before the SES call; its SES message id
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
    // API keys: the SHA-256 of each key, found by its non-secret prefix.
    {3, R"sql(
CREATE TABLE api_keys (
  prefix TEXT PRIMARY KEY, hash TEXT NOT NULL, name TEXT NOT NULL, scope INTEGER NOT NULL,
  created_at INTEGER NOT NULL, revoked_at INTEGER
) WITHOUT ROWID;
)sql"},
};

}  // namespace

// The schema version, read with a statement that is reset at once: a statement left on
// SQLITE_ROW keeps its read snapshot, and a BEGIN IMMEDIATE on a stale snapshot fails with
// SQLITE_BUSY_SNAPSHOT without waiting for the busy timeout.
Result<int> SqliteStore::Impl::read_version() {
    Statement current;
    MAILTRACK_TRY(prepare(current, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    if (current.step() != SQLITE_ROW) return db_error(db, sqlite3_errcode(db), "reading the schema version");
    const int found = static_cast<int>(current.int64());
    current.reset();
    return found;
}

// Several processes may open a new database at once (a worker and a sender): the pending
// migrations are applied in one write transaction that reads the version again under the
// write lock, so each migration is applied by exactly one of them and the others wait.
Result<void> SqliteStore::Impl::migrate() {
    MAILTRACK_TRY(
        exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
             "creating schema_migrations"));
    const int newest = k_migrations[std::size(k_migrations) - 1].version;
    static_assert(k_migrations[std::size(k_migrations) - 1].version == sql::k_schema_version,
                  "the last SQLite migration is the shared schema version");
    auto check = [&](int found) -> Result<void> {
        if (found > newest) {
            return util::fail(ErrorKind::storage, "database schema version " + std::to_string(found) +
                                                      " is newer than this mailtrack knows (" + std::to_string(newest) +
                                                      ")");
        }
        version = found;
        return {};
    };
    MAILTRACK_TRY_ASSIGN(const int seen, read_version());
    if (auto r = check(seen); !r || version == newest) return r;
    MAILTRACK_TRY(exec("BEGIN IMMEDIATE", "starting a migration"));
    auto applied = [&]() -> Result<void> {
        MAILTRACK_TRY_ASSIGN(const int locked, read_version());
        MAILTRACK_TRY(check(locked));
        for (const Migration& m : k_migrations) {
            if (m.version <= version) continue;
            MAILTRACK_TRY(exec(m.sql, "migrating to version " + std::to_string(m.version)));
            const std::string record = "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) +
                                       ", strftime('%Y-%m-%dT%H:%M:%fZ','now'))";
            MAILTRACK_TRY(exec(record.c_str(), "recording a migration"));
        }
        return exec("COMMIT", "committing a migration");
    }();
    if (!applied) {
        (void)exec("ROLLBACK", "rolling back a migration");
        version = seen;
        return applied;
    }
    version = newest;
    return {};
}

}  // namespace mailtrack::store
