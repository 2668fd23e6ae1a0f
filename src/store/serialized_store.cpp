#include "mailtrack/store/serialized_store.hpp"

namespace mailtrack::store {

#define MAILTRACK_SERIALIZED(call) \
    std::lock_guard lock(m_mutex); \
    return m_inner->call

util::Result<ApplyResult> SerializedStore::apply(std::span<const core::SesEvent> events) {
    MAILTRACK_SERIALIZED(apply(events));
}
util::Result<std::optional<MessageView>> SerializedStore::message(std::string_view id, bool with_raw_json) {
    MAILTRACK_SERIALIZED(message(id, with_raw_json));
}
util::Result<std::vector<core::RecipientState>> SerializedStore::recipients(const RecipientFilter& filter) {
    MAILTRACK_SERIALIZED(recipients(filter));
}
util::Result<DeliveryCounts> SerializedStore::counts(std::optional<util::UnixMillis> since) {
    MAILTRACK_SERIALIZED(counts(since));
}
util::Result<StoreInfo> SerializedStore::info() {
    MAILTRACK_SERIALIZED(info());
}
util::Result<std::vector<core::Suppression>> SerializedStore::suppressions() {
    MAILTRACK_SERIALIZED(suppressions());
}
util::Result<std::optional<core::Suppression>> SerializedStore::suppression(std::string_view address) {
    MAILTRACK_SERIALIZED(suppression(address));
}
util::Result<void> SerializedStore::suppress(const core::Suppression& entry) {
    MAILTRACK_SERIALIZED(suppress(entry));
}
util::Result<bool> SerializedStore::unsuppress(std::string_view address) {
    MAILTRACK_SERIALIZED(unsuppress(address));
}
util::Result<std::int64_t> SerializedStore::soft_bounces(std::string_view address) {
    MAILTRACK_SERIALIZED(soft_bounces(address));
}
util::Result<SendClaim> SerializedStore::begin_send(const SendRecord& draft) {
    MAILTRACK_SERIALIZED(begin_send(draft));
}
util::Result<void> SerializedStore::retry_send(std::string_view send_id, util::UnixMillis at) {
    MAILTRACK_SERIALIZED(retry_send(send_id, at));
}
util::Result<void> SerializedStore::send_accepted(std::string_view send_id, std::string_view ses_message_id,
                                                  util::UnixMillis at) {
    MAILTRACK_SERIALIZED(send_accepted(send_id, ses_message_id, at));
}
util::Result<void> SerializedStore::send_failed(std::string_view send_id, std::string_view error_code,
                                                std::string_view error_message, util::UnixMillis at) {
    MAILTRACK_SERIALIZED(send_failed(send_id, error_code, error_message, at));
}
util::Result<std::optional<SendRecord>> SerializedStore::send(std::string_view send_id) {
    MAILTRACK_SERIALIZED(send(send_id));
}

util::Result<void> SerializedStore::create_api_key(const ApiKeyRecord& key) {
    MAILTRACK_SERIALIZED(create_api_key(key));
}
util::Result<std::optional<ApiKeyRecord>> SerializedStore::api_key(std::string_view prefix) {
    MAILTRACK_SERIALIZED(api_key(prefix));
}
util::Result<std::vector<ApiKeyRecord>> SerializedStore::api_keys() {
    MAILTRACK_SERIALIZED(api_keys());
}
util::Result<bool> SerializedStore::revoke_api_key(std::string_view prefix, util::UnixMillis at) {
    MAILTRACK_SERIALIZED(revoke_api_key(prefix, at));
}

#undef MAILTRACK_SERIALIZED

}  // namespace mailtrack::store
