#include "mailtrack/adapters/redis_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "mailtrack/store_sql/columns.hpp"
#include "mailtrack/worker/metrics.hpp"

namespace mailtrack::adapters {
namespace {

using nlohmann::json;
using util::ErrorKind;

constexpr std::size_t k_max_pending_invalidations = 100'000;

// ---- MessageView <-> JSON: a cache format, read only by decode below. A message and each
// recipient is a JSON array of its stored columns' values in the order of store_sql's column
// tables, so the cache keeps every stored field -- a new one included -- with no code here; an
// entry written under another schema version is a miss.

constexpr int k_cache_format = 2;

json enc(const core::EventId& id) {
    return id.hex();
}
void dec(const json& j, core::EventId& id) {
    const auto hex = j.get<std::string>();
    if (hex.size() != 32) throw std::invalid_argument("event id");
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        throw std::invalid_argument("event id");
    };
    for (std::size_t i = 0; i < 16; ++i) {
        id.bytes[i] = static_cast<std::uint8_t>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
    }
}

// Out of line: inlined, GCC 12 at -O2 (the ASan build) reports the payload of store_sql's
// disengaged std::optional temporaries as maybe-uninitialized, although it is never read.
[[gnu::noinline]] json optional_json(const std::optional<std::int64_t>& v) {
    return v ? json(*v) : json(nullptr);
}

template <typename Table, typename Row>
json row_json(const Table& table, const Row& row) {
    json out = json::array();
    store::sql::for_each_value(table, row, [&](const auto&, const auto& v) {
        using V = std::remove_cvref_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::int64_t>) {
            out.push_back(v);
        } else if constexpr (std::is_same_v<V, std::optional<std::int64_t>>) {
            out.push_back(optional_json(v));
        } else if constexpr (std::is_same_v<V, std::string_view>) {
            out.push_back(std::string(v));
        } else {
            static_assert(std::is_same_v<V, core::EventId>);
            out.push_back(v == core::EventId{} ? json(nullptr) : json(v.hex()));
        }
    });
    return out;
}

// store_sql's reader interface over one such array; throws on a value of the wrong shape.
class JsonRowReader {
public:
    explicit JsonRowReader(const json& row) : m_row(row) {
        if (!m_row.is_array()) throw std::invalid_argument("row is not an array");
    }
    std::int64_t int64() { return next().get<std::int64_t>(); }
    std::optional<std::int64_t> opt_int64() {
        const json& v = next();
        if (v.is_null()) return std::nullopt;
        return v.get<std::int64_t>();
    }
    std::string text() {
        const json& v = next();
        return v.is_null() ? std::string() : v.get<std::string>();
    }
    core::EventId event_id() {
        const json& v = next();
        core::EventId id;
        if (!v.is_null()) dec(v, id);
        return id;
    }
    void finish() const {
        if (m_at != m_row.size()) throw std::invalid_argument("row has more values than columns");
    }

private:
    const json& next() {
        if (m_at >= m_row.size()) throw std::invalid_argument("row has fewer values than columns");
        return m_row[m_at++];
    }
    const json& m_row;
    std::size_t m_at = 0;
};

template <typename Row, typename Table>
Row row_from_json(const Table& table, const json& j) {
    JsonRowReader reader(j);
    Row row = store::sql::read_row<Row>(table, reader);
    reader.finish();
    return row;
}

json enc(const store::EventRecord& e) {
    return {{"id", enc(e.id)},
            {"t", static_cast<int>(e.type)},
            {"tn", e.type_name},
            {"m", e.message_id},
            {"at", e.occurred_at}};
}
void dec(const json& j, store::EventRecord& e) {
    dec(j.at("id"), e.id);
    const int type = j.at("t").get<int>();
    if (type < 0 || type >= core::k_event_type_count) throw std::invalid_argument("event type");
    e.type = static_cast<core::EventType>(type);
    e.type_name = j.at("tn").get<std::string>();
    e.message_id = j.at("m").get<std::string>();
    e.occurred_at = j.at("at").get<util::UnixMillis>();
}

// The value of an idempotency claim: which send holds the key and, once SES accepted it, its
// message id.
std::string claim_value(std::string_view send_id, store::SendStatus status, std::string_view ses_message_id) {
    return json{
        {"send_id", send_id}, {"status", std::string(store::to_string(status))}, {"ses_message_id", ses_message_id}}
        .dump();
}

std::optional<store::SendRecord> parse_claim(std::string_view value, std::string_view key) {
    const json j = json::parse(value, nullptr, false);
    if (!j.is_object() || !j.contains("send_id") || !j["send_id"].is_string()) return std::nullopt;
    store::SendRecord r;
    r.send_id = j["send_id"].get<std::string>();
    r.idempotency_key = std::string(key);
    r.status = j.value("status", std::string()) == "sent" ? store::SendStatus::sent : store::SendStatus::queued;
    r.ses_message_id = j.value("ses_message_id", std::string());
    return r;
}

std::string px(std::chrono::milliseconds ttl) {
    return std::to_string(std::max<std::int64_t>(ttl.count(), 1));
}

}  // namespace

std::string encode_message_view(const store::MessageView& view) {
    json recipients = json::array();
    for (const auto& r : view.recipients) recipients.push_back(row_json(store::sql::k_recipient_columns, r));
    json events = json::array();
    for (const auto& e : view.events) events.push_back(enc(e));
    return json{{"v", k_cache_format},
                {"schema", store::sql::k_schema_version},
                {"m", row_json(store::sql::k_message_columns, view.message)},
                {"r", std::move(recipients)},
                {"e", std::move(events)}}
        .dump();
}

util::Result<store::MessageView> decode_message_view(std::string_view bytes) {
    const json j = json::parse(bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("v", 0) != k_cache_format ||
        j.value("schema", 0) != store::sql::k_schema_version) {
        return util::fail(ErrorKind::invalid_input, "cached message view: not a view of this version and schema");
    }
    try {
        store::MessageView v;
        v.message = row_from_json<core::MessageState>(store::sql::k_message_columns, j.at("m"));
        for (const auto& r : j.at("r"))
            v.recipients.push_back(row_from_json<core::RecipientState>(store::sql::k_recipient_columns, r));
        for (const auto& e : j.at("e")) dec(e, v.events.emplace_back());
        return v;
    } catch (const std::exception& e) {
        return util::fail(ErrorKind::invalid_input, std::string("cached message view: ") + e.what());
    }
}

RedisSharedStore::RedisSharedStore(std::unique_ptr<store::Store> inner, std::unique_ptr<redis::Client> client,
                                   const RedisSettings& settings, const util::Clock& clock,
                                   util::MetricsRegistry* metrics)
    : m_inner(std::move(inner)),
      m_client(std::move(client)),
      m_prefix(settings.key_prefix),
      m_cache_ttl(settings.cache_ttl),
      m_idempotency_ttl(settings.idempotency_ttl),
      m_metrics(metrics),
      m_health(clock, "store", metrics) {}

std::string RedisSharedStore::cache_key(std::string_view message_id) const {
    return m_prefix + "msg:" + std::string(message_id);
}

void RedisSharedStore::invalidate(std::vector<std::string> message_ids) {
    std::sort(message_ids.begin(), message_ids.end());
    message_ids.erase(std::unique(message_ids.begin(), message_ids.end()), message_ids.end());
    std::vector<std::string> del{"DEL"};
    del.reserve(message_ids.size() + m_pending_invalidations.size() + 1);
    for (const auto& id : m_pending_invalidations) del.push_back(cache_key(id));
    for (const auto& id : message_ids) {
        if (!id.empty()) del.push_back(cache_key(id));
    }
    if (del.size() == 1) return;
    auto r = m_client->command(del);
    if (!r || r->is_error()) {
        m_health.failed("cache_invalidate", r ? util::Error{ErrorKind::internal, r->text} : r.error());
        for (auto& id : message_ids) {
            if (m_pending_invalidations.size() >= k_max_pending_invalidations) break;
            m_pending_invalidations.push_back(std::move(id));
        }
        return;
    }
    m_health.succeeded();
    m_pending_invalidations.clear();
    if (m_metrics != nullptr) {
        m_metrics
            ->counter(worker::metric::k_cache_invalidations, {},
                      "message ids whose cached status was deleted after a commit")
            .add(static_cast<std::int64_t>(del.size() - 1));
    }
}

util::Result<store::ApplyResult> RedisSharedStore::apply(std::span<const core::SesEvent> events) {
    auto r = m_inner->apply(events);
    if (!r) return r;
    std::vector<std::string> ids;
    ids.reserve(events.size());
    for (const auto& e : events) ids.push_back(e.mail.message_id);
    invalidate(std::move(ids));
    return r;
}

util::Result<std::optional<store::MessageView>> RedisSharedStore::message(std::string_view message_id,
                                                                          bool with_raw_json) {
    if (with_raw_json) return m_inner->message(message_id, true);
    const std::string key = cache_key(message_id);
    auto cached = m_client->command({"GET", key});
    if (!cached || cached->is_error()) {
        m_health.failed("cache_get", cached ? util::Error{ErrorKind::internal, cached->text} : cached.error());
    } else {
        m_health.succeeded();
        if (cached->type == redis::Reply::Type::string) {
            if (auto view = decode_message_view(cached->text)) {
                ++m_hits;
                return std::optional<store::MessageView>(std::move(*view));
            }
        }
    }
    ++m_misses;
    auto view = m_inner->message(message_id, false);
    if (view && *view && m_client->connected()) {
        auto set = m_client->command({"SET", key, encode_message_view(**view), "PX", px(m_cache_ttl)});
        if (!set || set->is_error()) {
            m_health.failed("cache_set", set ? util::Error{ErrorKind::internal, set->text} : set.error());
        }
    }
    return view;
}

util::Result<store::SendClaim> RedisSharedStore::begin_send(const store::SendRecord& draft) {
    if (draft.idempotency_key.empty()) return m_inner->begin_send(draft);
    const std::string key = m_prefix + "idem:" + draft.idempotency_key;
    auto claimed = m_client->command(
        {"SET", key, claim_value(draft.send_id, store::SendStatus::queued, ""), "NX", "PX", px(m_idempotency_ttl)});
    if (!claimed || claimed->is_error()) {
        m_health.failed("idempotency_claim",
                        claimed ? util::Error{ErrorKind::internal, claimed->text} : claimed.error());
        return m_inner->begin_send(draft);  // store-only, as without Redis
    }
    m_health.succeeded();
    if (!claimed->is_nil()) {  // +OK: the key is ours
        auto r = m_inner->begin_send(draft);
        if (!r) {
            (void)m_client->command({"DEL", key});  // nothing recorded: let a retry claim it
            return r;
        }
        if (r->created) {
            m_claims[r->send.send_id] = key;
        } else {
            // This store already held the key (the claim had expired): Redis learns what it knows.
            (void)m_client->command({"SET", key, claim_value(r->send.send_id, r->send.status, r->send.ses_message_id),
                                     "PX", px(m_idempotency_ttl)});
            if (r->send.status == store::SendStatus::failed) m_claims[r->send.send_id] = key;  // a retry follows
        }
        return r;
    }
    // Another send holds the key, maybe on another host with another store.
    auto holder = m_client->command({"GET", key});
    if (!holder || holder->type != redis::Reply::Type::string) {
        if (!holder) m_health.failed("idempotency_claim", holder.error());
        return m_inner->begin_send(draft);  // expired in between, or Redis went away
    }
    auto held = parse_claim(holder->text, draft.idempotency_key);
    if (!held) return m_inner->begin_send(draft);
    // When this store knows that send (one shared database), its record is the fuller truth.
    if (auto local = m_inner->send(held->send_id); local && *local) {
        return store::SendClaim{std::move(**local), false};
    }
    return store::SendClaim{std::move(*held), false};
}

util::Result<void> RedisSharedStore::send_accepted(std::string_view send_id, std::string_view ses_message_id,
                                                   util::UnixMillis at) {
    auto r = m_inner->send_accepted(send_id, ses_message_id, at);
    if (!r) return r;
    if (auto it = m_claims.find(send_id); it != m_claims.end()) {
        auto set = m_client->command({"SET", it->second, claim_value(send_id, store::SendStatus::sent, ses_message_id),
                                      "PX", px(m_idempotency_ttl)});
        if (!set || set->is_error()) {
            m_health.failed("idempotency_record", set ? util::Error{ErrorKind::internal, set->text} : set.error());
        }
        m_claims.erase(it);
    }
    invalidate({std::string(ses_message_id)});
    return r;
}

util::Result<void> RedisSharedStore::send_failed(std::string_view send_id, std::string_view error_code,
                                                 std::string_view error_message, util::UnixMillis at) {
    auto r = m_inner->send_failed(send_id, error_code, error_message, at);
    if (!r) return r;
    if (auto it = m_claims.find(send_id); it != m_claims.end()) {
        auto del = m_client->command({"DEL", it->second});
        if (!del || del->is_error()) {
            m_health.failed("idempotency_release", del ? util::Error{ErrorKind::internal, del->text} : del.error());
        }
        m_claims.erase(it);
    }
    return r;
}

util::Result<std::vector<core::RecipientState>> RedisSharedStore::recipients(const store::RecipientFilter& filter) {
    return m_inner->recipients(filter);
}
util::Result<store::DeliveryCounts> RedisSharedStore::counts(std::optional<util::UnixMillis> since) {
    return m_inner->counts(since);
}
util::Result<store::StoreInfo> RedisSharedStore::info() {
    return m_inner->info();
}
util::Result<std::vector<core::Suppression>> RedisSharedStore::suppressions() {
    return m_inner->suppressions();
}
util::Result<std::optional<core::Suppression>> RedisSharedStore::suppression(std::string_view address) {
    return m_inner->suppression(address);
}
util::Result<void> RedisSharedStore::suppress(const core::Suppression& entry) {
    return m_inner->suppress(entry);
}
util::Result<bool> RedisSharedStore::unsuppress(std::string_view address) {
    return m_inner->unsuppress(address);
}
util::Result<std::int64_t> RedisSharedStore::soft_bounces(std::string_view address) {
    return m_inner->soft_bounces(address);
}
util::Result<void> RedisSharedStore::retry_send(std::string_view send_id, util::UnixMillis at) {
    return m_inner->retry_send(send_id, at);
}
util::Result<std::optional<store::SendRecord>> RedisSharedStore::send(std::string_view send_id) {
    return m_inner->send(send_id);
}

util::Result<void> RedisSharedStore::create_api_key(const store::ApiKeyRecord& key) {
    return m_inner->create_api_key(key);
}
util::Result<std::optional<store::ApiKeyRecord>> RedisSharedStore::api_key(std::string_view prefix) {
    return m_inner->api_key(prefix);
}
util::Result<std::vector<store::ApiKeyRecord>> RedisSharedStore::api_keys() {
    return m_inner->api_keys();
}
util::Result<bool> RedisSharedStore::revoke_api_key(std::string_view prefix, util::UnixMillis at) {
    return m_inner->revoke_api_key(prefix, at);
}

}  // namespace mailtrack::adapters
