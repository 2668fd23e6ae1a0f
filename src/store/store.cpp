#include "mailtrack/store/store.hpp"

namespace mailtrack::store {

std::string_view to_string(SendStatus s) noexcept {
    switch (s) {
        case SendStatus::queued: return "queued";
        case SendStatus::sent: return "sent";
        case SendStatus::failed: return "failed";
    }
    return "?";
}

std::string_view to_string(RecipientRole r) noexcept {
    switch (r) {
        case RecipientRole::to: return "to";
        case RecipientRole::cc: return "cc";
        case RecipientRole::bcc: return "bcc";
    }
    return "?";
}

namespace {
util::Unexpected<util::Error> no_sends() {
    return util::fail(util::ErrorKind::unsupported, "this store does not record sends");
}
}  // namespace

util::Result<SendClaim> Store::begin_send(const SendRecord&) {
    return no_sends();
}
util::Result<void> Store::retry_send(std::string_view, util::UnixMillis) {
    return no_sends();
}
util::Result<void> Store::send_accepted(std::string_view, std::string_view, util::UnixMillis) {
    return no_sends();
}
util::Result<void> Store::send_failed(std::string_view, std::string_view, std::string_view, util::UnixMillis) {
    return no_sends();
}
util::Result<std::optional<SendRecord>> Store::send(std::string_view) {
    return no_sends();
}

std::string_view to_string(ApiScope s) noexcept {
    switch (s) {
        case ApiScope::read: return "read";
        case ApiScope::send: return "send";
        case ApiScope::admin: return "admin";
    }
    return "?";
}

std::optional<ApiScope> parse_api_scope(std::string_view s) noexcept {
    for (ApiScope v : {ApiScope::read, ApiScope::send, ApiScope::admin}) {
        if (to_string(v) == s) return v;
    }
    return std::nullopt;
}

namespace {
util::Unexpected<util::Error> no_api_keys() {
    return util::fail(util::ErrorKind::unsupported, "this store does not keep API keys");
}
}  // namespace

util::Result<void> Store::create_api_key(const ApiKeyRecord&) {
    return no_api_keys();
}
util::Result<std::optional<ApiKeyRecord>> Store::api_key(std::string_view) {
    return no_api_keys();
}
util::Result<std::vector<ApiKeyRecord>> Store::api_keys() {
    return no_api_keys();
}
util::Result<bool> Store::revoke_api_key(std::string_view, util::UnixMillis) {
    return no_api_keys();
}

}  // namespace mailtrack::store
