#include "mailtrack/worker/worker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "event_factory.hpp"
#include "memory_queue.hpp"
#include "store/store_test_support.hpp"

namespace mailtrack::worker {
namespace {

using namespace std::chrono_literals;
using store::test::memory_store;
using store::test::parse_all;
using store::test::Reference;
using store::test::reference_of;
using store::test::snapshot;
using store::test::Snapshot;
using test::MemoryQueue;

constexpr util::UnixMillis k_start = 1'795'000'000'000 + 3'600'000;
const std::string k_queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/ses-events";
const std::string k_queue2 = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-events";
const std::string k_dlq = "https://sqs.eu-west-1.amazonaws.com/123456789012/ses-events-dlq";

// Waits (in real time, briefly per step) until `done` holds; false after ~20 s.
template <typename F>
bool eventually(F done, std::chrono::milliseconds within = std::chrono::seconds(20)) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(1ms);
    }
    return done();
}

// Moves a ManualClock forward by `step` every real millisecond while it lives.
class TimeDriver {
public:
    TimeDriver(util::ManualClock& clock, std::chrono::milliseconds step)
        : m_thread([this, &clock, step] {
              while (!m_stop.load()) {
                  clock.advance(step);
                  std::this_thread::sleep_for(1ms);
              }
          }) {}
    ~TimeDriver() {
        m_stop = true;
        m_thread.join();
    }

private:
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

// A real SqliteStore with an outage switch and a gate that holds apply() until opened.
class TestStore final : public store::test::ForwardingStore {
public:
    using ForwardingStore::ForwardingStore;

    std::atomic<bool> unavailable{false};
    std::atomic<int> applies{0};
    std::atomic<int> attempts{0};
    std::atomic<int> unavailable_after{-1};  // go unavailable after this many successful applies
    std::atomic<int> blocked{0};             // apply() calls currently held at the gate

    void close_gate() {
        std::lock_guard lock(m_mutex);
        m_gate_open = false;
    }
    void open_gate() {
        std::lock_guard lock(m_mutex);
        m_gate_open = true;
        m_cv.notify_all();
    }

    util::Result<store::ApplyResult> apply(std::span<const core::SesEvent> events) override {
        ++attempts;
        {
            std::unique_lock lock(m_mutex);
            ++blocked;
            m_cv.wait(lock, [&] { return m_gate_open; });
            --blocked;
        }
        if (unavailable_after.load() >= 0 && applies.load() >= unavailable_after.load()) unavailable = true;
        if (unavailable.load()) return util::fail(util::ErrorKind::storage_unavailable, "database is locked (test)");
        auto r = ForwardingStore::apply(events);
        if (r) ++applies;
        return r;
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_gate_open = true;
};

std::int64_t stored_events(store::Store& s) {
    auto info = s.info();
    EXPECT_TRUE(info.has_value());
    return info ? info->events : -1;
}

struct Harness {
    util::ManualClock clock{k_start};
    MemoryQueue queue{clock, 42};
    util::SlicedSleeper sleeper{2ms};
    MetricsRegistry metrics;
    std::unique_ptr<store::SqliteStore> sqlite = memory_store();
    TestStore store{*sqlite};
    WorkerOptions options;

    Harness() {
        queue.create_queue(k_queue);
        queue.create_queue(k_dlq);
        options.queue_urls = {k_queue};
        options.concurrency = 3;
        options.batch_max = 64;
        options.linger = 0ms;
        options.wait_time = 1s;
        options.visibility_timeout = 30s;
        options.max_in_flight = 400;
        options.stop_timeout = 600s;
    }
    std::unique_ptr<Worker> make_worker(store::Store* s = nullptr) {
        return std::make_unique<Worker>(options, queue, s != nullptr ? *s : store, clock, sleeper, metrics);
    }
    void publish_all(const std::vector<std::string>& docs, const std::string& url) {
        for (const auto& d : docs) queue.publish(url, d);
    }
    std::int64_t metric(std::string_view name) const { return metrics.snapshot().total(name); }
};

// Opens the store's gate when a test leaves early, so the worker's destructor can join.
struct GateGuard {
    TestStore& store;
    ~GateGuard() { store.open_gate(); }
};

void stop_gracefully(Worker& w) {
    w.request_stop(StopMode::graceful);
    w.wait();
}

TEST(Worker, AppliesEveryEventOnceDeletesItAndCollapsesDuplicates) {
    Harness h;
    h.queue.create_queue(k_queue2);
    h.options.queue_urls = {k_queue, k_queue2};
    const auto docs = testing::realistic_stream(60, 1, true);
    const Reference ref = reference_of(docs);
    // Every event twice (a duplicate SES/SNS publish), spread over two queues.
    h.publish_all(docs, k_queue);
    h.publish_all(docs, k_queue2);
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0 && h.queue.size(k_queue2) == 0; }));
    stop_gracefully(*w);

    EXPECT_EQ(stored_events(*h.sqlite), ref.unique_events);
    EXPECT_EQ(snapshot(*h.sqlite, ref.message_ids, ref.addresses), ref.state);
    const auto m = h.metrics.snapshot();
    EXPECT_EQ(m.total(metric::k_messages_received), static_cast<std::int64_t>(2 * docs.size()));
    EXPECT_EQ(m.total(metric::k_events_applied) + m.total(metric::k_events_unknown), ref.unique_events);
    EXPECT_EQ(m.total(metric::k_duplicates), static_cast<std::int64_t>(2 * docs.size()) - ref.unique_events);
    EXPECT_EQ(m.total(metric::k_deleted), static_cast<std::int64_t>(2 * docs.size()));
    EXPECT_EQ(m.total(metric::k_in_flight), 0);
    EXPECT_GT(m.value(metric::k_queue_calls, {{"operation", "receive"}, {"outcome", "ok"}}), 0);
    EXPECT_GT(m.value(metric::k_queue_calls, {{"operation", "delete_batch"}, {"outcome", "ok"}}), 0);
    // Deletes go in batches: at most one call per message, usually far fewer.
    EXPECT_LE(h.queue.calls("delete_batch"), static_cast<std::int64_t>(2 * docs.size()));
    EXPECT_EQ(m.total(metric::k_events), static_cast<std::int64_t>(2 * docs.size()));
    EXPECT_EQ(m.histogram(metric::k_batch_size).count, m.histogram(metric::k_apply_seconds).count);
    EXPECT_EQ(m.histogram(metric::k_event_age_seconds).count, static_cast<std::int64_t>(2 * docs.size()));
}

TEST(Worker, RedeliveryAfterVisibilityExpiryIsAppliedOnce) {
    Harness h;
    const auto docs = testing::realistic_stream(30, 2, true);
    const Reference ref = reference_of(docs);
    h.publish_all(docs, k_queue);
    h.options.heartbeat = false;
    // Every delete is refused: each message is applied, reappears, and is applied again.
    h.queue.refuse_deletes(true);
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.metric(metric::k_events) >= static_cast<std::int64_t>(docs.size()); }));
    ASSERT_TRUE(eventually([&] { return w->in_flight() == 0; }));
    h.queue.refuse_deletes(false);
    h.clock.advance(31s);  // all visibility timeouts lapse
    ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
    stop_gracefully(*w);

    EXPECT_EQ(stored_events(*h.sqlite), ref.unique_events);
    EXPECT_EQ(snapshot(*h.sqlite, ref.message_ids, ref.addresses), ref.state);
    EXPECT_GE(h.metric(metric::k_duplicates), static_cast<std::int64_t>(docs.size()));
    EXPECT_GE(h.metric(metric::k_delete_failures), static_cast<std::int64_t>(docs.size()));
}

TEST(Worker, CrashAndRestartLosesNothingAndDoublesNothing) {
    const auto docs = testing::realistic_stream(150, 3, true);
    const Reference ref = reference_of(docs);
    for (const int crash_after : {0, 1, 3, 8}) {
        SCOPED_TRACE("crash after " + std::to_string(crash_after) + " commits");
        const auto path =
            std::filesystem::temp_directory_path() /
            ("mailtrack-worker-crash-" + std::to_string(::getpid()) + "-" + std::to_string(crash_after) + ".db");
        std::filesystem::remove(path);
        Harness h;
        h.options.batch_max = 16;  // enough transactions that every crash point is reached
        h.publish_all(docs, k_queue);
        h.publish_all({docs[0], docs[5], docs[9]}, k_queue);  // some duplicates too
        {
            auto first = store::SqliteStore::open({path.string(), 1000, 1});
            ASSERT_TRUE(first);
            TestStore dying(**first);
            dying.unavailable_after = crash_after;
            // Some deletions fail too, so that committed-but-undeleted messages exist at the crash.
            h.queue.fail_delete_entries(15);
            auto w = h.make_worker(&dying);
            ASSERT_TRUE(w->start());
            ASSERT_TRUE(eventually([&] { return dying.attempts.load() > crash_after; }));
            std::this_thread::sleep_for(5ms);
            w.reset();  // the crash: no graceful stop, nothing more deleted
        }
        h.clock.advance(31s);  // whatever was in flight reappears
        auto second = store::SqliteStore::open({path.string(), 1000, 1});
        ASSERT_TRUE(second);
        {
            auto w = h.make_worker(second->get());
            ASSERT_TRUE(w->start());
            TimeDriver time(h.clock, 20ms);
            ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
            stop_gracefully(*w);
        }
        EXPECT_EQ(stored_events(**second), ref.unique_events);
        EXPECT_EQ(snapshot(**second, ref.message_ids, ref.addresses), ref.state);
        second->reset();
        std::filesystem::remove(path);
        std::filesystem::remove(path.string() + "-wal");
        std::filesystem::remove(path.string() + "-shm");
    }
}

TEST(Worker, StoreOutageBacksOffKeepsMessagesAndRecoversWithoutRestart) {
    Harness h;
    h.options.store_backoff_initial = 100ms;
    h.options.store_backoff_max = 2s;
    const auto docs = testing::realistic_stream(80, 4, true);
    const Reference ref = reference_of(docs);
    h.publish_all(docs, k_queue);
    h.store.unavailable_after = 2;
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.store.unavailable.load() && w->in_flight() > 0; }));
    {
        // Ten minutes of outage (by the injected clock) in 500 ms steps.
        for (int i = 0; i < 1200; ++i) {
            h.clock.advance(500ms);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    const int attempts_during_outage = h.store.attempts.load();
    // Exponential backoff capped at 2 s: about 300 retries in 600 s, not one per step or tick.
    EXPECT_LE(attempts_during_outage, 320);
    EXPECT_EQ(h.queue.size(k_queue), docs.size() - static_cast<std::size_t>(h.metric(metric::k_deleted)));
    // The in-flight messages were kept invisible by the heartbeat, not redelivered.
    EXPECT_GT(h.queue.visibility_changes(), 0);
    h.store.unavailable_after = -1;
    h.store.unavailable = false;
    {
        TimeDriver time(h.clock, 100ms);
        ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
    }
    stop_gracefully(*w);
    EXPECT_EQ(stored_events(*h.sqlite), ref.unique_events);
    EXPECT_EQ(snapshot(*h.sqlite, ref.message_ids, ref.addresses), ref.state);
    EXPECT_GT(h.metrics.snapshot().value(metric::k_store_failures, {{"kind", "storage_unavailable"}}), 0);
}

TEST(Worker, PoisonMessagesGoToTheDeadLetterQueueAfterTheReceiveLimitWithoutBlockingOthers) {
    Harness h;
    h.options.dlq_url = k_dlq;
    h.options.max_receive_count = 3;
    h.options.heartbeat = false;
    const auto docs = testing::realistic_stream(40, 5, true);
    const Reference ref = reference_of(docs);
    const std::vector<std::string> poison = {
        "not json at all",
        R"({"Type":"SubscriptionConfirmation","MessageId":"1","Token":"t","Message":"You have chosen to subscribe"})",
        R"({"eventType":"Send","mail":{"messageId":42}})",
    };
    for (std::size_t i = 0; i < docs.size(); ++i) {
        h.queue.publish(k_queue, docs[i]);
        if (i % 13 == 0) h.queue.publish(k_queue, poison[(i / 13) % poison.size()]);
    }
    const std::size_t poison_count = (docs.size() + 12) / 13;
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    {
        TimeDriver time(h.clock, 1s);  // poison reappears after each 30 s visibility timeout
        ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
    }
    stop_gracefully(*w);

    EXPECT_EQ(snapshot(*h.sqlite, ref.message_ids, ref.addresses), ref.state);
    const auto dead = h.queue.messages(k_dlq);
    ASSERT_EQ(dead.size(), poison_count);
    for (const auto& d : dead) {
        std::map<std::string, std::string> attrs;
        for (const auto& a : d.attributes) attrs[a.name] = a.value;
        EXPECT_FALSE(attrs["mailtrack.reject_reason"].empty());
        EXPECT_EQ(attrs["mailtrack.source_queue"], k_queue);
        EXPECT_EQ(attrs["mailtrack.receive_count"], "3");
        if (d.body == poison[1]) {
            EXPECT_NE(attrs["mailtrack.reject_reason"].find("unsupported"), std::string::npos);
        }
    }
    const auto m = h.metrics.snapshot();
    EXPECT_EQ(m.total(metric::k_dead_lettered), static_cast<std::int64_t>(poison_count));
    EXPECT_EQ(m.total(metric::k_rejected), static_cast<std::int64_t>(3 * poison_count));
    EXPECT_GT(m.value(metric::k_rejected, {{"reason", "invalid_input"}}), 0);
    EXPECT_GT(m.value(metric::k_rejected, {{"reason", "unsupported"}}), 0);
}

TEST(Worker, WithoutADeadLetterQueuePoisonIsLeftForTheRedrivePolicy) {
    Harness h;
    const auto docs = testing::realistic_stream(10, 6, true);
    h.publish_all(docs, k_queue);
    h.queue.publish(k_queue, "{\"truncated\":");
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 1 && w->in_flight() == 0; }));
    stop_gracefully(*w);
    const auto left = h.queue.messages(k_queue);
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].body, "{\"truncated\":");
    EXPECT_EQ(left[0].receive_count, 1);
    EXPECT_EQ(h.queue.size(k_dlq), 0u);
}

TEST(Worker, GracefulStopCommitsAndDeletesInFlightWork) {
    Harness h;
    h.options.max_in_flight = 60;
    const auto docs = testing::realistic_stream(100, 7, true);
    h.publish_all(docs, k_queue);
    h.store.close_gate();
    auto w = h.make_worker();
    GateGuard guard{h.store};
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.store.blocked.load() == 1 && w->in_flight() >= 50; }));
    w->request_stop(StopMode::graceful);
    std::this_thread::sleep_for(20ms);
    h.store.open_gate();
    w->wait();

    // Everything received was committed and deleted; the rest was never touched.
    EXPECT_EQ(h.queue.in_flight(k_queue), 0u);
    for (const auto& m : h.queue.messages(k_queue)) EXPECT_EQ(m.receive_count, 0);
    const auto received = h.metric(metric::k_messages_received);
    EXPECT_EQ(h.metric(metric::k_deleted), received);
    EXPECT_EQ(h.metric(metric::k_events), received);
    EXPECT_EQ(h.queue.size(k_queue), docs.size() - static_cast<std::size_t>(received));
}

TEST(Worker, PollersDeleteCommittedMessagesBeforeTheirNextReceive) {
    Harness h;
    // The clock stands still, so an acknowledger never gets to delete before the stop: every
    // deletion below is a poller's.
    h.options.ack_delay = 1h;
    const auto docs = testing::realistic_stream(120, 11, true);
    h.publish_all(docs, k_queue);
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0 && w->in_flight() == 0; }));
    EXPECT_EQ(h.metric(metric::k_deleted), static_cast<std::int64_t>(docs.size()));
    // One delete per receive at most (each poller deletes up to ten before each receive).
    EXPECT_LE(h.queue.calls("delete_batch"), h.queue.calls("receive"));
    stop_gracefully(*w);
}

TEST(Worker, AnAcknowledgerDeletesWhatPollersLeaveOnceTheAckDelayHasPassed) {
    Harness h;
    // Long polls that really wait (up to 10 s): once the queue is empty the pollers sit in
    // them, as on a quiet queue, and cannot delete.
    MemoryQueue queue{h.clock, 7, 10s};
    queue.create_queue(k_queue);
    h.options.concurrency = 2;
    h.options.wait_time = 20s;
    h.options.ack_delay = 5s;
    const auto docs = testing::realistic_stream(15, 12, true);
    for (const auto& d : docs) queue.publish(k_queue, d);
    h.store.close_gate();
    Worker w(h.options, queue, h.store, h.clock, h.sleeper, h.metrics);
    GateGuard guard{h.store};
    ASSERT_TRUE(w.start());
    // Everything received and held at the store's gate; the pollers are in long polls.
    ASSERT_TRUE(eventually([&] { return h.store.blocked.load() == 1 && w.in_flight() == docs.size(); }));
    std::this_thread::sleep_for(50ms);
    h.store.open_gate();
    ASSERT_TRUE(eventually([&] { return h.metric(metric::k_events) == static_cast<std::int64_t>(docs.size()); }));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(h.metric(metric::k_deleted), 0);  // committed, but the delay has not passed
    h.clock.advance(5s);
    // Well before the long polls end (10 s of real time).
    ASSERT_TRUE(eventually([&] { return queue.size(k_queue) == 0; }, 3s));
    EXPECT_EQ(h.metric(metric::k_deleted), static_cast<std::int64_t>(docs.size()));
    w.request_stop(StopMode::graceful);
    w.wait();
}

TEST(Worker, PollersStopAtTheInFlightBoundWhenTheStoreFallsBehind) {
    Harness h;
    h.options.max_in_flight = 50;
    h.options.concurrency = 4;
    const auto docs = testing::realistic_stream(200, 8, true);
    h.publish_all(docs, k_queue);
    h.store.close_gate();
    auto w = h.make_worker();
    GateGuard guard{h.store};
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.metric(metric::k_backpressure_waits) > 0; }));
    std::this_thread::sleep_for(50ms);
    EXPECT_LE(h.queue.in_flight(k_queue), 50u);
    EXPECT_LE(h.queue.max_in_flight_seen(k_queue), 50u);
    EXPECT_LE(w->in_flight(), 50u);
    h.store.open_gate();
    ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
    stop_gracefully(*w);
    EXPECT_LE(h.queue.max_in_flight_seen(k_queue), 50u);
    EXPECT_EQ(h.metric(metric::k_deleted), static_cast<std::int64_t>(docs.size()));
}

TEST(Worker, HeartbeatKeepsASlowBatchInvisible) {
    Harness h;
    const auto docs = testing::realistic_stream(3, 9, true);
    h.publish_all(docs, k_queue);
    h.store.close_gate();
    auto w = h.make_worker();
    GateGuard guard{h.store};
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return h.store.blocked.load() == 1 && h.queue.visible(k_queue) == 0; }));
    const auto n = static_cast<std::int64_t>(docs.size());
    h.clock.advance(16s);  // past half the 30 s timeout
    ASSERT_TRUE(eventually([&] { return h.queue.visibility_changes() >= n; }));
    h.clock.advance(20s);  // 36 s after receipt: without the heartbeat they would be visible again
    EXPECT_EQ(h.queue.visible(k_queue), 0u);
    ASSERT_TRUE(eventually([&] { return h.queue.visibility_changes() >= 2 * n; }));
    h.clock.advance(20s);  // and it keeps going
    EXPECT_EQ(h.queue.visible(k_queue), 0u);
    ASSERT_TRUE(eventually([&] { return h.queue.visibility_changes() >= 3 * n; }));
    EXPECT_EQ(h.queue.visible(k_queue), 0u);
    h.store.open_gate();
    ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
    stop_gracefully(*w);
    EXPECT_EQ(h.metric(metric::k_messages_received), static_cast<std::int64_t>(docs.size()));  // never redelivered
    EXPECT_GE(h.metric(metric::k_visibility_extended), 3 * n);
}

TEST(Worker, RetriesFailedDeleteEntriesAndCallsAndSurvivesReceiveErrors) {
    Harness h;
    const auto docs = testing::realistic_stream(40, 10, true);
    h.publish_all(docs, k_queue);
    h.queue.fail_receives(5, QueueError{QueueErrorKind::throttled, true, 400, "ThrottlingException", "r", "slow down"});
    h.queue.fail_delete_calls(2, QueueError{QueueErrorKind::connection, true, 0, "", "", "connection reset"});
    h.queue.fail_delete_entries(12);
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    {
        TimeDriver time(h.clock, 50ms);
        ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
    }
    stop_gracefully(*w);
    const auto m = h.metrics.snapshot();
    EXPECT_EQ(m.total(metric::k_deleted), static_cast<std::int64_t>(docs.size()));
    EXPECT_EQ(m.total(metric::k_messages_received),
              static_cast<std::int64_t>(docs.size()));  // retried, not redelivered
    EXPECT_EQ(m.value(metric::k_queue_calls, {{"operation", "receive"}, {"outcome", "error"}}), 5);
    EXPECT_EQ(m.value(metric::k_queue_calls, {{"operation", "delete_batch"}, {"outcome", "error"}}), 2);
}

TEST(Worker, GroupCommitsTheEventsOfManyPollsWithinTheLinger) {
    Harness h;
    h.options.linger = 500ms;
    h.options.batch_max = 64;
    h.options.concurrency = 4;
    const auto docs = testing::realistic_stream(10, 11, true);  // fewer than batch_max
    ASSERT_LT(docs.size(), 64u);
    h.publish_all(docs, k_queue);
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    ASSERT_TRUE(eventually([&] { return w->in_flight() == docs.size(); }));
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(h.store.attempts.load(), 0);   // the clock has not moved: still lingering
    EXPECT_GT(h.queue.calls("receive"), 1);  // the messages came from several polls
    h.clock.advance(500ms);
    ASSERT_TRUE(eventually([&] { return h.queue.size(k_queue) == 0; }));
    stop_gracefully(*w);
    EXPECT_EQ(h.store.attempts.load(), 1);  // one transaction for all of them
    const auto batches = h.metrics.snapshot().histogram(metric::k_batch_size);
    EXPECT_EQ(batches.count, 1);
    EXPECT_EQ(batches.sum, static_cast<double>(docs.size()));
}

// Operators tell the worker's threads apart in `top -H` and `ps -L` by their names.
TEST(Worker, NamesItsThreadsByRole) {
    Harness h;
    h.options.concurrency = 4;
    auto w = h.make_worker();
    ASSERT_TRUE(w->start());
    const auto roles = [] {
        std::map<std::string, int> found;
        for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
            std::ifstream comm(task.path() / "comm");
            std::string name;
            std::getline(comm, name);
            if (name.rfind("mt-", 0) == 0) ++found[name.substr(0, name.find('-', 3))];
        }
        return found;
    };
    // Each thread names itself as it starts.
    eventually([&] { return roles().size() == 3 && roles()["mt-poll"] == 4; });
    auto found = roles();
    stop_gracefully(*w);
    EXPECT_EQ(found["mt-commit"], 1);
    EXPECT_EQ(found["mt-ack"], 1);  // one per four polls
    EXPECT_EQ(found["mt-poll"], 4);
}

TEST(Worker, ValidatesItsOptions) {
    WorkerOptions o;
    EXPECT_FALSE(validate(o));  // no queue
    o.queue_urls = {k_queue};
    EXPECT_TRUE(validate(o));
    o.concurrency = 17;
    auto r = validate(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, util::ErrorKind::config);
    EXPECT_NE(r.error().message.find("worker.concurrency"), std::string::npos);
}

}  // namespace
}  // namespace mailtrack::worker
