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

}  // namespace mailtrack::store
