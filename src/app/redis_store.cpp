#include "mailtrack/app/redis_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "mailtrack/worker/metrics.hpp"

namespace mailtrack::app {
namespace {

using nlohmann::json;
using util::ErrorKind;

constexpr std::size_t k_max_pending_invalidations = 100'000;

// ---- MessageView <-> JSON. Short keys: this is a cache format, read only by decode below.

json opt(const std::optional<util::UnixMillis>& t) {
    return t ? json(*t) : json(nullptr);
}
void get(const json& j, const char* k, std::optional<util::UnixMillis>& out) {
    const json& v = j.at(k);
    if (v.is_null())
        out.reset();
    else
        out = v.get<util::UnixMillis>();
}

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

json enc(const core::StatusStamp& s) {
    return {{"s", static_cast<int>(s.status)}, {"at", s.at}, {"e", enc(s.event)}};
}
void dec(const json& j, core::StatusStamp& s) {
    const int status = j.at("s").get<int>();
    if (status < 0 || status >= core::k_status_count) throw std::invalid_argument("status");
    s.status = static_cast<core::RecipientStatus>(status);
    s.at = j.at("at").get<util::UnixMillis>();
    dec(j.at("e"), s.event);
}

json enc(const core::Engagement& e) {
    return {{"o", e.opens},
            {"fo", opt(e.first_open_at)},
            {"lo", opt(e.last_open_at)},
            {"c", e.clicks},
            {"fc", opt(e.first_click_at)},
            {"lc", opt(e.last_click_at)},
            {"sc", e.subscription_changes},
            {"u", opt(e.unsubscribed_at)}};
}
void dec(const json& j, core::Engagement& e) {
    e.opens = j.at("o").get<std::int64_t>();
    get(j, "fo", e.first_open_at);
    get(j, "lo", e.last_open_at);
    e.clicks = j.at("c").get<std::int64_t>();
    get(j, "fc", e.first_click_at);
    get(j, "lc", e.last_click_at);
    e.subscription_changes = j.at("sc").get<std::int64_t>();
    get(j, "u", e.unsubscribed_at);
}

template <typename Fact, typename Fields>
json enc_fact(const std::optional<Fact>& f, Fields fields) {
    if (!f) return nullptr;
    json j = {{"at", f->at}, {"e", enc(f->event)}};
    fields(j, *f);
    return j;
}
template <typename Fact, typename Fields>
void dec_fact(const json& j, std::optional<Fact>& out, Fields fields) {
    if (j.is_null()) {
        out.reset();
        return;
    }
    Fact f;
    f.at = j.at("at").get<util::UnixMillis>();
    dec(j.at("e"), f.event);
    fields(j, f);
    out = std::move(f);
}

json enc(const core::RecipientState& r) {
    json j = {
        {"m", r.message_id},    {"a", r.address},      {"st", enc(r.status)},         {"en", enc(r.engagement)},
        {"sb", r.soft_bounces}, {"ec", r.event_count}, {"fe", opt(r.first_event_at)}, {"le", opt(r.last_event_at)}};
    j["d"] = enc_fact(r.delivery, [](json& o, const core::DeliveryFact& f) {
        o["smtp"] = f.smtp_response;
        o["mta"] = f.reporting_mta;
        o["pt"] = f.processing_time_millis;
    });
    j["b"] = enc_fact(r.bounce, [](json& o, const core::BounceFact& f) {
        o["t"] = f.bounce_type;
        o["st"] = f.bounce_subtype;
        o["ac"] = f.action;
        o["sc"] = f.status_code;
        o["dc"] = f.diagnostic_code;
    });
    j["c"] = enc_fact(r.complaint, [](json& o, const core::ComplaintFact& f) {
        o["ft"] = f.feedback_type;
        o["cs"] = f.complaint_subtype;
        o["ua"] = f.user_agent;
    });
    j["dl"] = enc_fact(r.delay, [](json& o, const core::DelayFact& f) {
        o["t"] = f.delay_type;
        o["sc"] = f.status_code;
        o["dc"] = f.diagnostic_code;
        o["x"] = opt(f.expiration_time);
    });
    j["f"] = enc_fact(r.failure, [](json& o, const core::FailureFact& f) {
        o["r"] = f.reason;
        o["tn"] = f.template_name;
    });
    return j;
}
void dec(const json& j, core::RecipientState& r) {
    r.message_id = j.at("m").get<std::string>();
    r.address = j.at("a").get<std::string>();
    dec(j.at("st"), r.status);
    dec(j.at("en"), r.engagement);
    r.soft_bounces = j.at("sb").get<std::int64_t>();
    r.event_count = j.at("ec").get<std::int64_t>();
    get(j, "fe", r.first_event_at);
    get(j, "le", r.last_event_at);
    dec_fact(j.at("d"), r.delivery, [](const json& o, core::DeliveryFact& f) {
        f.smtp_response = o.at("smtp").get<std::string>();
        f.reporting_mta = o.at("mta").get<std::string>();
        f.processing_time_millis = o.at("pt").get<std::int64_t>();
    });
    dec_fact(j.at("b"), r.bounce, [](const json& o, core::BounceFact& f) {
        f.bounce_type = o.at("t").get<std::string>();
        f.bounce_subtype = o.at("st").get<std::string>();
        f.action = o.at("ac").get<std::string>();
        f.status_code = o.at("sc").get<std::string>();
        f.diagnostic_code = o.at("dc").get<std::string>();
    });
    dec_fact(j.at("c"), r.complaint, [](const json& o, core::ComplaintFact& f) {
        f.feedback_type = o.at("ft").get<std::string>();
        f.complaint_subtype = o.at("cs").get<std::string>();
        f.user_agent = o.at("ua").get<std::string>();
    });
    dec_fact(j.at("dl"), r.delay, [](const json& o, core::DelayFact& f) {
        f.delay_type = o.at("t").get<std::string>();
        f.status_code = o.at("sc").get<std::string>();
        f.diagnostic_code = o.at("dc").get<std::string>();
        get(o, "x", f.expiration_time);
    });
    dec_fact(j.at("f"), r.failure, [](const json& o, core::FailureFact& f) {
        f.reason = o.at("r").get<std::string>();
        f.template_name = o.at("tn").get<std::string>();
    });
}

json enc(const core::MessageState& m) {
    return {{"id", m.message_id},
            {"st", enc(m.status)},
            {"mt", opt(m.mail_timestamp)},
            {"src", m.source},
            {"sub", m.subject},
            {"acct", m.sending_account_id},
            {"arn", m.source_arn},
            {"cs", m.configuration_set},
            {"send", m.send_id},
            {"rc", m.recipient_count},
            {"en", enc(m.engagement)},
            {"ec", m.event_count},
            {"ue", m.unknown_events},
            {"fe", opt(m.first_event_at)},
            {"le", opt(m.last_event_at)}};
}
void dec(const json& j, core::MessageState& m) {
    m.message_id = j.at("id").get<std::string>();
    dec(j.at("st"), m.status);
    get(j, "mt", m.mail_timestamp);
    m.source = j.at("src").get<std::string>();
    m.subject = j.at("sub").get<std::string>();
    m.sending_account_id = j.at("acct").get<std::string>();
    m.source_arn = j.at("arn").get<std::string>();
    m.configuration_set = j.at("cs").get<std::string>();
    m.send_id = j.at("send").get<std::string>();
    m.recipient_count = j.at("rc").get<std::int64_t>();
    dec(j.at("en"), m.engagement);
    m.event_count = j.at("ec").get<std::int64_t>();
    m.unknown_events = j.at("ue").get<std::int64_t>();
    get(j, "fe", m.first_event_at);
    get(j, "le", m.last_event_at);
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
    for (const auto& r : view.recipients) recipients.push_back(enc(r));
    json events = json::array();
    for (const auto& e : view.events) events.push_back(enc(e));
    return json{{"v", 1}, {"m", enc(view.message)}, {"r", std::move(recipients)}, {"e", std::move(events)}}.dump();
}

util::Result<store::MessageView> decode_message_view(std::string_view bytes) {
    const json j = json::parse(bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("v", 0) != 1) {
        return util::fail(ErrorKind::invalid_input, "cached message view: not a version 1 view");
    }
    try {
        store::MessageView v;
        dec(j.at("m"), v.message);
        for (const auto& r : j.at("r")) dec(r, v.recipients.emplace_back());
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

util::Result<std::unique_ptr<store::Store>> share_through_redis(std::unique_ptr<store::Store> inner,
                                                                const config::Config& c, const aws::Environment& env,
                                                                const util::Clock& clock,
                                                                util::MetricsRegistry* metrics) {
    auto settings = redis_settings(c, env);
    if (!settings) return util::Unexpected(std::move(settings).error());
    if (!*settings) return inner;
    auto client = std::make_unique<redis::Client>((*settings)->client, clock);
    return std::unique_ptr<store::Store>(
        std::make_unique<RedisSharedStore>(std::move(inner), std::move(client), **settings, clock, metrics));
}

}  // namespace mailtrack::app
