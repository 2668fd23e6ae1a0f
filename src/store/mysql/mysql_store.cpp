#include "mailtrack/store/mysql_store.hpp"

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "mailtrack/store/batch_effects.hpp"
#include "mailtrack/store/row_reader.hpp"
#include "mailtrack/util/log.hpp"

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
//
// The tables of SqliteStore in MySQL's dialect. Strings are VARBINARY/BLOB so comparisons are
// bytewise, as std::string's are: the text joins (keep the smaller) and every ORDER BY then
// agree with SQLite and core exactly (a _bin collation would ignore trailing spaces).
//
// Each fact that a join picks by a total order has a `*_key` column: a byte string that is
// larger exactly when core's join prefers that fact (see the encoders below). Upserts compare
// keys only, so "does the new fact win" is one comparison evaluated against the stored row.

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
        // The sending path (issue 5). Unique keys allow many NULLs, as in SQLite.
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
    };
    return k_migrations;
}

// ---- errors ---------------------------------------------------------------------------------

// The connection is gone (or never came up): it is closed, and so are the idle ones beside it.
bool connection_lost(unsigned e) {
    switch (e) {
        case CR_CONNECTION_ERROR:
        case CR_CONN_HOST_ERROR:
        case CR_SERVER_GONE_ERROR:
        case CR_SERVER_LOST:
        case CR_UNKNOWN_HOST:
        case 2055:  // CR_SERVER_LOST_EXTENDED
        case 1927:  // ER_CONNECTION_KILLED
        case ER_SERVER_SHUTDOWN:
        case 4031:  // MySQL 8: disconnected by the server because of inactivity
            return true;
        default:
            return false;
    }
}

// Restart the whole transaction: another writer won a lock race. 1062 happens only where a
// concurrent writer inserted the same unique key first (begin_send's idempotency key).
bool retryable(unsigned e) { return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT || e == ER_DUP_ENTRY; }

ErrorKind kind_of(unsigned e) {
    if (connection_lost(e) || retryable(e)) return ErrorKind::storage_unavailable;
    switch (e) {
        case ER_CON_COUNT_ERROR:
        case 1203:  // ER_TOO_MANY_USER_CONNECTIONS
        case ER_OPTION_PREVENTS_STATEMENT:  // --read-only: a replica, or the old primary during a failover
        case 1836:                          // ER_READ_ONLY_MODE
        case ER_RECORD_FILE_FULL:
        case ER_DISK_FULL:
        case 1047:  // ER_UNKNOWN_COM_ERROR (Galera node not ready)
            return ErrorKind::storage_unavailable;
        default:
            return ErrorKind::storage;
    }
}

// ---- a connection ---------------------------------------------------------------------------

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
    std::optional<UnixMillis> opt_int64() {
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
    EventId event_id() {
        const Cell c = cell();
        EventId id;
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

    util::Unexpected<util::Error> fail(std::string_view doing) {
        last_errno = mysql_errno(db);
        return util::fail(kind_of(last_errno), "mysql: " + std::string(doing) + ": " + mysql_error(db) + " (error " +
                                                   std::to_string(last_errno) + ")");
    }

    Result<void> exec(std::string_view sql, std::string_view doing) {
        if (mysql_real_query(db, sql.data(), sql.size()) != 0) return fail(doing);
        // A statement that returns rows where none were expected: drain them.
        if (MYSQL_RES* res = mysql_store_result(db)) mysql_free_result(res);
        else if (mysql_field_count(db) != 0) return fail(doing);
        return {};
    }

    Result<Rows> select(std::string_view sql, std::string_view doing) {
        if (mysql_real_query(db, sql.data(), sql.size()) != 0) return fail(doing);
        MYSQL_RES* res = mysql_store_result(db);
        if (res == nullptr && mysql_field_count(db) != 0) return fail(doing);
        return Rows(res);
    }

    std::int64_t affected() { return static_cast<std::int64_t>(mysql_affected_rows(db)); }
};

// ---- SQL literals ---------------------------------------------------------------------------

void append_hex(std::string& out, const void* data, std::size_t size) {
    static constexpr char k_digits[] = "0123456789ABCDEF";
    const auto* p = static_cast<const unsigned char*>(data);
    out += "X'";
    const std::size_t start = out.size();
    out.resize(start + size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out[start + 2 * i] = k_digits[p[i] >> 4];
        out[start + 2 * i + 1] = k_digits[p[i] & 15];
    }
    out += '\'';
}

// Bytes as a hex literal: immune to escaping and character set questions.
std::string bin(std::string_view v) {
    std::string out;
    out.reserve(v.size() * 2 + 3);
    append_hex(out, v.data(), v.size());
    return out;
}
// Optional text, empty stored as NULL (as SqliteStore does).
std::string text(std::string_view v) { return v.empty() ? "NULL" : bin(v); }
std::string num(std::int64_t v) { return std::to_string(v); }
std::string num(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "NULL"; }
std::string event(const EventId& id) {
    if (id == EventId{}) return "NULL";
    std::string out;
    append_hex(out, id.bytes.data(), id.bytes.size());
    return out;
}
std::string event_key_literal(const EventId& id) {
    std::string out;
    append_hex(out, id.bytes.data(), id.bytes.size());
    return out;
}

// ---- the joins' total orders as byte strings (larger wins) ----------------------------------

void put_u64(std::string& out, std::uint64_t u) {
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xff);
}
std::uint64_t ordered(std::int64_t v) { return static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63); }
void earlier_wins(std::string& out, UnixMillis at) { put_u64(out, ~ordered(at)); }
void later_wins(std::string& out, UnixMillis at) { put_u64(out, ordered(at)); }
void smaller_event_wins(std::string& out, const EventId& id) {
    for (auto b : id.bytes) out += static_cast<char>(~b & 0xff);
}

std::string status_key(const core::StatusStamp& s) {
    // merge_status: higher precedence, then earlier (at, event).
    std::string k(1, static_cast<char>(core::precedence(s.status)));
    earlier_wins(k, s.at);
    smaller_event_wins(k, s.event);
    return k;
}
template <typename Fact>
std::string earliest_key(const std::optional<Fact>& f, int rank = 0) {
    if (!f) return {};
    std::string k(1, static_cast<char>(rank));
    earlier_wins(k, f->at);
    smaller_event_wins(k, f->event);
    return k;
}
int bounce_severity(std::string_view type) {
    if (type == "Permanent") return 3;
    if (type == "Undetermined") return 2;
    if (type == "Transient") return 1;
    return 0;
}
std::string delay_key(const std::optional<core::DelayFact>& f) {
    if (!f) return {};
    std::string k;
    later_wins(k, f->at);
    smaller_event_wins(k, f->event);
    return k;
}
std::string suppression_key(const core::Suppression& x) {
    // merge_into(Suppression): the smallest (-reason, since, source_event).
    std::string k(1, static_cast<char>(x.reason));
    earlier_wins(k, x.since);
    smaller_event_wins(k, x.source_event);
    return k;
}

// ---- upserts: core's joins in SQL -----------------------------------------------------------

enum class Join : std::uint8_t {
    key,    // part of the primary key
    fact,   // taken with its group's key: IF(new key > old key, new, old)
    group,  // a group's key: GREATEST; assigned after every column that reads it
    add,    // counters
    min,    // earliest of two optional values
    max,    // latest of two optional values, or the larger count
    text,   // non-empty beats empty, then the smaller
};

struct Column {
    const char* name;
    Join join;
    const char* group = nullptr;  // for Join::fact
};

std::string upsert_clause(std::span<const Column> columns) {
    std::string set;
    auto add = [&](const std::string& part) {
        if (!set.empty()) set += ", ";
        set += part;
    };
    for (const Column& c : columns) {
        const std::string n = c.name;
        const std::string v = "VALUES(" + n + ")";
        switch (c.join) {
            case Join::key:
            case Join::group: break;
            case Join::fact:
                add(n + " = IF(VALUES(" + c.group + ") > " + c.group + ", " + v + ", " + n + ")");
                break;
            case Join::add: add(n + " = " + n + " + " + v); break;
            case Join::min: add(n + " = LEAST(COALESCE(" + n + ", " + v + "), COALESCE(" + v + ", " + n + "))"); break;
            case Join::max: add(n + " = GREATEST(COALESCE(" + n + ", " + v + "), COALESCE(" + v + ", " + n + "))"); break;
            case Join::text:
                add(n + " = IF(" + v + " IS NULL, " + n + ", IF(" + n + " IS NULL, " + v + ", LEAST(" + n + ", " + v + ")))");
                break;
        }
    }
    // MySQL evaluates the assignments left to right, each seeing the ones before: the group
    // keys go last so every fact column above compared against the stored key.
    for (const Column& c : columns) {
        if (c.join == Join::group) add(std::string(c.name) + " = GREATEST(" + c.name + ", VALUES(" + c.name + "))");
    }
    return set;
}

std::string column_list(std::span<const Column> columns) {
    std::string out;
    for (const Column& c : columns) {
        if (!out.empty()) out += ", ";
        out += c.name;
    }
    return out;
}

constexpr Column k_message_columns[] = {
    {"message_id", Join::key},
    {"status", Join::fact, "status_key"},
    {"status_at", Join::fact, "status_key"},
    {"status_event", Join::fact, "status_key"},
    {"mail_timestamp", Join::min},
    {"source", Join::text},
    {"subject", Join::text},
    {"sending_account_id", Join::text},
    {"source_arn", Join::text},
    {"configuration_set", Join::text},
    {"send_id", Join::text},
    {"recipient_count", Join::max},
    {"opens", Join::add},
    {"first_open_at", Join::min},
    {"last_open_at", Join::max},
    {"clicks", Join::add},
    {"first_click_at", Join::min},
    {"last_click_at", Join::max},
    {"subscription_changes", Join::add},
    {"unsubscribed_at", Join::min},
    {"event_count", Join::add},
    {"unknown_events", Join::add},
    {"first_event_at", Join::min},
    {"last_event_at", Join::max},
    {"status_key", Join::group},
};
constexpr std::size_t k_message_read_columns = 24;  // all but the keys

constexpr Column k_recipient_columns[] = {
    {"message_id", Join::key},
    {"address", Join::key},
    {"status", Join::fact, "status_key"},
    {"status_at", Join::fact, "status_key"},
    {"status_event", Join::fact, "status_key"},
    {"delivered_at", Join::fact, "delivery_key"},
    {"delivery_event", Join::fact, "delivery_key"},
    {"smtp_response", Join::fact, "delivery_key"},
    {"reporting_mta", Join::fact, "delivery_key"},
    {"processing_ms", Join::fact, "delivery_key"},
    {"bounced_at", Join::fact, "bounce_key"},
    {"bounce_event", Join::fact, "bounce_key"},
    {"bounce_type", Join::fact, "bounce_key"},
    {"bounce_subtype", Join::fact, "bounce_key"},
    {"bounce_action", Join::fact, "bounce_key"},
    {"bounce_status", Join::fact, "bounce_key"},
    {"diagnostic_code", Join::fact, "bounce_key"},
    {"complained_at", Join::fact, "complaint_key"},
    {"complaint_event", Join::fact, "complaint_key"},
    {"feedback_type", Join::fact, "complaint_key"},
    {"complaint_subtype", Join::fact, "complaint_key"},
    {"complaint_user_agent", Join::fact, "complaint_key"},
    {"delayed_at", Join::fact, "delay_key"},
    {"delay_event", Join::fact, "delay_key"},
    {"delay_type", Join::fact, "delay_key"},
    {"delay_status", Join::fact, "delay_key"},
    {"delay_diagnostic", Join::fact, "delay_key"},
    {"delay_expires_at", Join::fact, "delay_key"},
    {"failed_at", Join::fact, "failure_key"},
    {"failure_event", Join::fact, "failure_key"},
    {"failure_reason", Join::fact, "failure_key"},
    {"failure_template", Join::fact, "failure_key"},
    {"opens", Join::add},
    {"first_open_at", Join::min},
    {"last_open_at", Join::max},
    {"clicks", Join::add},
    {"first_click_at", Join::min},
    {"last_click_at", Join::max},
    {"subscription_changes", Join::add},
    {"unsubscribed_at", Join::min},
    {"soft_bounces", Join::add},
    {"event_count", Join::add},
    {"first_event_at", Join::min},
    {"last_event_at", Join::max},
    {"status_key", Join::group},
    {"delivery_key", Join::group},
    {"bounce_key", Join::group},
    {"complaint_key", Join::group},
    {"delay_key", Join::group},
    {"failure_key", Join::group},
};
constexpr std::size_t k_recipient_read_columns = 44;

constexpr Column k_suppression_columns[] = {
    {"address", Join::key},
    {"reason", Join::fact, "suppression_key"},
    {"since", Join::fact, "suppression_key"},
    {"source_event", Join::fact, "suppression_key"},
    {"detail", Join::fact, "suppression_key"},
    {"expires_at", Join::fact, "suppression_key"},
    {"suppression_key", Join::group},
};

constexpr Column k_address_stats_columns[] = {
    {"address", Join::key},
    {"soft_bounces", Join::add},
    {"last_soft_bounce_at", Join::max},
};

std::string read_list(std::span<const Column> columns, std::size_t n, std::string_view prefix = "") {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        if (!out.empty()) out += ", ";
        out += prefix;
        out += columns[i].name;
    }
    return out;
}

template <typename Fact>
std::optional<UnixMillis> fact_time(const std::optional<Fact>& f) {
    return f ? std::optional<UnixMillis>(f->at) : std::nullopt;
}

void append_engagement(std::string& v, const core::Engagement& e) {
    v += "," + num(e.opens) + "," + num(e.first_open_at) + "," + num(e.last_open_at) + "," + num(e.clicks) + "," +
         num(e.first_click_at) + "," + num(e.last_click_at) + "," + num(e.subscription_changes) + "," +
         num(e.unsubscribed_at);
}

std::string message_row(const MessageState& m) {
    std::string v = "(" + bin(m.message_id);
    v += "," + num(core::precedence(m.status.status)) + "," + num(m.status.at) + "," + event(m.status.event);
    v += "," + num(m.mail_timestamp) + "," + text(m.source) + "," + text(m.subject) + "," + text(m.sending_account_id) +
         "," + text(m.source_arn) + "," + text(m.configuration_set) + "," + text(m.send_id) + "," +
         num(m.recipient_count);
    append_engagement(v, m.engagement);
    v += "," + num(m.event_count) + "," + num(m.unknown_events) + "," + num(m.first_event_at) + "," +
         num(m.last_event_at);
    v += "," + bin(status_key(m.status)) + ")";
    return v;
}

std::string recipient_row(const RecipientState& r) {
    std::string v = "(" + bin(r.message_id) + "," + bin(r.address);
    v += "," + num(core::precedence(r.status.status)) + "," + num(r.status.at) + "," + event(r.status.event);
    const auto& d = r.delivery;
    if (d) {
        v += "," + num(d->at) + "," + event(d->event) + "," + text(d->smtp_response) + "," + text(d->reporting_mta) + "," +
             num(d->processing_time_millis);
    } else {
        v += ",NULL,NULL,NULL,NULL,NULL";
    }
    const auto& b = r.bounce;
    if (b) {
        v += "," + num(b->at) + "," + event(b->event) + "," + text(b->bounce_type) + "," + text(b->bounce_subtype) + "," +
             text(b->action) + "," + text(b->status_code) + "," + text(b->diagnostic_code);
    } else {
        v += ",NULL,NULL,NULL,NULL,NULL,NULL,NULL";
    }
    const auto& c = r.complaint;
    if (c) {
        v += "," + num(c->at) + "," + event(c->event) + "," + text(c->feedback_type) + "," + text(c->complaint_subtype) +
             "," + text(c->user_agent);
    } else {
        v += ",NULL,NULL,NULL,NULL,NULL";
    }
    const auto& y = r.delay;
    if (y) {
        v += "," + num(y->at) + "," + event(y->event) + "," + text(y->delay_type) + "," + text(y->status_code) + "," +
             text(y->diagnostic_code) + "," + num(y->expiration_time);
    } else {
        v += ",NULL,NULL,NULL,NULL,NULL,NULL";
    }
    const auto& f = r.failure;
    if (f) {
        v += "," + num(f->at) + "," + event(f->event) + "," + text(f->reason) + "," + text(f->template_name);
    } else {
        v += ",NULL,NULL,NULL,NULL";
    }
    append_engagement(v, r.engagement);
    v += "," + num(r.soft_bounces) + "," + num(r.event_count) + "," + num(r.first_event_at) + "," + num(r.last_event_at);
    v += "," + bin(status_key(r.status));
    v += "," + bin(earliest_key(r.delivery));
    v += "," + bin(r.bounce ? earliest_key(r.bounce, bounce_severity(r.bounce->bounce_type)) : std::string());
    v += "," + bin(earliest_key(r.complaint));
    v += "," + bin(delay_key(r.delay));
    v += "," + bin(r.failure ? earliest_key(r.failure, r.failure->template_name.empty() ? 1 : 0) : std::string());
    v += ")";
    return v;
}

std::string suppression_row(const core::Suppression& x) {
    return "(" + bin(x.address) + "," + num(static_cast<std::int64_t>(x.reason)) + "," + num(x.since) + "," +
           event(x.source_event) + "," + text(x.detail) + "," + num(x.expires_at) + "," + bin(suppression_key(x)) + ")";
}

constexpr const char* k_suppression_select = "SELECT address, reason, since, source_event, detail, expires_at FROM suppressions";
constexpr const char* k_send_columns =
    "send_id, idempotency_key, status, created_at, updated_at, attempts, from_address, subject, template_name, "
    "configuration_set, ses_message_id, error_code, error_message";

// Multi-row statements are cut at this much SQL text, well under the default max_allowed_packet (16 MiB+).
constexpr std::size_t k_max_statement_bytes = 4 * 1024 * 1024;

// Runs `head rows... tail` for the rows, as few statements as the size limit allows.
Result<void> insert_rows(Connection& c, const std::string& head, const std::vector<std::string>& rows,
                         const std::string& tail, std::string_view doing) {
    std::string sql;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (sql.empty()) sql = head;
        else sql += ',';
        sql += rows[i];
        if (i + 1 == rows.size() || sql.size() + rows[i + 1].size() + tail.size() > k_max_statement_bytes) {
            sql += tail;
            if (auto r = c.exec(sql, doing); !r) return r;
            sql.clear();
        }
    }
    return {};
}

std::string upsert_head(const char* table, std::span<const Column> columns) {
    return std::string("INSERT INTO ") + table + " (" + column_list(columns) + ") VALUES ";
}
std::string upsert_tail(std::span<const Column> columns) { return " ON DUPLICATE KEY UPDATE " + upsert_clause(columns); }

}  // namespace

// ---- the pool -------------------------------------------------------------------------------

struct MysqlStore::Impl {
    MysqlOptions options;
    int version = 0;
    std::optional<std::string> durability_warning;  // see MysqlStore::durability_warning()
    std::atomic<std::int64_t> retries{0};

    std::mutex mutex;
    std::condition_variable available;
    std::vector<std::unique_ptr<Connection>> idle;
    int open_connections = 0;

    // The statements' text, built once.
    std::string message_select, recipient_select, message_upsert_head, message_upsert_tail, recipient_upsert_head,
        recipient_upsert_tail, suppression_upsert_head, suppression_upsert_tail, stats_upsert_head, stats_upsert_tail;

    // The password in use: replaced (under its own mutex, connects run in parallel) when the
    // server refuses it and refresh_password gives a new one.
    std::mutex password_mutex;

    Result<std::unique_ptr<Connection>> connect(bool with_database) {
        std::string password;
        {
            std::lock_guard lock(password_mutex);
            password = options.password;
        }
        unsigned refused = 0;
        auto first = connect_with(with_database, password, refused);
        if (first || !options.refresh_password || refused != ER_ACCESS_DENIED_ERROR) return first;
        auto fresh = options.refresh_password();
        if (!fresh) {
            return util::fail(first.error().kind,
                              first.error().message + "; reading the password again failed: " + fresh.error().describe());
        }
        if (*fresh == password) return first;
        auto second = connect_with(with_database, *fresh, refused);
        if (second) {
            std::lock_guard lock(password_mutex);
            options.password = std::move(*fresh);
            util::log::info("mysql: connected with the password read again (the secret was rotated)",
                            {{"user", options.user}});
        }
        return second;
    }

    // `error_number` gets the server's error number when the connect fails.
    Result<std::unique_ptr<Connection>> connect_with(bool with_database, const std::string& password,
                                                     unsigned& error_number) {
        auto c = std::make_unique<Connection>();
        c->db = mysql_init(nullptr);
        if (c->db == nullptr) return util::fail(ErrorKind::internal, "mysql: out of memory");
        const unsigned connect_timeout = static_cast<unsigned>(options.connect_timeout_s);
        const unsigned io_timeout = static_cast<unsigned>(options.io_timeout_s);
        mysql_optionsv(c->db, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
        mysql_optionsv(c->db, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
        mysql_optionsv(c->db, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
        mysql_optionsv(c->db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
        const bool socket = options.host.starts_with('/');
        const unsigned protocol = socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
        mysql_optionsv(c->db, MYSQL_OPT_PROTOCOL, &protocol);
        if (options.ssl_mode != MysqlSslMode::disabled) {
            const my_bool enforce = 1;
            const my_bool verify = options.ssl_mode == MysqlSslMode::required ? 0 : 1;
            mysql_optionsv(c->db, MYSQL_OPT_SSL_ENFORCE, &enforce);
            mysql_optionsv(c->db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
            if (!options.ssl_ca.empty()) mysql_optionsv(c->db, MYSQL_OPT_SSL_CA, options.ssl_ca.c_str());
        }
        const char* host = socket ? nullptr : options.host.c_str();
        const char* unix_socket = socket ? options.host.c_str() : nullptr;
        if (mysql_real_connect(c->db, host, options.user.c_str(), password.c_str(),
                               with_database ? options.database.c_str() : nullptr, socket ? 0 : options.port,
                               unix_socket, 0) == nullptr) {
            const unsigned e = mysql_errno(c->db);
            // Refused, unreachable or timed out: the server may come back. Anything else at
            // connect time (access denied, TLS verification, unknown database) is configuration.
            const bool transient = connection_lost(e) || kind_of(e) == ErrorKind::storage_unavailable;
            error_number = e;
            return util::fail(transient ? ErrorKind::storage_unavailable : ErrorKind::storage,
                              "mysql: connecting to " + options.host + ":" + std::to_string(options.port) + " as '" +
                                  options.user + "' (ssl-mode " + std::string(to_string(options.ssl_mode)) +
                                  "): " + mysql_error(c->db) + " (error " + std::to_string(e) + ")");
        }
        for (const char* setup : {"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
                                  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"}) {
            if (auto r = c->exec(setup, setup); !r) return util::Unexpected(std::move(r).error());
        }
        return c;
    }

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

    Result<std::unique_ptr<Connection>> acquire() {
        std::unique_lock lock(mutex);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.connect_timeout_s);
        while (idle.empty() && open_connections >= options.pool_size) {
            if (available.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
                open_connections >= options.pool_size) {
                return util::fail(ErrorKind::storage_unavailable,
                                  "mysql: all " + std::to_string(options.pool_size) + " pooled connections stayed busy");
            }
        }
        if (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            return c;
        }
        ++open_connections;
        lock.unlock();
        auto c = connect(true);
        if (!c) {
            lock.lock();
            --open_connections;
            available.notify_one();
        }
        return c;
    }

    void release(std::unique_ptr<Connection> c) {
        std::vector<std::unique_ptr<Connection>> dropped;
        {
            std::lock_guard lock(mutex);
            if (connection_lost(c->last_errno)) {
                --open_connections;
                dropped.push_back(std::move(c));
                for (auto& i : idle) dropped.push_back(std::move(i));
                open_connections -= static_cast<int>(idle.size());
                idle.clear();
            } else {
                c->last_errno = 0;
                idle.push_back(std::move(c));
            }
        }
        available.notify_all();
    }

    // Runs f(connection) in one transaction, restarting it after a deadlock or lock-wait
    // timeout (bounded, exponential backoff with jitter).
    template <typename F>
    auto in_transaction(F&& f) -> decltype(f(std::declval<Connection&>())) {
        thread_local std::minstd_rand jitter(std::random_device{}());
        for (int attempt = 0;; ++attempt) {
            auto acquired = acquire();
            if (!acquired) return util::Unexpected(std::move(acquired).error());
            Lease c(*this, std::move(*acquired));
            decltype(f(*c)) result = util::Unexpected(util::Error{});
            if (auto begun = c->exec("START TRANSACTION", "starting a transaction"); !begun) {
                result = util::Unexpected(std::move(begun).error());
            } else {
                result = f(*c);
                if (result) {
                    if (auto committed = c->exec("COMMIT", "committing"); committed) return result;
                    else result = util::Unexpected(std::move(committed).error());
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
        auto acquired = acquire();
        if (!acquired) return util::Unexpected(std::move(acquired).error());
        Lease c(*this, std::move(*acquired));
        return f(*c);
    }

    Result<void> migrate(Connection& c) {
        // One migrator at a time across processes; DDL commits implicitly, so each statement
        // is idempotent (IF NOT EXISTS) in case a migration was interrupted half way.
        auto locked = c.select("SELECT GET_LOCK('mailtrack_schema_migration', 60)", "locking the schema");
        if (!locked) return util::Unexpected(std::move(locked).error());
        if (!locked->next() || locked->int64() != 1) {
            return util::fail(ErrorKind::storage_unavailable, "mysql: another process held the migration lock for 60 s");
        }
        auto run = [&]() -> Result<void> {
            if (auto r = c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, "
                                "applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB",
                                "creating schema_migrations");
                !r) {
                return r;
            }
            auto current = c.select("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "reading the schema version");
            if (!current) return util::Unexpected(std::move(current).error());
            current->next();
            version = static_cast<int>(current->int64());
            const int newest = migrations().back().version;
            if (version > newest) {
                return util::fail(ErrorKind::storage, "database schema version " + std::to_string(version) +
                                                          " is newer than this mailtrack knows (" + std::to_string(newest) + ")");
            }
            for (const Migration& m : migrations()) {
                if (m.version <= version) continue;
                for (const char* sql : m.statements) {
                    if (auto r = c.exec(sql, "migrating to version " + std::to_string(m.version)); !r) return r;
                }
                if (auto r = c.exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", UTC_TIMESTAMP(3))",
                                    "recording a migration");
                    !r) {
                    return r;
                }
                version = m.version;
            }
            return {};
        };
        auto result = run();
        (void)c.exec("DO RELEASE_LOCK('mailtrack_schema_migration')", "unlocking the schema");
        return result;
    }

    void build_statements() {
        message_select = "SELECT " + read_list(k_message_columns, k_message_read_columns) + " FROM messages ";
        recipient_select = "SELECT " + read_list(k_recipient_columns, k_recipient_read_columns) + " FROM recipients ";
        message_upsert_head = upsert_head("messages", k_message_columns);
        message_upsert_tail = upsert_tail(k_message_columns);
        recipient_upsert_head = upsert_head("recipients", k_recipient_columns);
        recipient_upsert_tail = upsert_tail(k_recipient_columns);
        suppression_upsert_head = upsert_head("suppressions", k_suppression_columns);
        suppression_upsert_tail = upsert_tail(k_suppression_columns);
        stats_upsert_head = upsert_head("address_stats", k_address_stats_columns);
        stats_upsert_tail = upsert_tail(k_address_stats_columns);
    }

    Result<void> write_states(Connection& c, const std::map<std::string, MessageState, std::less<>>& messages,
                              const std::map<std::pair<std::string, std::string>, RecipientState>& recipients) {
        std::vector<std::string> rows;
        rows.reserve(messages.size());
        for (const auto& [id, m] : messages) rows.push_back(message_row(m));
        if (auto r = insert_rows(c, message_upsert_head, rows, message_upsert_tail, "writing messages"); !r) return r;
        rows.clear();
        for (const auto& [key, r] : recipients) rows.push_back(recipient_row(r));
        return insert_rows(c, recipient_upsert_head, rows, recipient_upsert_tail, "writing recipients");
    }

    Result<ApplyResult> apply_in_transaction(Connection& c, std::span<const core::SesEvent* const> events,
                                             std::int64_t batch_duplicates);
    // The send the WHERE condition selects (locked when for_update), with its recipients.
    Result<std::optional<SendRecord>> read_send(Connection& c, std::string_view where, bool for_update);
    Result<std::string> decompress(std::string_view frame, std::int64_t raw_size);
};

MysqlStore::MysqlStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
MysqlStore::~MysqlStore() = default;

int MysqlStore::schema_version() const { return m_impl->version; }
const std::optional<std::string>& MysqlStore::durability_warning() const { return m_impl->durability_warning; }
std::int64_t MysqlStore::transaction_retries() const { return m_impl->retries.load(std::memory_order_relaxed); }

Result<std::unique_ptr<MysqlStore>> MysqlStore::open(const MysqlOptions& options) {
    // mysql_library_init is not thread-safe; the first open makes it happen once.
    static const bool k_library = mysql_library_init(0, nullptr, nullptr) == 0;
    if (!k_library) return util::fail(ErrorKind::internal, "mysql: the client library failed to initialize");
    if (options.pool_size < 1) return util::fail(ErrorKind::config, "mysql: pool size must be at least 1");
    if (options.database.empty() || options.database.find('`') != std::string::npos) {
        return util::fail(ErrorKind::config, "mysql: invalid database name '" + options.database + "'");
    }
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->build_statements();
    {
        auto c = impl->connect(false);
        if (!c) return util::Unexpected(std::move(c).error());
        if (options.create_database) {
            if (auto r = (*c)->exec("CREATE DATABASE IF NOT EXISTS `" + options.database + "`", "creating the database"); !r) {
                return util::Unexpected(std::move(r).error());
            }
        }
        if (auto r = (*c)->exec("USE `" + options.database + "`", "selecting database " + options.database); !r) {
            return util::Unexpected(std::move(r).error());
        }
        if (auto r = impl->migrate(**c); !r) return util::Unexpected(std::move(r).error());
        // The worker deletes SQS messages once their batch commits: a server that does not flush
        // its redo log at each commit, or (with the binary log on) does not sync the binary log
        // at each commit, can lose those commits in a crash. Said once, at open; a server without
        // the variables (not InnoDB) is not refused for it.
        auto vars = (*c)->select("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit, @@GLOBAL.log_bin, @@GLOBAL.sync_binlog",
                                 "reading the commit durability settings");
        if (!vars) {
            util::log::info("mysql: commit durability not checked", {{"error", vars.error().describe()}});
        } else if (vars->next()) {
            const std::int64_t flush = vars->int64();
            const std::int64_t log_bin = vars->int64();
            const std::int64_t sync_binlog = vars->int64();
            std::string why;
            if (flush != 1) why = "innodb_flush_log_at_trx_commit is " + std::to_string(flush) + ", not 1";
            if (log_bin != 0 && sync_binlog != 1) {
                why += (why.empty() ? "" : "; ") + std::string("sync_binlog is ") + std::to_string(sync_binlog) +
                       ", not 1, with the binary log on";
            }
            if (!why.empty()) {
                impl->durability_warning = why +
                                           ": a server crash or power loss can lose committed events whose SQS "
                                           "messages the worker has already deleted";
                util::log::warn("mysql: commits are not durable", {{"detail", *impl->durability_warning}});
            }
        }
        std::lock_guard lock(impl->mutex);
        impl->idle.push_back(std::move(*c));
        impl->open_connections = 1;
    }
    return std::unique_ptr<MysqlStore>(new MysqlStore(std::move(impl)));
}

// ---- events ---------------------------------------------------------------------------------

Result<ApplyResult> MysqlStore::apply(std::span<const core::SesEvent> events) {
    if (events.empty()) return ApplyResult{};
    // Repeats inside the batch are duplicates before the database is asked; the rest go in
    // the events table's key order, the order every writer locks rows in.
    std::vector<const core::SesEvent*> unique;
    unique.reserve(events.size());
    for (const auto& e : events) unique.push_back(&e);
    std::stable_sort(unique.begin(), unique.end(), [](const core::SesEvent* a, const core::SesEvent* b) {
        return std::tie(a->mail.message_id, a->id) < std::tie(b->mail.message_id, b->id);
    });
    const auto end = std::unique(unique.begin(), unique.end(), [](const core::SesEvent* a, const core::SesEvent* b) {
        return a->mail.message_id == b->mail.message_id && a->id == b->id;
    });
    const auto batch_duplicates = static_cast<std::int64_t>(unique.end() - end);
    unique.erase(end, unique.end());
    Impl& s = *m_impl;
    return s.in_transaction(
        [&](Connection& c) { return s.apply_in_transaction(c, unique, batch_duplicates); });
}

Result<ApplyResult> MysqlStore::Impl::apply_in_transaction(Connection& c, std::span<const core::SesEvent* const> events,
                                                           std::int64_t batch_duplicates) {
    ApplyResult result;
    result.duplicates = batch_duplicates;

    // Which identities are stored already (a plain read: a hint that keeps redelivered raw
    // JSON out of the archive; the insert below is what decides).
    std::set<std::pair<std::string, EventId>> stored;
    {
        std::set<std::string_view> ids;
        for (const auto* e : events) ids.insert(e->mail.message_id);
        std::string sql = "SELECT message_id, event_id FROM events WHERE message_id IN (";
        bool first = true;
        for (auto id : ids) {
            if (!first) sql += ',';
            first = false;
            sql += bin(id);
        }
        sql += ')';
        auto rows = c.select(sql, "looking up event identities");
        if (!rows) return util::Unexpected(std::move(rows).error());
        while (rows->next()) {
            std::string mid = rows->text();
            stored.emplace(std::move(mid), rows->event_id());
        }
    }
    std::vector<const core::SesEvent*> fresh;
    for (const auto* e : events) {
        if (stored.contains({e->mail.message_id, e->id})) ++result.duplicates;
        else fresh.push_back(e);
    }
    if (fresh.empty()) return result;

    // The candidates' raw JSON as one zstd frame; its id tags the event rows this
    // transaction inserts.
    std::string raw;
    std::vector<std::pair<std::size_t, std::size_t>> slices;
    for (const auto* e : fresh) {
        slices.emplace_back(raw.size(), e->raw_json.size());
        raw += e->raw_json;
    }
    thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), &ZSTD_freeCCtx);
    if (!cctx) return util::fail(ErrorKind::internal, "zstd: out of memory");
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, options.archive_zstd_level);
    std::string compressed(ZSTD_compressBound(raw.size()), '\0');
    const std::size_t n = ZSTD_compress2(cctx.get(), compressed.data(), compressed.size(), raw.data(), raw.size());
    if (ZSTD_isError(n)) return util::fail(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    std::string archive_sql = "INSERT INTO event_archive (codec, raw_size, data) VALUES ('zstd', " +
                              std::to_string(raw.size()) + ", ";
    append_hex(archive_sql, compressed.data(), n);
    archive_sql += ')';
    if (auto r = c.exec(archive_sql, "archiving raw events"); !r) return util::Unexpected(std::move(r).error());
    const auto archive_id = static_cast<std::int64_t>(mysql_insert_id(c.db));

    // Insert the identities. A row another writer inserted first (committed, or committed
    // while we waited on its lock) is left alone: the no-op update counts 0 affected rows.
    std::vector<std::string> rows;
    rows.reserve(fresh.size());
    for (std::size_t i = 0; i < fresh.size(); ++i) {
        const auto& e = *fresh[i];
        rows.push_back("(" + bin(e.mail.message_id) + "," + event_key_literal(e.id) + "," +
                       num(static_cast<std::int64_t>(e.type)) + "," + bin(e.type_name) + "," + num(e.occurred_at) + "," +
                       num(archive_id) + "," + num(static_cast<std::int64_t>(slices[i].first)) + "," +
                       num(static_cast<std::int64_t>(slices[i].second)) + ")");
    }
    std::int64_t inserted = 0;
    {
        const std::string head =
            "INSERT INTO events (message_id, event_id, type, type_name, occurred_at, archive_id, archive_offset, "
            "archive_length) VALUES ";
        const std::string tail = " ON DUPLICATE KEY UPDATE message_id = message_id";
        std::string sql;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            sql += sql.empty() ? head : ",";
            sql += rows[i];
            if (i + 1 == rows.size() || sql.size() > k_max_statement_bytes) {
                sql += tail;
                if (auto r = c.exec(sql, "recording events"); !r) return util::Unexpected(std::move(r).error());
                inserted += c.affected();
                sql.clear();
            }
        }
    }
    std::vector<const core::SesEvent*> mine = fresh;
    if (inserted != static_cast<std::int64_t>(fresh.size())) {
        // Another writer got some of them first: only the rows tagged with our archive are ours.
        auto tagged = c.select("SELECT message_id, event_id FROM events WHERE archive_id = " + num(archive_id),
                               "finding new events");
        if (!tagged) return util::Unexpected(std::move(tagged).error());
        std::set<std::pair<std::string, EventId>> ours;
        while (tagged->next()) {
            std::string mid = tagged->text();
            ours.emplace(std::move(mid), tagged->event_id());
        }
        mine.clear();
        for (const auto* e : fresh) {
            if (ours.contains({e->mail.message_id, e->id})) mine.push_back(e);
            else ++result.duplicates;
        }
    }

    // The new events' effects, joined in memory, then joined into the rows by SQL.
    BatchEffects effects;
    for (const auto* ev : mine) {
        ++(ev->type == core::EventType::unknown ? result.unknown : result.applied);
        effects.add(*ev);
    }
    if (auto r = write_states(c, effects.messages, effects.recipients); !r) return util::Unexpected(std::move(r).error());
    rows.clear();
    for (const auto& [a, x] : effects.suppressions) rows.push_back(suppression_row(x));
    if (auto r = insert_rows(c, suppression_upsert_head, rows, suppression_upsert_tail, "writing suppressions"); !r) {
        return util::Unexpected(std::move(r).error());
    }
    rows.clear();
    for (const auto& [a, v] : effects.soft_bounces) rows.push_back("(" + bin(a) + "," + num(v.first) + "," + num(v.second) + ")");
    if (auto r = insert_rows(c, stats_upsert_head, rows, stats_upsert_tail, "counting soft bounces"); !r) {
        return util::Unexpected(std::move(r).error());
    }
    return result;
}

Result<std::string> MysqlStore::Impl::decompress(std::string_view frame, std::int64_t raw_size) {
    std::string out(static_cast<std::size_t>(raw_size), '\0');
    const std::size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != out.size()) {
        return util::fail(ErrorKind::storage, std::string("event archive is corrupt: ") +
                                                  (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch"));
    }
    return out;
}

Result<std::optional<MessageView>> MysqlStore::message(std::string_view message_id, bool with_raw_json) {
    Impl& s = *m_impl;
    return s.with_connection([&](Connection& c) -> Result<std::optional<MessageView>> {
        auto m = c.select(s.message_select + "WHERE message_id = " + bin(message_id), "reading a message");
        if (!m) return util::Unexpected(std::move(m).error());
        if (!m->next()) return std::optional<MessageView>();
        MessageView view;
        view.message = read_message(*m);
        auto rs = c.select(s.recipient_select + "WHERE message_id = " + bin(message_id) + " ORDER BY address",
                           "reading recipients");
        if (!rs) return util::Unexpected(std::move(rs).error());
        while (rs->next()) view.recipients.push_back(read_recipient(*rs));
        auto es = c.select("SELECT event_id, type, type_name, occurred_at, archive_offset, archive_length, archive_id "
                           "FROM events WHERE message_id = " +
                               bin(message_id) + " ORDER BY occurred_at, event_id",
                           "reading events");
        if (!es) return util::Unexpected(std::move(es).error());
        std::unordered_map<std::int64_t, std::string> archives;
        while (es->next()) {
            EventRecord e;
            e.id = es->event_id();
            const auto type = es->int64();
            e.type = type >= 0 && type < core::k_event_type_count ? static_cast<core::EventType>(type) : core::EventType::unknown;
            e.type_name = es->text();
            e.message_id = std::string(message_id);
            e.occurred_at = es->int64();
            const auto offset = es->int64();
            const auto length = es->int64();
            const auto archive_id = es->int64();
            if (with_raw_json) {
                auto it = archives.find(archive_id);
                if (it == archives.end()) {
                    auto a = c.select("SELECT raw_size, data FROM event_archive WHERE archive_id = " + num(archive_id),
                                      "reading the event archive");
                    if (!a) return util::Unexpected(std::move(a).error());
                    if (!a->next()) {
                        return util::fail(ErrorKind::storage, "event archive " + std::to_string(archive_id) + " is missing");
                    }
                    const auto raw_size = a->int64();
                    const std::string frame = a->text();
                    auto data = s.decompress(frame, raw_size);
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
        return std::optional<MessageView>(std::move(view));
    });
}

Result<std::vector<RecipientState>> MysqlStore::recipients(const RecipientFilter& filter) {
    Impl& s = *m_impl;
    std::string sql = s.recipient_select + "WHERE 1=1";
    if (filter.address) sql += " AND address = " + bin(*filter.address);
    if (filter.status) sql += " AND status = " + num(core::precedence(*filter.status));
    if (filter.since) sql += " AND last_event_at >= " + num(*filter.since);
    sql += " ORDER BY last_event_at DESC, message_id, address LIMIT " + std::to_string(filter.limit);
    return s.with_connection([&](Connection& c) -> Result<std::vector<RecipientState>> {
        auto rows = c.select(sql, "listing recipients");
        if (!rows) return util::Unexpected(std::move(rows).error());
        std::vector<RecipientState> out;
        while (rows->next()) out.push_back(read_recipient(*rows));
        return out;
    });
}

Result<DeliveryCounts> MysqlStore::counts(std::optional<UnixMillis> since) {
    Impl& s = *m_impl;
    const std::string where = since ? " WHERE m.mail_timestamp >= " + num(*since) : "";
    return s.with_connection([&](Connection& c) -> Result<DeliveryCounts> {
        auto q = c.select("SELECT r.status, COUNT(*), SUM(r.delivered_at IS NOT NULL), "
                          "SUM(r.status = 7 AND COALESCE(r.bounce_subtype, '') <> 'OnAccountSuppressionList'), "
                          "SUM(r.complained_at IS NOT NULL) FROM recipients r JOIN messages m USING (message_id)" +
                              where + " GROUP BY r.status",
                          "counting recipients");
        if (!q) return util::Unexpected(std::move(q).error());
        DeliveryCounts out;
        while (q->next()) {
            const auto status = q->int64();
            const auto n = q->int64();
            if (status >= 0 && status < core::k_status_count) out.by_status[status] = n;
            out.recipients += n;
            out.delivered += q->int64();
            out.hard_bounced += q->int64();
            out.complained += q->int64();
            const auto st = status_at(status);
            if (st != core::RecipientStatus::queued && st != core::RecipientStatus::rejected &&
                st != core::RecipientStatus::rendering_failed) {
                out.sent += n;
            }
        }
        auto m = c.select("SELECT COUNT(*), COALESCE(SUM(opens), 0), COALESCE(SUM(clicks), 0) FROM messages m" + where,
                          "counting messages");
        if (!m) return util::Unexpected(std::move(m).error());
        if (m->next()) {
            out.messages = m->int64();
            out.opens = m->int64();
            out.clicks = m->int64();
        }
        return out;
    });
}

Result<StoreInfo> MysqlStore::info() {
    return m_impl->with_connection([&](Connection& c) -> Result<StoreInfo> {
        auto q = c.select("SELECT (SELECT COUNT(*) FROM events), (SELECT COALESCE(SUM(raw_size), 0) FROM event_archive), "
                          "(SELECT COALESCE(SUM(LENGTH(data)), 0) FROM event_archive)",
                          "reading store info");
        if (!q) return util::Unexpected(std::move(q).error());
        StoreInfo i;
        if (q->next()) {
            i.events = q->int64();
            i.archived_raw_bytes = q->int64();
            i.archived_stored_bytes = q->int64();
        }
        return i;
    });
}

// ---- suppressions ---------------------------------------------------------------------------

Result<std::vector<core::Suppression>> MysqlStore::suppressions() {
    return m_impl->with_connection([&](Connection& c) -> Result<std::vector<core::Suppression>> {
        auto q = c.select(std::string(k_suppression_select) + " ORDER BY address", "listing suppressions");
        if (!q) return util::Unexpected(std::move(q).error());
        std::vector<core::Suppression> out;
        while (q->next()) out.push_back(read_suppression(*q));
        return out;
    });
}

Result<std::optional<core::Suppression>> MysqlStore::suppression(std::string_view address) {
    return m_impl->with_connection([&](Connection& c) -> Result<std::optional<core::Suppression>> {
        auto q = c.select(std::string(k_suppression_select) + " WHERE address = " + bin(address), "reading a suppression");
        if (!q) return util::Unexpected(std::move(q).error());
        if (!q->next()) return std::optional<core::Suppression>();
        return std::optional<core::Suppression>(read_suppression(*q));
    });
}

Result<void> MysqlStore::suppress(const core::Suppression& entry) {
    Impl& s = *m_impl;
    // A transaction of its own so that a deadlock with an apply() touching the address is retried.
    return s.in_transaction([&](Connection& c) {
        return c.exec(s.suppression_upsert_head + suppression_row(entry) + s.suppression_upsert_tail, "writing a suppression");
    });
}

Result<bool> MysqlStore::unsuppress(std::string_view address) {
    return m_impl->with_connection([&](Connection& c) -> Result<bool> {
        if (auto r = c.exec("DELETE FROM suppressions WHERE address = " + bin(address), "removing a suppression"); !r) {
            return util::Unexpected(std::move(r).error());
        }
        return c.affected() > 0;
    });
}

Result<std::int64_t> MysqlStore::soft_bounces(std::string_view address) {
    return m_impl->with_connection([&](Connection& c) -> Result<std::int64_t> {
        auto q = c.select("SELECT soft_bounces FROM address_stats WHERE address = " + bin(address), "reading soft bounces");
        if (!q) return util::Unexpected(std::move(q).error());
        if (!q->next()) return std::int64_t{0};
        return q->int64();
    });
}

// ---- sends ----------------------------------------------------------------------------------

Result<std::optional<SendRecord>> MysqlStore::Impl::read_send(Connection& c, std::string_view where, bool for_update) {
    auto row = c.select(std::string("SELECT ") + k_send_columns + " FROM sends WHERE " + std::string(where) +
                            (for_update ? " FOR UPDATE" : ""),
                        "reading a send");
    if (!row) return util::Unexpected(std::move(row).error());
    if (!row->next()) return std::optional<SendRecord>();
    SendRecord x;
    x.send_id = row->text();
    x.idempotency_key = row->text();
    const auto status = row->int64();
    x.status = status == 1 ? SendStatus::sent : status == 2 ? SendStatus::failed : SendStatus::queued;
    x.created_at = row->int64();
    x.updated_at = row->int64();
    x.attempts = row->int64();
    x.from = row->text();
    x.subject = row->text();
    x.template_name = row->text();
    x.configuration_set = row->text();
    x.ses_message_id = row->text();
    x.error_code = row->text();
    x.error_message = row->text();

    auto rs = c.select("SELECT address, role, skipped FROM send_recipients WHERE send_id = " + bin(x.send_id) +
                           " ORDER BY role, address",
                       "reading send recipients");
    if (!rs) return util::Unexpected(std::move(rs).error());
    while (rs->next()) {
        SendRecipient r;
        r.address = rs->text();
        const auto role = rs->int64();
        r.role = role == 1 ? RecipientRole::cc : role == 2 ? RecipientRole::bcc : RecipientRole::to;
        r.skipped = rs->text();
        x.recipients.push_back(std::move(r));
    }
    if (x.ses_message_id.empty()) {
        auto link = c.select("SELECT message_id FROM messages WHERE send_id = " + bin(x.send_id) +
                                 " ORDER BY message_id LIMIT 1",
                             "looking for a message linked to a send");
        if (!link) return util::Unexpected(std::move(link).error());
        if (link->next()) {
            x.ses_message_id = link->text();
            x.linked_by_event = true;
            x.status = SendStatus::sent;
        }
    }
    return std::optional<SendRecord>(std::move(x));
}

Result<SendClaim> MysqlStore::begin_send(const SendRecord& draft) {
    Impl& s = *m_impl;
    // Two senders racing on one key: the second insert waits on the first's unique-key lock
    // and then fails with a duplicate (1062), which restarts this transaction; the retry
    // finds the first send.
    return s.in_transaction([&](Connection& c) -> Result<SendClaim> {
        if (!draft.idempotency_key.empty()) {
            auto existing = s.read_send(c, "idempotency_key = " + bin(draft.idempotency_key), false);
            if (!existing) return util::Unexpected(std::move(existing).error());
            if (*existing) return SendClaim{std::move(**existing), false};
        }
        const std::string sql = std::string("INSERT INTO sends (") + k_send_columns + ") VALUES (" + bin(draft.send_id) +
                                "," + text(draft.idempotency_key) + ",0," + num(draft.created_at) + "," +
                                num(draft.created_at) + ",1," + bin(draft.from) + "," + text(draft.subject) + "," +
                                text(draft.template_name) + "," + text(draft.configuration_set) + ",NULL,NULL,NULL)";
        if (auto r = c.exec(sql, "recording a send"); !r) return util::Unexpected(std::move(r).error());
        std::vector<std::string> rows;
        for (const SendRecipient& r : draft.recipients) {
            rows.push_back("(" + bin(draft.send_id) + "," + bin(r.address) + "," + num(static_cast<std::int64_t>(r.role)) +
                           "," + text(r.skipped) + ")");
        }
        if (auto w = insert_rows(c, "INSERT INTO send_recipients (send_id, address, role, skipped) VALUES ", rows, "",
                                 "recording send recipients");
            !w) {
            return util::Unexpected(std::move(w).error());
        }
        SendClaim claim{draft, true};
        claim.send.status = SendStatus::queued;
        claim.send.attempts = 1;
        claim.send.updated_at = draft.created_at;
        return claim;
    });
}

Result<void> MysqlStore::retry_send(std::string_view send_id, UnixMillis at) {
    return m_impl->with_connection([&](Connection& c) -> Result<void> {
        if (auto r = c.exec("UPDATE sends SET status = 0, attempts = attempts + 1, updated_at = " + num(at) +
                                ", error_code = NULL, error_message = NULL WHERE send_id = " + bin(send_id),
                            "starting a send attempt");
            !r) {
            return r;
        }
        if (c.affected() == 0) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
        return {};
    });
}

Result<void> MysqlStore::send_accepted(std::string_view send_id, std::string_view ses_message_id, UnixMillis at) {
    if (ses_message_id.empty()) return util::fail(ErrorKind::invalid_input, "empty SES message id");
    Impl& s = *m_impl;
    return s.in_transaction([&](Connection& c) -> Result<void> {
        auto stored = s.read_send(c, "send_id = " + bin(send_id), true);
        if (!stored) return util::Unexpected(std::move(stored).error());
        if (!*stored) return util::fail(ErrorKind::not_found, "no send " + std::string(send_id));
        const SendRecord& send = **stored;
        if (auto r = c.exec("UPDATE sends SET status = 1, ses_message_id = " + bin(ses_message_id) +
                                ", updated_at = " + num(at) + ", error_code = NULL, error_message = NULL WHERE send_id = " +
                                bin(send_id),
                            "recording an SES message id");
            !r) {
            return r;
        }
        // The rows as the sending path knows them, joined by the same SQL as events' effects,
        // so the order of the two does not matter.
        MessageState m;
        m.message_id = std::string(ses_message_id);
        m.status = core::StatusStamp{core::RecipientStatus::queued, at, EventId{}};
        m.mail_timestamp = at;
        m.source = send.from;
        m.subject = send.subject;
        m.configuration_set = send.configuration_set;
        m.send_id = std::string(send_id);
        std::map<std::pair<std::string, std::string>, RecipientState> recipients;
        for (const SendRecipient& r : send.recipients) {
            if (!r.skipped.empty()) continue;
            RecipientState st;
            st.message_id = m.message_id;
            st.address = r.address;
            st.status = core::StatusStamp{core::RecipientStatus::queued, at, EventId{}};
            recipients.emplace(std::make_pair(st.message_id, st.address), std::move(st));
        }
        m.recipient_count = static_cast<std::int64_t>(recipients.size());
        std::map<std::string, MessageState, std::less<>> messages;
        messages.emplace(m.message_id, m);
        return s.write_states(c, messages, recipients);
    });
}

Result<void> MysqlStore::send_failed(std::string_view send_id, std::string_view error_code, std::string_view error_message,
                                     UnixMillis at) {
    // A failure never overwrites a recorded success (a late error report of an accepted send).
    return m_impl->with_connection([&](Connection& c) {
        return c.exec("UPDATE sends SET status = 2, error_code = " + text(error_code) + ", error_message = " +
                          text(error_message) + ", updated_at = " + num(at) + " WHERE send_id = " + bin(send_id) +
                          " AND status <> 1",
                      "recording a failed send");
    });
}

Result<std::optional<SendRecord>> MysqlStore::send(std::string_view send_id) {
    Impl& s = *m_impl;
    return s.with_connection([&](Connection& c) { return s.read_send(c, "send_id = " + bin(send_id), false); });
}

}  // namespace mailtrack::store
