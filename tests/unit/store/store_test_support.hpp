#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/store/sqlite_store.hpp"
#if MAILTRACK_TEST_MYSQL
#include "mailtrack/store/mysql_store.hpp"
#endif

// The store suite is compiled twice: store_test on SQLite (label unit) and store_mysql_test
// (MAILTRACK_TEST_MYSQL=1, label integration) on the MariaDB server tests/support/peers.py
// --mariadb starts. memory_store() gives an empty store of the backend under test.
namespace mailtrack::store::test {

#if MAILTRACK_TEST_MYSQL
using TestStore = MysqlStore;

// The server's options for a database of the given name (created when opened).
inline MysqlOptions mysql_options(const std::string& database) {
    const char* url = std::getenv("MAILTRACK_TEST_MYSQL_URL");
    const char* password = std::getenv("MAILTRACK_TEST_MYSQL_PASSWORD");
    if (url == nullptr || password == nullptr) {
        ADD_FAILURE() << "MAILTRACK_TEST_MYSQL_URL is not set: run under tests/support/peers.py --mariadb";
        return {};
    }
    auto o = parse_mysql_url(std::string(url) + "x?ssl-mode=DISABLED");
    EXPECT_TRUE(o.has_value()) << (o ? "" : o.error().describe());
    if (!o) return {};
    o->database = database;
    o->password = password;
    o->create_database = true;
    o->connect_timeout_s = 5;
    return *o;
}

// Each call a new database, so tests (and processes running them in parallel) never meet.
inline std::string fresh_database_name() {
    static std::atomic<int> counter{0};
    return "mt_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
}

inline std::unique_ptr<MysqlStore> memory_store() {
    auto s = MysqlStore::open(mysql_options(fresh_database_name()));
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
    return s ? std::move(*s) : nullptr;
}
#else
using TestStore = SqliteStore;

inline std::unique_ptr<SqliteStore> memory_store() {
    auto s = SqliteStore::open(SqliteOptions{":memory:", 1000, 1});
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
    return s ? std::move(*s) : nullptr;
}
#endif

inline std::vector<core::SesEvent> parse_all(const std::vector<std::string>& docs) {
    ses::EventParser p;
    std::vector<core::SesEvent> out;
    for (const auto& d : docs) {
        auto e = p.parse(d);
        EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().describe());
        if (e) out.push_back(std::move(*e));
    }
    return out;
}

// Everything a store knows about a set of messages and addresses, for comparisons.
struct Snapshot {
    std::vector<core::MessageState> messages;
    std::vector<core::RecipientState> recipients;
    std::vector<core::Suppression> suppressions;
    std::vector<std::int64_t> soft_bounces;
    bool operator==(const Snapshot&) const = default;
};

inline Snapshot snapshot(Store& s, const std::vector<std::string>& message_ids,
                         const std::vector<std::string>& addresses) {
    Snapshot out;
    for (const auto& id : message_ids) {
        auto v = s.message(id, false);
        EXPECT_TRUE(v.has_value());
        if (v && *v) {
            out.messages.push_back((*v)->message);
            for (auto& r : (*v)->recipients) out.recipients.push_back(r);
        }
    }
    auto sup = s.suppressions();
    EXPECT_TRUE(sup.has_value());
    if (sup) out.suppressions = *sup;
    for (const auto& a : addresses) {
        auto n = s.soft_bounces(a);
        EXPECT_TRUE(n.has_value());
        out.soft_bounces.push_back(n ? *n : -1);
    }
    return out;
}

// What a clean, single apply of `docs` leaves in a store: the state a worker (or several, in
// any order, with duplicates) must end in.
struct Reference {
    std::vector<std::string> message_ids;
    std::vector<std::string> addresses;
    std::int64_t unique_events = 0;
    Snapshot state;
};

inline Reference reference_of(const std::vector<std::string>& docs) {
    Reference ref;
    auto events = parse_all(docs);
    std::set<std::string> ids, addresses;
    std::set<core::EventId> unique;
    for (const auto& e : events) {
        ids.insert(e.mail.message_id);
        for (const auto& d : e.mail.destination) addresses.insert(d);
        unique.insert(e.id);
    }
    ref.message_ids.assign(ids.begin(), ids.end());
    ref.addresses.assign(addresses.begin(), addresses.end());
    ref.unique_events = static_cast<std::int64_t>(unique.size());
    auto s = memory_store();
    EXPECT_TRUE(s->apply(events));
    ref.state = snapshot(*s, ref.message_ids, ref.addresses);
    return ref;
}

// A store that passes every call to another: tests derive from it and override the calls
// they make fail, wait or count.
class ForwardingStore : public Store {
public:
    explicit ForwardingStore(Store& inner) : m_inner(inner) {}

    util::Result<ApplyResult> apply(std::span<const core::SesEvent> events) override { return m_inner.apply(events); }
    util::Result<std::optional<MessageView>> message(std::string_view id, bool raw) override {
        return m_inner.message(id, raw);
    }
    util::Result<std::vector<core::RecipientState>> recipients(const RecipientFilter& f) override {
        return m_inner.recipients(f);
    }
    util::Result<DeliveryCounts> counts(std::optional<util::UnixMillis> since) override {
        return m_inner.counts(since);
    }
    util::Result<StoreInfo> info() override { return m_inner.info(); }
    util::Result<std::vector<core::Suppression>> suppressions() override { return m_inner.suppressions(); }
    util::Result<std::optional<core::Suppression>> suppression(std::string_view a) override {
        return m_inner.suppression(a);
    }
    util::Result<void> suppress(const core::Suppression& e) override { return m_inner.suppress(e); }
    util::Result<bool> unsuppress(std::string_view a) override { return m_inner.unsuppress(a); }
    util::Result<std::int64_t> soft_bounces(std::string_view a) override { return m_inner.soft_bounces(a); }
    util::Result<SendClaim> begin_send(const SendRecord& d) override { return m_inner.begin_send(d); }
    util::Result<void> retry_send(std::string_view id, util::UnixMillis at) override {
        return m_inner.retry_send(id, at);
    }
    util::Result<void> send_accepted(std::string_view id, std::string_view mid, util::UnixMillis at) override {
        return m_inner.send_accepted(id, mid, at);
    }
    util::Result<void> send_failed(std::string_view id, std::string_view code, std::string_view message,
                                   util::UnixMillis at) override {
        return m_inner.send_failed(id, code, message, at);
    }
    util::Result<std::optional<SendRecord>> send(std::string_view id) override { return m_inner.send(id); }

    util::Result<void> create_api_key(const ApiKeyRecord& key) override { return m_inner.create_api_key(key); }
    util::Result<std::optional<ApiKeyRecord>> api_key(std::string_view prefix) override {
        return m_inner.api_key(prefix);
    }
    util::Result<std::vector<ApiKeyRecord>> api_keys() override { return m_inner.api_keys(); }
    util::Result<bool> revoke_api_key(std::string_view prefix, util::UnixMillis at) override {
        return m_inner.revoke_api_key(prefix, at);
    }

private:
    Store& m_inner;
};

}  // namespace mailtrack::store::test
