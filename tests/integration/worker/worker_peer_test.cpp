// The worker against the SQS/SNS emulators started by tests/support/peers.py: SNS publish ->
// SQS -> SqsQueueClient -> Worker -> SqliteStore, duplicates, redelivery, poison and the
// dead-letter queue. fauxqs runs everything; moto the basic path.

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "mailtrack/adapters/sqs_queue_client.hpp"
#include "mailtrack/aws/sns.hpp"
#include "mailtrack/aws/sqs.hpp"
#include "mailtrack/ops/dead_letters.hpp"
#include "mailtrack/ops/pipeline_setup.hpp"
#include "mailtrack/worker/worker.hpp"

#include "event_factory.hpp"
#include "peer_test_support.hpp"
#include "store/store_test_support.hpp"

namespace mailtrack {
namespace {

using namespace std::chrono_literals;

constexpr util::UnixMillis k_t0 = 1'795'000'000'000;

struct Stack {
    testing::PeerContext peer;
    aws::SqsClient sqs;
    aws::SnsClient sns;
    adapters::SqsQueueClient queue{sqs};

    explicit Stack(const std::string& url)
        : sqs(peer.context(), {url, "us-east-1", "sqs"}), sns(peer.context(), {url, "us-east-1", "sns"}) {}

    ops::Pipeline pipeline(bool raw, int max_receive_count = 5) {
        ops::PipelineSpec spec;
        spec.topic_name = testing::unique_name("mt-events");
        spec.queue_name = testing::unique_name("mt-events");
        spec.dlq_name = spec.queue_name + "-dlq";
        spec.raw_delivery = raw;
        spec.max_receive_count = max_receive_count;
        auto p = ops::set_up_pipeline(sqs, sns, spec);
        EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().describe());
        // Idempotent: a second run finds the same resources.
        auto again = ops::set_up_pipeline(sqs, sns, spec);
        EXPECT_TRUE(again.has_value()) << (again ? "" : again.error().describe());
        if (p && again) {
            EXPECT_EQ(again->queue_url, p->queue_url);
            EXPECT_EQ(again->topic_arn, p->topic_arn);
            EXPECT_EQ(again->dlq_url, p->dlq_url);
        }
        return p ? *p : ops::Pipeline{};
    }

    void publish(const std::string& topic_arn, const std::string& message) {
        auto r = sns.publish({topic_arn, message, "", "", {}, "", ""});
        ASSERT_TRUE(r.has_value()) << r.error().describe();
    }
    void send(const std::string& queue_url, const std::string& body) {
        aws::SendMessageRequest req;
        req.queue_url = queue_url;
        req.body = body;
        auto r = sqs.send_message(req);
        ASSERT_TRUE(r.has_value()) << r.error().describe();
    }
};

struct WorkerRun {
    util::SystemClock clock;
    util::RealSleeper sleeper;
    util::MetricsRegistry metrics;
    worker::WorkerOptions options;

    explicit WorkerRun(const ops::Pipeline& p) {
        options.queue_urls = {p.queue_url};
        options.concurrency = 4;
        options.batch_max = 200;
        options.linger = 5ms;
        options.wait_time = 1s;
        options.visibility_timeout = 30s;
        options.queue_backoff_initial = 50ms;
        options.queue_backoff_max = 500ms;
    }
    std::int64_t total(std::string_view name) const { return metrics.snapshot().total(name); }

    // Runs a worker until `done` holds (or 30 s pass), then stops it gracefully.
    template <typename Done>
    bool until(worker::QueueClient& queue, store::Store& store, Done done) {
        bool ok = false;
        {
            worker::Worker w(options, queue, store, clock, sleeper, metrics);
            auto started = w.start();
            EXPECT_TRUE(started.has_value()) << (started ? "" : started.error().describe());
            if (!started) return false;
            for (int i = 0; i < 3000 && !(ok = done()); ++i) std::this_thread::sleep_for(10ms);
            w.request_stop(worker::StopMode::graceful);
            w.wait();
        }  // ~Worker interrupts receives once more
        if (auto* sqs = dynamic_cast<adapters::SqsQueueClient*>(&queue)) sqs->resume_receives();
        return ok;
    }
};

std::vector<std::string> one_of_each_type() {
    std::vector<std::string> out;
    for (int t = 0; t < core::k_event_type_count; ++t) {
        const auto type = static_cast<core::EventType>(t);
        if (type == core::EventType::unknown) continue;
        testing::EventSpec spec;
        spec.type = type;
        spec.message_id = "010f0000-type-" + std::to_string(t);
        spec.destination = {"rcpt" + std::to_string(t) + "@example.com"};
        spec.affected = spec.destination;
        spec.mail_timestamp = k_t0;
        spec.timestamp = k_t0 + 1000 * (t + 1);
        out.push_back(testing::ses_json(spec));
    }
    return out;
}

std::int64_t stored_events(store::Store& s) {
    auto info = s.info();
    return info ? info->events : -1;
}

std::string queue_depth(aws::SqsClient& sqs, const std::string& url) {
    auto a = sqs.get_queue_attributes(url, {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"});
    if (!a) return "error: " + a.error().describe();
    return (*a)["ApproximateNumberOfMessages"] + "/" + (*a)["ApproximateNumberOfMessagesNotVisible"];
}

class WorkerPeer : public ::testing::TestWithParam<const char*> {
protected:
    Stack stack{testing::peer_url(GetParam())};
};

// Every event type, published twice to the topic, through the SNS envelope and raw: each is
// applied once, the store ends as a clean ingest of the events would leave it, the queue empties.
TEST_P(WorkerPeer, EveryEventTypeFromSnsEnvelopedAndRawIsAppliedOnce) {
    const auto docs = one_of_each_type();
    const store::test::Reference expected = store::test::reference_of(docs);
    for (const bool raw : {false, true}) {
        SCOPED_TRACE(raw ? "raw delivery" : "SNS envelope");
        const auto p = stack.pipeline(raw);
        for (const auto& d : docs) stack.publish(p.topic_arn, d);
        for (const auto& d : docs) stack.publish(p.topic_arn, d);  // SES publishing an event twice
        auto store = store::test::memory_store();
        WorkerRun run(p);
        const auto published = static_cast<std::int64_t>(2 * docs.size());
        EXPECT_TRUE(run.until(stack.queue, *store, [&] { return run.total(worker::metric::k_deleted) >= published; }))
            << run.metrics.prometheus_text();
        EXPECT_EQ(stored_events(*store), expected.unique_events);
        EXPECT_EQ(store::test::snapshot(*store, expected.message_ids, expected.addresses), expected.state);
        // Each event applied once; every other delivery a duplicate. At least the published
        // copies: a standard queue may deliver a message twice (moto occasionally hands one
        // message to two concurrent long polls), which is what identity is for.
        EXPECT_EQ(run.total(worker::metric::k_events_applied) + run.total(worker::metric::k_events_unknown),
                  expected.unique_events);
        EXPECT_GE(run.total(worker::metric::k_duplicates), published - expected.unique_events);
        EXPECT_EQ(run.total(worker::metric::k_rejected), 0);
        EXPECT_EQ(run.total(worker::metric::k_in_flight), 0);
        EXPECT_EQ(queue_depth(stack.sqs, p.queue_url), "0/0");
    }
}

// A message whose event was committed but not deleted (a worker died between the two) comes
// back after its visibility timeout and is recognised as a duplicate.
TEST_P(WorkerPeer, MessageReceivedTwiceAfterVisibilityExpiryIsAppliedOnce) {
    const auto p = stack.pipeline(false);
    const auto docs = testing::realistic_stream(5, 11, true);
    for (const auto& d : docs) stack.send(p.queue_url, d);
    auto store = store::test::memory_store();
    // The first consumer: receives everything with a 1 s visibility, applies it, never deletes.
    std::set<std::string> seen;
    for (int i = 0; i < 50 && seen.size() < docs.size(); ++i) {
        auto got = stack.queue.receive(p.queue_url, 10, 0s, 1s);
        ASSERT_TRUE(got.has_value()) << got.error().describe();
        std::vector<std::string> bodies;
        for (auto& m : *got) {
            if (seen.insert(m.message_id).second) bodies.push_back(m.body);
        }
        ASSERT_TRUE(store->apply(store::test::parse_all(bodies)));
    }
    ASSERT_EQ(seen.size(), docs.size());
    const store::test::Reference expected = store::test::reference_of(docs);
    ASSERT_EQ(stored_events(*store), expected.unique_events);
    std::this_thread::sleep_for(1100ms);  // visibility lapses

    WorkerRun run(p);
    const auto n = static_cast<std::int64_t>(docs.size());
    EXPECT_TRUE(run.until(stack.queue, *store, [&] { return run.total(worker::metric::k_deleted) >= n; }));
    EXPECT_GE(run.total(worker::metric::k_duplicates), n);  // at least once: under load one may come twice
    EXPECT_EQ(run.total(worker::metric::k_events_applied), 0);
    EXPECT_EQ(stored_events(*store), expected.unique_events);
    EXPECT_EQ(store::test::snapshot(*store, expected.message_ids, expected.addresses), expected.state);
}

INSTANTIATE_TEST_SUITE_P(Emulators, WorkerPeer,
                         ::testing::Values("MAILTRACK_TEST_FAUXQS_URL", "MAILTRACK_TEST_MOTO_URL"),
                         [](const auto& param_info) {
                             return std::string(param_info.param).find("FAUXQS") != std::string::npos ? "fauxqs"
                                                                                                      : "moto";
                         });

// Poison interleaved with good events: the good ones are applied, the poison ones end in the
// dead-letter queue with their reasons; `dlq inspect` shows the parse errors and leaves them;
// `dlq redrive` puts them back on the main queue.
TEST(WorkerFauxqs, PoisonGoesToTheDeadLetterQueueWithItsReasonAndCanBeRedriven) {
    Stack stack{testing::peer_url("MAILTRACK_TEST_FAUXQS_URL")};
    const auto p = stack.pipeline(false, 2);
    const auto good = testing::realistic_stream(10, 5, true);
    const std::vector<std::string> poison = {"not json at all",
                                             R"({"Type":"Notification","Message":"{\"eventType\":"})",
                                             R"({"eventType":"Bounce","mail":{}})", R"([1,2,3])"};
    std::size_t pi = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        stack.send(p.queue_url, good[i]);
        if (i % 5 == 2 && pi < poison.size()) stack.send(p.queue_url, poison[pi++]);
    }
    while (pi < poison.size()) stack.send(p.queue_url, poison[pi++]);

    auto store = store::test::memory_store();
    WorkerRun run(p);
    run.options.dlq_url = p.dlq_url;
    run.options.max_receive_count = 1;  // dead-letter on the first receive
    const auto n_poison = static_cast<std::int64_t>(poison.size());
    EXPECT_TRUE(run.until(stack.queue, *store, [&] {
        return run.total(worker::metric::k_deleted) >= static_cast<std::int64_t>(good.size()) + n_poison;
    }));
    const store::test::Reference expected = store::test::reference_of(good);
    EXPECT_EQ(stored_events(*store), expected.unique_events);
    EXPECT_EQ(store::test::snapshot(*store, expected.message_ids, expected.addresses), expected.state);
    EXPECT_EQ(run.total(worker::metric::k_dead_lettered), n_poison);
    EXPECT_EQ(run.total(worker::metric::k_rejected), n_poison);
    EXPECT_EQ(queue_depth(stack.sqs, p.queue_url), "0/0");

    auto letters = ops::inspect_dead_letters(stack.sqs, p.dlq_url, 100, 1 << 20);
    ASSERT_TRUE(letters.has_value()) << letters.error().describe();
    ASSERT_EQ(letters->size(), poison.size());
    std::set<std::string> bodies;
    for (const auto& d : *letters) {
        bodies.insert(d.body);
        EXPECT_FALSE(d.parse_error.empty()) << d.body;
        EXPECT_FALSE(d.reject_reason.empty()) << d.body;
        EXPECT_EQ(d.source_queue, p.queue_url);
        EXPECT_FALSE(d.source_message_id.empty());
    }
    EXPECT_EQ(bodies, std::set<std::string>(poison.begin(), poison.end()));
    // Inspect left them there, visible.
    EXPECT_EQ(queue_depth(stack.sqs, p.dlq_url), std::to_string(poison.size()) + "/0");

    auto moved = ops::redrive_dead_letters(stack.sqs, p.dlq_url, p.queue_url, 100);
    ASSERT_TRUE(moved.has_value()) << moved.error().describe();
    EXPECT_EQ(moved->moved, poison.size());
    EXPECT_EQ(queue_depth(stack.sqs, p.dlq_url), "0/0");
    EXPECT_EQ(queue_depth(stack.sqs, p.queue_url), std::to_string(poison.size()) + "/0");
}

// interrupt_receives() ends a 20 s long poll within about a second.
TEST(WorkerFauxqs, InterruptEndsALongPollPromptly) {
    Stack stack{testing::peer_url("MAILTRACK_TEST_FAUXQS_URL")};
    const auto p = stack.pipeline(false);
    const auto start = std::chrono::steady_clock::now();
    std::thread poller([&] {
        auto r = stack.queue.receive(p.queue_url, 10, 20s, 30s);
        EXPECT_TRUE(r.has_value());
        if (r) {
            EXPECT_TRUE(r->empty());
        }
    });
    std::this_thread::sleep_for(300ms);
    stack.queue.interrupt_receives();
    poller.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

}  // namespace
}  // namespace mailtrack
