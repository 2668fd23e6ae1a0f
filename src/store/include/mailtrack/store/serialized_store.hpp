#pragma once

#include <memory>
#include <mutex>

#include "mailtrack/store/store.hpp"

namespace mailtrack::store {

// A Store any number of threads may call: each call runs under one mutex, on the store it owns
// (a Store is one thread's at a time). For the HTTP handlers of `mailtrack serve`, whose calls
// are short; the worker commits through a store of its own.
class SerializedStore final : public Store {
public:
    explicit SerializedStore(std::unique_ptr<Store> inner) : m_inner(std::move(inner)) {}

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

private:
    std::mutex m_mutex;
    std::unique_ptr<Store> m_inner;
};

}  // namespace mailtrack::store
