#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "mailtrack/store/mysql_options.hpp"
#include "mailtrack/store/store.hpp"

namespace mailtrack::store {

// The store on MySQL 8 / MariaDB (InnoDB), through MariaDB Connector/C.
//
// apply() runs one transaction of multi-row `INSERT ... ON DUPLICATE KEY UPDATE` statements
// whose UPDATE clauses are the joins of core::merge_into written in SQL, so writers in several
// processes may apply overlapping batches concurrently without ever regressing a fact; an
// event adds to counters only in the transaction that inserted its identity. Deadlocks and
// lock-wait timeouts restart the whole transaction (bounded, with jitter). A lost server
// gives ErrorKind::storage_unavailable and the next call reconnects.
//
// Thread safety: unlike the other stores, one MysqlStore may be used from several threads;
// each call takes a connection from the pool for its duration.
class MysqlStore final : public Store {
public:
    // Connects, creates the database when asked, and migrates the schema.
    static util::Result<std::unique_ptr<MysqlStore>> open(const MysqlOptions& options);
    ~MysqlStore() override;

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
    util::Result<void> create_api_key(const ApiKeyRecord& key) override;
    util::Result<std::optional<ApiKeyRecord>> api_key(std::string_view prefix) override;
    util::Result<std::vector<ApiKeyRecord>> api_keys() override;
    util::Result<bool> revoke_api_key(std::string_view prefix, util::UnixMillis at) override;

    int schema_version() const;
    // Why a commit may not survive a server crash here (innodb_flush_log_at_trx_commit is not 1,
    // or sync_binlog is not 1 with the binary log on; RDS's defaults are 1 and 1), or nothing.
    // open() also logs it once as a warning.
    const std::optional<std::string>& durability_warning() const;
    // Transactions restarted after a deadlock or lock-wait timeout since open (for tests, stats).
    std::int64_t transaction_retries() const;

    struct Impl;

private:
    explicit MysqlStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace mailtrack::store
