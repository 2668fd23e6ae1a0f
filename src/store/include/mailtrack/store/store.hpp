#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/core/event.hpp"
#include "mailtrack/core/state.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::store {

// What one apply() did with its events.
struct ApplyResult {
    std::int64_t applied = 0;     // new events of known types
    std::int64_t unknown = 0;     // new events of unknown types: recorded, no status change
    std::int64_t duplicates = 0;  // events whose identity was already stored (or repeated in the batch)
};

// One stored event, for timelines and replay.
struct EventRecord {
    core::EventId id;
    core::EventType type = core::EventType::unknown;
    std::string type_name;  // SES's spelling
    std::string message_id;
    util::UnixMillis occurred_at = 0;
    std::string raw_json;  // filled only when asked for
};

struct MessageView {
    core::MessageState message;
    std::vector<core::RecipientState> recipients;
    std::vector<EventRecord> events;  // ordered by occurred_at, then id
};

struct RecipientFilter {
    std::optional<std::string> address;  // normalized
    std::optional<core::RecipientStatus> status;
    std::optional<util::UnixMillis> since;  // last event at or after
    std::size_t limit = 1000;
};

// Counts over recipients of messages sent since a point in time (all when unset).
struct DeliveryCounts {
    std::int64_t messages = 0;
    std::int64_t recipients = 0;
    std::int64_t by_status[core::k_status_count] = {};
    std::int64_t sent = 0;          // accepted by SES (a Send or any later delivery outcome)
    std::int64_t delivered = 0;     // has a Delivery, whatever came after
    std::int64_t hard_bounced = 0;  // Permanent bounces counted toward SES's bounce rate
    std::int64_t complained = 0;
    std::int64_t opens = 0;
    std::int64_t clicks = 0;
};

// ---- sends (the sending path, issue 5) ----

// Where a send stands. `queued`: recorded, SES has not (yet) answered -- in flight, or the
// process died around the call. `sent`: SES accepted it and gave a message id. `failed`: the
// call ended in an error (AWS error code and message kept).
enum class SendStatus : std::uint8_t { queued, sent, failed };
std::string_view to_string(SendStatus s) noexcept;

enum class RecipientRole : std::uint8_t { to, cc, bcc };
std::string_view to_string(RecipientRole r) noexcept;

struct SendRecipient {
    std::string address;  // normalized
    RecipientRole role = RecipientRole::to;
    std::string skipped;  // why it was left out of the SES call (e.g. "suppressed: bounce"); empty = sent to
    bool operator==(const SendRecipient&) const = default;
};

struct SendRecord {
    std::string send_id;
    std::string idempotency_key;  // empty = none given
    SendStatus status = SendStatus::queued;
    util::UnixMillis created_at = 0;
    util::UnixMillis updated_at = 0;
    std::int64_t attempts = 0;  // SES calls started
    std::string from, subject, template_name, configuration_set;
    std::string ses_message_id;
    // True when ses_message_id was not recorded by the sending path but found through an event
    // carrying the send id in its core::k_send_id_tag mail tag (the crash window).
    bool linked_by_event = false;
    std::string error_code, error_message;
    std::vector<SendRecipient> recipients;
};

// What begin_send() did: created a new send, or found the one holding the idempotency key.
struct SendClaim {
    SendRecord send;
    bool created = false;
};

struct StoreInfo {
    std::int64_t events = 0;
    std::int64_t archived_raw_bytes = 0;
    std::int64_t archived_stored_bytes = 0;
};

// What an API key may do; each scope includes the ones before it.
enum class ApiScope { read = 1, send = 2, admin = 3 };
std::string_view to_string(ApiScope s) noexcept;
std::optional<ApiScope> parse_api_scope(std::string_view s) noexcept;

// An API key as stored: never the key, only its SHA-256 (hex), found by its non-secret prefix.
struct ApiKeyRecord {
    std::string prefix;  // "mtk_" + 12 hex digits: what `apikey list` shows and revoke takes
    std::string hash;    // SHA-256 of the whole key, lower-case hex
    std::string name;
    ApiScope scope = ApiScope::read;
    util::UnixMillis created_at = 0;
    std::optional<util::UnixMillis> revoked_at;
    bool operator==(const ApiKeyRecord&) const = default;
};

// The persistent home of events and statuses. Implementations keep every dialect-specific
// statement inside themselves (SqliteStore, later MysqlStore).
//
// Errors: ErrorKind::storage_unavailable when the database cannot be reached or written
// right now (locked, read-only, disk full, server gone) -- the caller should keep its input
// and retry later; ErrorKind::storage for anything else. A failed apply() changes nothing.
//
// Thread safety: one Store object per thread; several processes may share one database.
class Store {
public:
    virtual ~Store() = default;

    // Stores each event once (by identity) and applies its effects, in one transaction.
    virtual util::Result<ApplyResult> apply(std::span<const core::SesEvent> events) = 0;

    virtual util::Result<std::optional<MessageView>> message(std::string_view message_id, bool with_raw_json) = 0;
    virtual util::Result<std::vector<core::RecipientState>> recipients(const RecipientFilter& filter) = 0;
    virtual util::Result<DeliveryCounts> counts(std::optional<util::UnixMillis> since) = 0;
    virtual util::Result<StoreInfo> info() = 0;

    // The suppression list.
    virtual util::Result<std::vector<core::Suppression>> suppressions() = 0;
    virtual util::Result<std::optional<core::Suppression>> suppression(std::string_view address) = 0;
    // Adds or strengthens an entry (the higher reason wins, as for events).
    virtual util::Result<void> suppress(const core::Suppression& entry) = 0;
    // Returns whether an entry was removed.
    virtual util::Result<bool> unsuppress(std::string_view address) = 0;
    // Soft (transient or undetermined) bounces seen for an address, across all messages.
    virtual util::Result<std::int64_t> soft_bounces(std::string_view address) = 0;

    // ---- sends. The defaults fail with ErrorKind::unsupported, so a store (or test double)
    // that does not record sends still compiles; SqliteStore implements them all.

    // Records a new send (status queued, attempts 1) with its recipients in one transaction.
    // When draft.idempotency_key is already held by a send, nothing is written and that send
    // is returned with created = false.
    virtual util::Result<SendClaim> begin_send(const SendRecord& draft);
    // Starts another attempt of a failed send: status queued again, attempts + 1.
    virtual util::Result<void> retry_send(std::string_view send_id, util::UnixMillis at);
    // SES accepted the send: status sent with its message id, and -- in the same transaction --
    // the message row (keyed by the SES message id) gets the send id, and a `queued` row for
    // each recipient that was sent to, each merged with whatever the event path already stored
    // there (events only ever raise a status). Idempotent.
    virtual util::Result<void> send_accepted(std::string_view send_id, std::string_view ses_message_id,
                                             util::UnixMillis at);
    virtual util::Result<void> send_failed(std::string_view send_id, std::string_view error_code,
                                           std::string_view error_message, util::UnixMillis at);
    // The send, with its recipients. When its message id was never recorded but an event linked
    // a message to it through the send-id tag, that message id is filled in, linked_by_event is
    // set and status reads `sent` (nothing is written).
    virtual util::Result<std::optional<SendRecord>> send(std::string_view send_id);

    // ---- API keys (`mailtrack apikey`, the service's authentication). The defaults fail with
    // ErrorKind::unsupported, as for sends.

    // Errors: a key with that prefix exists (ErrorKind::invalid_input).
    virtual util::Result<void> create_api_key(const ApiKeyRecord& key);
    virtual util::Result<std::optional<ApiKeyRecord>> api_key(std::string_view prefix);
    // Every key, revoked ones too, oldest first.
    virtual util::Result<std::vector<ApiKeyRecord>> api_keys();
    // Returns whether a key that was not revoked is now (a revoked key stays revoked).
    virtual util::Result<bool> revoke_api_key(std::string_view prefix, util::UnixMillis at);
};

}  // namespace mailtrack::store
