#pragma once

#include <memory>
#include <string>

#include "mailtrack/store/sqlite_options.hpp"
#include "mailtrack/store/store.hpp"

namespace mailtrack::store {

// The embedded store: SQLite in WAL mode (synchronous=FULL unless told otherwise). Raw SES JSON
// is archived per apply() batch as one zstd frame, which is what keeps archiving cheap.
class SqliteStore final : public Store {
public:
    // Opens (creating it if needed and options.mode allows) and migrates the database.
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
    util::Result<void> create_api_key(const ApiKeyRecord& key) override;
    util::Result<std::optional<ApiKeyRecord>> api_key(std::string_view prefix) override;
    util::Result<std::vector<ApiKeyRecord>> api_keys() override;
    util::Result<bool> revoke_api_key(std::string_view prefix, util::UnixMillis at) override;

    // The schema version after migration.
    int schema_version() const;

    struct Impl;

private:
    explicit SqliteStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace mailtrack::store
