#include "mailtrack/app/worker_options.hpp"

#include <gtest/gtest.h>

namespace mailtrack::app {
namespace {

TEST(WorkerOptions, ComeFromTheWorkerSettings) {
    auto c = config::Config::load(
        std::nullopt, {{"MAILTRACK_WORKER_QUEUE_URLS", "https://q/1, https://q/2"}},
        {"worker.concurrency=16", "worker.linger_ms=5", "worker.heartbeat=false", "worker.dlq_url=https://q/dlq"});
    ASSERT_TRUE(c) << c.error().describe();
    auto o = worker_options(*c);
    ASSERT_TRUE(o) << o.error().describe();
    EXPECT_EQ(o->queue_urls, (std::vector<std::string>{"https://q/1", "https://q/2"}));
    EXPECT_EQ(o->dlq_url, "https://q/dlq");
    EXPECT_EQ(o->concurrency, 16);
    EXPECT_EQ(o->linger, std::chrono::milliseconds(5));
    EXPECT_FALSE(o->heartbeat);
    EXPECT_EQ(o->batch_max, 500u);
    EXPECT_EQ(o->wait_time, std::chrono::seconds(20));
    EXPECT_EQ(o->max_receive_count, 5);
}

TEST(WorkerOptions, OutOfRangeSettingsAreNamed) {
    auto c = config::Config::load(std::nullopt, {}, {"worker.queue_urls=https://q/1", "worker.concurrency=17"});
    ASSERT_TRUE(c);
    auto o = worker_options(*c);
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().kind, util::ErrorKind::config);
    EXPECT_NE(o.error().message.find("worker.concurrency"), std::string::npos);
    auto none = config::Config::load(std::nullopt, {}, {});
    ASSERT_TRUE(none);
    auto missing = worker_options(*none);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("worker.queue_urls"), std::string::npos);
}

}  // namespace
}  // namespace mailtrack::app
