// The central promise: whatever the order and however many duplicates, the final state is
// the same as applying the de-duplicated events once in a canonical order.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "event_factory.hpp"
#include "store_test_support.hpp"

namespace mailtrack::store {
namespace {

using core::EventType;

const std::vector<std::string> k_messages = {"msg-a", "msg-b", "msg-c"};
const std::vector<std::string> k_addresses = {"a@x.io", "B@x.io", "c@y.org"};

testing::EventSpec random_spec() {
    testing::EventSpec s;
    s.message_id = *rc::gen::elementOf(k_messages);
    // A message's destination is fixed by its id, as in real life.
    const auto m =
        static_cast<std::size_t>(std::find(k_messages.begin(), k_messages.end(), s.message_id) - k_messages.begin());
    s.destination = m == 0   ? std::vector<std::string>{k_addresses[0]}
                    : m == 1 ? std::vector<std::string>{k_addresses[0], k_addresses[1]}
                             : k_addresses;
    s.type = static_cast<EventType>(*rc::gen::inRange(0, core::k_event_type_count));
    s.affected = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(
        *rc::gen::inRange<std::size_t>(1, s.destination.size() + 1), rc::gen::elementOf(s.destination)));
    s.mail_timestamp = 1'700'000'000'000;
    // Few distinct times so equal timestamps (the tie-breaks) are common.
    s.timestamp = s.mail_timestamp + 1000 * *rc::gen::inRange(0, 4);
    s.bounce_type = *rc::gen::element<std::string>("Permanent", "Transient", "Undetermined");
    s.bounce_subtype = *rc::gen::element<std::string>("General", "MailboxFull", "OnAccountSuppressionList");
    s.variant = *rc::gen::inRange(0, 3);
    s.notification_format =
        *rc::gen::inRange(0, 8) == 0 &&
        (s.type == EventType::bounce || s.type == EventType::complaint || s.type == EventType::delivery);
    return s;
}

RC_GTEST_PROP(OrderIndependence, ShuffledWithDuplicatesEqualsSortedDeduplicated, ()) {
    const auto count = *rc::gen::inRange(1, 40);
    std::vector<std::string> docs;
    for (int i = 0; i < count; ++i) {
        const std::string ses = testing::ses_json(random_spec());
        docs.push_back(*rc::gen::arbitrary<bool>() ? testing::sns_wrap(ses, "sns-" + std::to_string(i)) : ses);
    }
    auto events = test::parse_all(docs);
    RC_ASSERT(events.size() == docs.size());

    // Reference: each identity once, sorted by identity, one batch.
    std::map<core::EventId, core::SesEvent> unique;
    for (const auto& e : events) unique.emplace(e.id, e);
    std::vector<core::SesEvent> canonical;
    for (auto& [id, e] : unique) canonical.push_back(e);
    auto reference = test::memory_store();
    RC_ASSERT(reference->apply(canonical).has_value());

    // Trial: duplicates (re-deliveries, some through the other envelope), shuffled, random batches.
    std::vector<core::SesEvent> noisy = events;
    const auto dups = *rc::gen::inRange(0, count + 1);
    for (int i = 0; i < dups; ++i) noisy.push_back(events[static_cast<std::size_t>(*rc::gen::inRange(0, count))]);
    std::mt19937 rng(*rc::gen::arbitrary<std::uint32_t>());
    std::shuffle(noisy.begin(), noisy.end(), rng);
    auto trial = test::memory_store();
    std::int64_t applied = 0;
    std::int64_t duplicates = 0;
    for (std::size_t i = 0; i < noisy.size();) {
        const auto n = std::min<std::size_t>(noisy.size() - i, static_cast<std::size_t>(*rc::gen::inRange(1, 8)));
        auto r = trial->apply(std::span(noisy).subspan(i, n));
        RC_ASSERT(r.has_value());
        applied += r->applied + r->unknown;
        duplicates += r->duplicates;
        i += n;
    }
    RC_ASSERT(applied == static_cast<std::int64_t>(unique.size()));
    RC_ASSERT(duplicates == static_cast<std::int64_t>(noisy.size() - unique.size()));

    const auto want = test::snapshot(*reference, k_messages, {"a@x.io", "B@x.io", "c@y.org"});
    const auto got = test::snapshot(*trial, k_messages, {"a@x.io", "B@x.io", "c@y.org"});
    RC_ASSERT(got.messages == want.messages);
    RC_ASSERT(got.recipients == want.recipients);
    RC_ASSERT(got.suppressions == want.suppressions);
    RC_ASSERT(got.soft_bounces == want.soft_bounces);
}

}  // namespace
}  // namespace mailtrack::store
