#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mailtrack/adapters/redis_health.hpp"
#include "mailtrack/adapters/redis_settings.hpp"
#include "mailtrack/redis/client.hpp"
#include "mailtrack/store/store.hpp"

namespace mailtrack::adapters {

// A MessageView as cache bytes (JSON) and back. decode_message_view fails (ErrorKind::invalid_input)
// on anything encode_message_view did not produce; the raw event JSON is never cached.
std::string encode_message_view(const store::MessageView& view);
util::Result<store::MessageView> decode_message_view(std::string_view bytes);

// A Store that shares what several instances must share through Redis, in front of the real one:
//
// - message(id, false) is a read-through cache: `<prefix>msg:<id>` holds the serialized
//   MessageView for cache_ttl. Lookups that want the raw JSON go to the store.
// - apply() deletes the cache keys of every message id of a committed batch in one DEL (one
//   round trip); send_accepted() deletes the message's key. A failed delete is remembered and
//   retried with the next one (up to 100,000 ids), so an unreachable Redis does not leave stale
//   views once it answers again (a restarted Redis has lost them anyway).
// - begin_send() with an idempotency key first claims `<prefix>idem:<key>` with SET NX PX
//   idempotency_ttl, so two instances racing on one key -- even with different stores -- send
//   once: the loser gets the holder's send (status queued = in flight elsewhere, refused as in
//   doubt; sent = a duplicate, with its SES message id). send_accepted() records `sent` in the
//   claim; send_failed() releases it so a retry may claim it again.
//
// Redis failures never fail a call: they are counted and logged through `health` and the call
// goes on as the inner store alone would do it (no cache, store-only idempotency).
// Thread safety: like any Store, one object per thread.
class RedisSharedStore final : public store::Store {
public:
    RedisSharedStore(std::unique_ptr<store::Store> inner, std::unique_ptr<redis::Client> client,
                     const RedisSettings& settings, const util::Clock& clock, util::MetricsRegistry* metrics);

    util::Result<store::ApplyResult> apply(std::span<const core::SesEvent> events) override;
    util::Result<std::optional<store::MessageView>> message(std::string_view message_id, bool with_raw_json) override;
    util::Result<std::vector<core::RecipientState>> recipients(const store::RecipientFilter& filter) override;
    util::Result<store::DeliveryCounts> counts(std::optional<util::UnixMillis> since) override;
    util::Result<store::StoreInfo> info() override;
    util::Result<std::vector<core::Suppression>> suppressions() override;
    util::Result<std::optional<core::Suppression>> suppression(std::string_view address) override;
    util::Result<void> suppress(const core::Suppression& entry) override;
    util::Result<bool> unsuppress(std::string_view address) override;
    util::Result<std::int64_t> soft_bounces(std::string_view address) override;
    util::Result<store::SendClaim> begin_send(const store::SendRecord& draft) override;
    util::Result<void> retry_send(std::string_view send_id, util::UnixMillis at) override;
    util::Result<void> send_accepted(std::string_view send_id, std::string_view ses_message_id,
                                     util::UnixMillis at) override;
    util::Result<void> send_failed(std::string_view send_id, std::string_view error_code,
                                   std::string_view error_message, util::UnixMillis at) override;
    util::Result<std::optional<store::SendRecord>> send(std::string_view send_id) override;
    util::Result<void> create_api_key(const store::ApiKeyRecord& key) override;
    util::Result<std::optional<store::ApiKeyRecord>> api_key(std::string_view prefix) override;
    util::Result<std::vector<store::ApiKeyRecord>> api_keys() override;
    util::Result<bool> revoke_api_key(std::string_view prefix, util::UnixMillis at) override;

    std::int64_t cache_hits() const noexcept { return m_hits; }
    std::int64_t cache_misses() const noexcept { return m_misses; }
    const RedisHealth& health() const noexcept { return m_health; }

private:
    std::string cache_key(std::string_view message_id) const;
    void invalidate(std::vector<std::string> message_ids);

    std::unique_ptr<store::Store> m_inner;
    std::unique_ptr<redis::Client> m_client;
    std::string m_prefix;
    std::chrono::milliseconds m_cache_ttl;
    std::chrono::milliseconds m_idempotency_ttl;
    util::MetricsRegistry* m_metrics;
    RedisHealth m_health;
    std::map<std::string, std::string, std::less<>> m_claims;  // send id -> claim key we hold
    std::vector<std::string> m_pending_invalidations;
    std::int64_t m_hits = 0;
    std::int64_t m_misses = 0;
};

}  // namespace mailtrack::adapters
