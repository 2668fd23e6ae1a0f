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
    std::string raw_json;   // filled only when asked for
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
    std::int64_t sent = 0;        // accepted by SES (a Send or any later delivery outcome)
    std::int64_t delivered = 0;   // has a Delivery, whatever came after
    std::int64_t hard_bounced = 0;   // Permanent bounces counted toward SES's bounce rate
    std::int64_t complained = 0;
    std::int64_t opens = 0;
    std::int64_t clicks = 0;
};

struct StoreInfo {
    std::int64_t events = 0;
    std::int64_t archived_raw_bytes = 0;
    std::int64_t archived_stored_bytes = 0;
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
};

}  // namespace mailtrack::store
