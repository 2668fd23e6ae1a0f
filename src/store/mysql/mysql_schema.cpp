#include <cassert>
#include <vector>

#include "mailtrack/store_sql/columns.hpp"

#include "mysql_db.hpp"

// The schema, as versioned migrations in a schema_migrations table, serialized across processes
// by GET_LOCK. A migration is never edited once released: a change is a new version
// (ALTER TABLE ... ADD COLUMN for a new column of store_sql/columns.hpp).
//
// The tables of SqliteStore in MySQL's dialect. Strings are VARBINARY/BLOB so comparisons are
// bytewise, as std::string's are: the text joins (keep the smaller) and every ORDER BY then
// agree with SQLite and core exactly (a _bin collation would ignore trailing spaces).
//
// Each fact that a join picks by a total order has a `*_key` column: a byte string that is
// larger exactly when core's join prefers that fact (mysql_upserts.cpp). Upserts compare keys
// only, so "does the new fact win" is one comparison evaluated against the stored row.

namespace mailtrack::store {
namespace {

using util::ErrorKind;
using util::Result;

struct Migration {
    int version;
    std::vector<const char*> statements;
};

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> k_migrations = {
        {1,
         {R"sql(CREATE TABLE IF NOT EXISTS messages (
  message_id VARBINARY(255) NOT NULL PRIMARY KEY,
  status TINYINT NOT NULL, status_at BIGINT NOT NULL, status_event BINARY(16) NULL,
  mail_timestamp BIGINT NULL, source BLOB NULL, subject BLOB NULL, sending_account_id VARBINARY(64) NULL,
  source_arn VARBINARY(2048) NULL, configuration_set VARBINARY(255) NULL, send_id VARBINARY(255) NULL,
  recipient_count BIGINT NOT NULL,
  opens BIGINT NOT NULL, first_open_at BIGINT NULL, last_open_at BIGINT NULL,
  clicks BIGINT NOT NULL, first_click_at BIGINT NULL, last_click_at BIGINT NULL,
  subscription_changes BIGINT NOT NULL, unsubscribed_at BIGINT NULL,
  event_count BIGINT NOT NULL, unknown_events BIGINT NOT NULL,
  first_event_at BIGINT NULL, last_event_at BIGINT NULL,
  status_key VARBINARY(40) NOT NULL DEFAULT '',
  KEY messages_by_time (mail_timestamp),
  KEY messages_by_send (send_id)
) ENGINE=InnoDB)sql",
          R"sql(CREATE TABLE IF NOT EXISTS recipients (
  message_id VARBINARY(255) NOT NULL, address VARBINARY(320) NOT NULL,
  status TINYINT NOT NULL, status_at BIGINT NOT NULL, status_event BINARY(16) NULL,
  delivered_at BIGINT NULL, delivery_event BINARY(16) NULL, smtp_response BLOB NULL, reporting_mta BLOB NULL,
  processing_ms BIGINT NULL,
  bounced_at BIGINT NULL, bounce_event BINARY(16) NULL, bounce_type VARBINARY(64) NULL, bounce_subtype VARBINARY(64) NULL,
  bounce_action VARBINARY(64) NULL, bounce_status VARBINARY(64) NULL, diagnostic_code BLOB NULL,
  complained_at BIGINT NULL, complaint_event BINARY(16) NULL, feedback_type VARBINARY(255) NULL,
  complaint_subtype VARBINARY(255) NULL, complaint_user_agent BLOB NULL,
  delayed_at BIGINT NULL, delay_event BINARY(16) NULL, delay_type VARBINARY(255) NULL, delay_status VARBINARY(64) NULL,
  delay_diagnostic BLOB NULL, delay_expires_at BIGINT NULL,
  failed_at BIGINT NULL, failure_event BINARY(16) NULL, failure_reason BLOB NULL, failure_template BLOB NULL,
  opens BIGINT NOT NULL, first_open_at BIGINT NULL, last_open_at BIGINT NULL,
  clicks BIGINT NOT NULL, first_click_at BIGINT NULL, last_click_at BIGINT NULL,
  subscription_changes BIGINT NOT NULL, unsubscribed_at BIGINT NULL,
  soft_bounces BIGINT NOT NULL, event_count BIGINT NOT NULL, first_event_at BIGINT NULL, last_event_at BIGINT NULL,
  status_key VARBINARY(40) NOT NULL DEFAULT '', delivery_key VARBINARY(40) NOT NULL DEFAULT '',
  bounce_key VARBINARY(40) NOT NULL DEFAULT '', complaint_key VARBINARY(40) NOT NULL DEFAULT '',
  delay_key VARBINARY(40) NOT NULL DEFAULT '', failure_key VARBINARY(40) NOT NULL DEFAULT '',
  PRIMARY KEY (message_id, address),
  KEY recipients_by_address (address),
  KEY recipients_by_status (status, last_event_at)
) ENGINE=InnoDB)sql",
          // Every event once, by identity; raw JSON in event_archive (one zstd frame per batch).
          // archive_id is indexed so a writer can find which of its inserts were new.
          R"sql(CREATE TABLE IF NOT EXISTS events (
  message_id VARBINARY(255) NOT NULL, event_id BINARY(16) NOT NULL,
  type TINYINT NOT NULL, type_name VARBINARY(64) NOT NULL, occurred_at BIGINT NOT NULL,
  archive_id BIGINT NOT NULL, archive_offset BIGINT NOT NULL, archive_length BIGINT NOT NULL,
  PRIMARY KEY (message_id, event_id),
  KEY events_by_archive (archive_id)
) ENGINE=InnoDB)sql",
          R"sql(CREATE TABLE IF NOT EXISTS event_archive (
  archive_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, codec VARBINARY(16) NOT NULL, raw_size BIGINT NOT NULL,
  data LONGBLOB NOT NULL
) ENGINE=InnoDB)sql",
          R"sql(CREATE TABLE IF NOT EXISTS suppressions (
  address VARBINARY(320) NOT NULL PRIMARY KEY, reason TINYINT NOT NULL, since BIGINT NOT NULL,
  source_event BINARY(16) NULL, detail BLOB NULL, expires_at BIGINT NULL,
  suppression_key VARBINARY(40) NOT NULL DEFAULT ''
) ENGINE=InnoDB)sql",
          R"sql(CREATE TABLE IF NOT EXISTS address_stats (
  address VARBINARY(320) NOT NULL PRIMARY KEY, soft_bounces BIGINT NOT NULL, last_soft_bounce_at BIGINT NULL
) ENGINE=InnoDB)sql"}},
        // The sending path. Unique keys allow many NULLs, as in SQLite.
        {2,
         {R"sql(CREATE TABLE IF NOT EXISTS sends (
  send_id VARBINARY(255) NOT NULL PRIMARY KEY,
  idempotency_key VARBINARY(255) NULL,
  status TINYINT NOT NULL,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, attempts BIGINT NOT NULL,
  from_address BLOB NOT NULL, subject BLOB NULL, template_name VARBINARY(255) NULL, configuration_set VARBINARY(255) NULL,
  ses_message_id VARBINARY(255) NULL,
  error_code VARBINARY(255) NULL, error_message BLOB NULL,
  UNIQUE KEY sends_by_key (idempotency_key),
  UNIQUE KEY sends_by_message (ses_message_id),
  KEY sends_by_status (status, created_at)
) ENGINE=InnoDB)sql",
          R"sql(CREATE TABLE IF NOT EXISTS send_recipients (
  send_id VARBINARY(255) NOT NULL, address VARBINARY(320) NOT NULL, role TINYINT NOT NULL, skipped BLOB NULL,
  PRIMARY KEY (send_id, address),
  CONSTRAINT send_recipients_send FOREIGN KEY (send_id) REFERENCES sends (send_id)
) ENGINE=InnoDB)sql"}},
        // API keys: the SHA-256 of each key, found by its non-secret prefix.
        {3, {R"sql(CREATE TABLE IF NOT EXISTS api_keys (
  prefix VARBINARY(64) NOT NULL PRIMARY KEY, hash VARBINARY(128) NOT NULL, name BLOB NOT NULL,
  scope TINYINT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT NULL
) ENGINE=InnoDB)sql"}},
    };
    return k_migrations;
}

}  // namespace

Result<void> MysqlStore::Impl::migrate(Connection& c) {
    // One migrator at a time across processes; DDL commits implicitly, so each statement
    // is idempotent (IF NOT EXISTS) in case a migration was interrupted half way.
    MAILTRACK_TRY_ASSIGN(Rows locked,
                         c.select("SELECT GET_LOCK('mailtrack_schema_migration', 60)", "locking the schema"));
    if (!locked.next() || locked.int64() != 1) {
        return util::fail(ErrorKind::storage_unavailable, "mysql: another process held the migration lock for 60 s");
    }
    auto run = [&]() -> Result<void> {
        MAILTRACK_TRY(
            c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, "
                   "applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB",
                   "creating schema_migrations"));
        MAILTRACK_TRY_ASSIGN(Rows current, c.select("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                                    "reading the schema version"));
        current.next();
        version = static_cast<int>(current.int64());
        const int newest = migrations().back().version;
        // Our own invariant: both stores migrate to the shared schema version.
        assert(newest == sql::k_schema_version);
        if (version > newest) {
            return util::fail(ErrorKind::storage, "database schema version " + std::to_string(version) +
                                                      " is newer than this mailtrack knows (" + std::to_string(newest) +
                                                      ")");
        }
        for (const Migration& m : migrations()) {
            if (m.version <= version) continue;
            for (const char* sql : m.statements) {
                MAILTRACK_TRY(c.exec(sql, "migrating to version " + std::to_string(m.version)));
            }
            MAILTRACK_TRY(
                c.exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", UTC_TIMESTAMP(3))",
                       "recording a migration"));
            version = m.version;
        }
        return {};
    };
    auto result = run();
    (void)c.exec("DO RELEASE_LOCK('mailtrack_schema_migration')", "unlocking the schema");
    return result;
}

}  // namespace mailtrack::store
