#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
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

inline Snapshot snapshot(Store& s, const std::vector<std::string>& message_ids, const std::vector<std::string>& addresses) {
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

}  // namespace mailtrack::store::test
