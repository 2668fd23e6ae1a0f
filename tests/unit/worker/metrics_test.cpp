#include "mailtrack/worker/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mailtrack::worker {
namespace {

TEST(Metrics, SummaryLineShowsTotalsAndTheIntervalRate) {
    MetricsRegistry r;
    r.counter(metric::k_events, {{"type", "delivery"}}).add(100);
    r.counter(metric::k_events_applied).add(95);
    r.counter(metric::k_duplicates).add(5);
    r.counter(metric::k_queue_calls, {{"operation", "receive"}, {"outcome", "ok"}}).add(10);
    r.counter(metric::k_queue_calls, {{"operation", "delete_batch"}, {"outcome", "ok"}}).add(10);
    const auto before = r.snapshot();
    r.counter(metric::k_events, {{"type", "delivery"}}).add(100);
    const auto after = r.snapshot();
    const std::string line = summary_line(after, &before, std::chrono::milliseconds(10'000));
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_NE(line.find("events 200 (+100, 10.0/s)"), std::string::npos) << line;
    EXPECT_NE(line.find("applied 95 dup 5"), std::string::npos) << line;
    EXPECT_NE(line.find("sqs calls/1k events 100"), std::string::npos) << line;
}

}  // namespace
}  // namespace mailtrack::worker
