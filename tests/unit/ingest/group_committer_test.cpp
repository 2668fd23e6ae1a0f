#include "mailtrack/ingest/group_committer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/store/sqlite_store.hpp"

#include "event_factory.hpp"
#include "store/store_test_support.hpp"

namespace mailtrack::ingest {
namespace {

using namespace std::chrono_literals;

constexpr util::UnixMillis k_start = 1'795'000'000'000;

// A real SqliteStore that can be unavailable for a number of transactions, or refuse any
// transaction holding a given SES message id (an event the database will not take).
class TestStore final : public store::test::ForwardingStore {
public:
    using ForwardingStore::ForwardingStore;
    std::atomic<int> outages{0};  // the next this many transactions fail as an outage
    std::string poison_message_id;
    std::atomic<int> attempts{0};

    util::Result<store::ApplyResult> apply(std::span<const core::SesEvent> events) override {
        ++attempts;
        if (outages.load() > 0) {
            --outages;
            return util::fail(util::ErrorKind::storage_unavailable, "database is locked (test)");
        }
        for (const auto& e : events) {
            if (!poison_message_id.empty() && e.mail.message_id == poison_message_id) {
                return util::fail(util::ErrorKind::storage, "CHECK constraint failed (test)");
            }
        }
        return ForwardingStore::apply(events);
    }
};

// Records what the committer reports, as a producer would.
class Recorder final : public CommitListener {
public:
    void committed(std::span<const std::uint64_t> tickets, std::span<const core::SesEvent> events,
                   const store::ApplyResult& result, std::chrono::duration<double>) override {
        std::lock_guard lock(mutex);
        EXPECT_EQ(tickets.size(), events.size());
        batches.push_back(tickets.size());
        for (auto t : tickets) ++committed_count[t];
        order.insert(order.end(), tickets.begin(), tickets.end());
        applied += result.applied + result.unknown;
        duplicates += result.duplicates;
    }
    void rejected(std::uint64_t ticket, const util::Error& error) override {
        std::lock_guard lock(mutex);
        rejections.emplace_back(ticket, error.describe());
    }
    void failed(const util::Error&, std::size_t, std::chrono::milliseconds backoff) override {
        std::lock_guard lock(mutex);
        backoffs.push_back(backoff);
    }

    std::mutex mutex;
    std::vector<std::size_t> batches;
    std::map<std::uint64_t, int> committed_count;
    std::vector<std::uint64_t> order;
    std::int64_t applied = 0;
    std::int64_t duplicates = 0;
    std::vector<std::pair<std::uint64_t, std::string>> rejections;
    std::vector<std::chrono::milliseconds> backoffs;
};

std::vector<core::SesEvent> events_of(std::size_t emails, std::uint32_t seed) {
    ses::EventParser parser(1 << 20);
    std::vector<core::SesEvent> out;
    for (const auto& doc : testing::realistic_stream(emails, seed)) {
        auto e = parser.parse(doc);
        EXPECT_TRUE(e.has_value());
        if (e) out.push_back(std::move(*e));
    }
    return out;
}

// Submits every event, ticket = its index; returns how many.
std::size_t submit_all(GroupCommitter& committer, std::vector<core::SesEvent>& events) {
    std::vector<Submitted> items;
    for (std::size_t i = 0; i < events.size(); ++i) items.push_back({i, std::move(events[i])});
    committer.submit(items);
    return events.size();
}

struct Harness {
    util::ManualClock clock{k_start};
    util::SlicedSleeper sleeper{1ms};
    std::unique_ptr<store::SqliteStore> sqlite = store::test::memory_store();
    TestStore store{*sqlite};
    Recorder recorder;

    std::int64_t stored() {
        auto info = sqlite->info();
        EXPECT_TRUE(info.has_value());
        return info ? info->events : -1;
    }
};

TEST(GroupCommitter, ConcurrentProducersShareTransactionsAndEveryTicketIsCommittedOnce) {
    Harness h;
    GroupCommitter committer(h.store, CommitOptions{64, 5ms, 1ms, 10ms}, h.clock, h.sleeper, h.recorder);
    std::thread runner([&] { committer.run(); });
    constexpr std::size_t k_producers = 4;
    std::vector<std::vector<core::SesEvent>> streams;
    for (std::size_t p = 0; p < k_producers; ++p) streams.push_back(events_of(60, 100 + static_cast<std::uint32_t>(p)));
    std::atomic<std::uint64_t> submitted{0};
    {
        std::vector<std::thread> producers;
        for (std::size_t p = 0; p < k_producers; ++p) {
            producers.emplace_back([&, p] {
                std::vector<Submitted> items;
                for (std::size_t i = 0; i < streams[p].size(); ++i) {
                    // Tickets: producer in the high bits, so each names one event.
                    items.push_back(Submitted{(std::uint64_t{p} << 32) | i, std::move(streams[p][i])});
                    if (items.size() == 3 || i + 1 == streams[p].size()) {
                        submitted += items.size();
                        committer.submit(items);
                        EXPECT_TRUE(items.empty());
                    }
                }
            });
        }
        for (auto& t : producers) t.join();
    }
    std::thread time([&] {
        // The linger is measured on the ManualClock: move it on until the runner is done.
        while (committer.pending() > 0) {
            h.clock.advance(1ms);
            std::this_thread::sleep_for(1ms);
        }
    });
    committer.close();
    runner.join();
    time.join();

    EXPECT_EQ(h.recorder.committed_count.size(), submitted.load());
    for (const auto& [ticket, times] : h.recorder.committed_count) EXPECT_EQ(times, 1) << ticket;
    EXPECT_EQ(h.stored(), static_cast<std::int64_t>(submitted.load()));
    EXPECT_EQ(h.recorder.applied + h.recorder.duplicates, static_cast<std::int64_t>(submitted.load()));
    EXPECT_LT(h.recorder.batches.size(), submitted.load());  // grouped: fewer transactions than events
    for (auto b : h.recorder.batches) EXPECT_LE(b, 64u);
    EXPECT_TRUE(h.recorder.rejections.empty());
    // Each producer's events committed in the order it submitted them.
    std::map<std::uint64_t, std::uint64_t> last_of_producer;
    for (auto t : h.recorder.order) {
        const auto p = t >> 32;
        if (last_of_producer.count(p) > 0) {
            EXPECT_LT(last_of_producer[p], t);
        }
        last_of_producer[p] = t;
    }
    // What the committer is done with is handed back for reuse, at most one batch of it.
    std::vector<core::SesEvent> spares;
    committer.take_spares(spares, 1000);
    EXPECT_GT(spares.size(), 0u);
    EXPECT_LE(spares.size(), 64u);
}

TEST(GroupCommitter, AnOutageKeepsTheBatchInOrderAndBacksOffExponentially) {
    Harness h;
    h.store.outages = 4;
    GroupCommitter committer(h.store, CommitOptions{100, 0ms, 10ms, 40ms}, h.clock, h.sleeper, h.recorder);
    auto events = events_of(10, 7);
    const std::size_t n = submit_all(committer, events);
    committer.close();
    std::atomic<bool> done{false};
    std::thread time([&] {
        while (!done) {
            h.clock.advance(1ms);
            std::this_thread::sleep_for(100us);
        }
    });
    committer.run();
    done = true;
    time.join();

    EXPECT_EQ(h.recorder.backoffs, (std::vector<std::chrono::milliseconds>{10ms, 20ms, 40ms, 40ms}));
    ASSERT_EQ(h.recorder.batches.size(), 1u);
    ASSERT_EQ(h.recorder.order.size(), n);
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(h.recorder.order[i], i);
    EXPECT_EQ(h.stored(), static_cast<std::int64_t>(n));
    EXPECT_EQ(h.store.attempts.load(), 5);
}

TEST(GroupCommitter, AnEventTheStoreRefusesIsRejectedAloneAndTheOthersCommit) {
    Harness h;
    auto events = events_of(12, 9);
    h.store.poison_message_id = events[5].mail.message_id;
    std::size_t poisoned = 0;
    for (const auto& e : events) poisoned += e.mail.message_id == h.store.poison_message_id ? 1u : 0u;
    GroupCommitter committer(h.store, CommitOptions{500, 0ms, 1ms, 1ms}, h.clock, h.sleeper, h.recorder);
    const std::size_t n = submit_all(committer, events);
    committer.close();
    committer.run();

    ASSERT_EQ(h.recorder.rejections.size(), poisoned);
    EXPECT_NE(h.recorder.rejections[0].second.find("CHECK constraint failed"), std::string::npos);
    EXPECT_EQ(h.recorder.committed_count.size(), n - poisoned);
    for (const auto& [ticket, why] : h.recorder.rejections) EXPECT_EQ(h.recorder.committed_count.count(ticket), 0u);
    EXPECT_EQ(h.stored(), static_cast<std::int64_t>(n - poisoned));
    ASSERT_FALSE(h.recorder.backoffs.empty());
    EXPECT_EQ(h.recorder.backoffs[0], 0ms);  // not an outage: isolated at once, no backoff
}

TEST(GroupCommitter, AbortAndAStopDeadlineEndRunWithWhatIsUncommittedLeftPending) {
    for (const bool use_abort : {true, false}) {
        Harness h;
        h.store.outages = 1'000'000;
        GroupCommitter committer(h.store, CommitOptions{100, 0ms, 5ms, 5ms}, h.clock, h.sleeper, h.recorder);
        auto events = events_of(3, 3);
        const std::size_t n = submit_all(committer, events);
        std::thread runner([&] { committer.run(); });
        while (h.store.attempts.load() < 2) {
            h.clock.advance(1ms);
            std::this_thread::sleep_for(1ms);
        }
        if (use_abort) {
            committer.abort();
        } else {
            committer.stop_by(h.clock.now_millis() + 50);
            for (int i = 0; i < 60; ++i) h.clock.advance(1ms);
        }
        runner.join();
        EXPECT_EQ(committer.pending(), n) << (use_abort ? "abort" : "deadline");
        EXPECT_TRUE(h.recorder.committed_count.empty());
        EXPECT_EQ(h.stored(), 0);
    }
}

}  // namespace
}  // namespace mailtrack::ingest
