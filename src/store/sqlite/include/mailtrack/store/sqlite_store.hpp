#pragma once

#include <memory>
#include <string>

#include "mailtrack/store/store.hpp"

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
    int busy_timeout_ms = 5000;          // how long a writer waits for another process's lock
    int archive_zstd_level = 1;          // compression of the raw-event archive
    int cache_kib = 2048;                // SQLite page cache of this connection
    SqliteSync synchronous = SqliteSync::full;
};

// The embedded store: SQLite in WAL mode (synchronous=FULL unless told otherwise). Raw SES JSON
// is archived per apply() batch as one zstd frame, which is what keeps archiving cheap.
class SqliteStore final : public Store {
public:
    // Opens (creating if needed) and migrates the database.
    static util::Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options);
    ~SqliteStore() override;

    util::Result<ApplyResult> apply(std::span<const core::SesEvent> events) override;
    util::Result<std::optional<MessageView>> message(std::string_view message_id, bool with_raw_json) override;
    util::Result<std::vector<core::RecipientState>> recipients(const RecipientFilter& filter) override;
    util::Result<DeliveryCounts> counts(std::optional<util::UnixMillis> since) override;
    util::Result<StoreInfo> info() override;
    util::Result<std::vector<core::Suppression>> suppressions() override;
    util::Result<std::optional<core::Suppression>> suppression(std::string_view address) override;
    util::Result<void> suppress(const core::Suppression& entry) override;
    util::Result<bool> unsuppress(std::string_view address) override;
    util::Result<std::int64_t> soft_bounces(std::string_view address) override;
    util::Result<SendClaim> begin_send(const SendRecord& draft) override;
    util::Result<void> retry_send(std::string_view send_id, util::UnixMillis at) override;
    util::Result<void> send_accepted(std::string_view send_id, std::string_view ses_message_id,
                                     util::UnixMillis at) override;
    util::Result<void> send_failed(std::string_view send_id, std::string_view error_code,
                                   std::string_view error_message, util::UnixMillis at) override;
    util::Result<std::optional<SendRecord>> send(std::string_view send_id) override;

    // The schema version after migration.
    int schema_version() const;

    struct Impl;

private:
    explicit SqliteStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace mailtrack::store
