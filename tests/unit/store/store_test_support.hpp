#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/store/sqlite_store.hpp"

namespace mailtrack::store::test {

inline std::unique_ptr<SqliteStore> memory_store() {
    auto s = SqliteStore::open(SqliteOptions{":memory:", 1000, 1});
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().describe());
    return s ? std::move(*s) : nullptr;
}

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
