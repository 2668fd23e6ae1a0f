#include "mailtrack/util/metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace mailtrack::util {
namespace {

TEST(Metrics, CountersAreSharedPerNameAndLabelsAndThreadSafe) {
    MetricsRegistry r;
    Counter& a = r.counter("x_total", {{"type", "send"}, {"queue", "q"}});
    Counter& b = r.counter("x_total", {{"queue", "q"}, {"type", "send"}});
    EXPECT_EQ(&a, &b);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10'000; ++i) r.counter("x_total", {{"type", "send"}, {"queue", "q"}}).add();
        });
    }
    for (auto& t : threads) t.join();
    r.counter("x_total", {{"type", "bounce"}, {"queue", "q"}}).add(5);
    const auto s = r.snapshot();
    EXPECT_EQ(s.value("x_total", {{"type", "send"}, {"queue", "q"}}), 40'000);
    EXPECT_EQ(s.total("x_total"), 40'005);
}

TEST(Metrics, HistogramQuantilesAndPrometheusText) {
    MetricsRegistry r;
    Histogram& h = r.histogram("apply_duration_seconds", {0.001, 0.01, 0.1}, {}, "one transaction");
    for (int i = 0; i < 90; ++i) h.observe(0.0005);
    for (int i = 0; i < 10; ++i) h.observe(0.05);
    const auto d = r.snapshot().histogram("apply_duration_seconds");
    EXPECT_EQ(d.count, 100);
    EXPECT_DOUBLE_EQ(d.quantile(0.5), 0.001);
    EXPECT_DOUBLE_EQ(d.quantile(0.99), 0.1);
    r.counter("mailtrack_worker_messages_rejected_total", {{"reason", "invalid \"json\""}}).add(2);
    const std::string text = r.prometheus_text();
    EXPECT_NE(text.find("# HELP apply_duration_seconds one transaction\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE apply_duration_seconds histogram\n"), std::string::npos);
    EXPECT_NE(text.find("apply_duration_seconds_bucket{le=\"0.001\"} 90\n"), std::string::npos);
    EXPECT_NE(text.find("apply_duration_seconds_bucket{le=\"+Inf\"} 100\n"), std::string::npos);
    EXPECT_NE(text.find("apply_duration_seconds_count 100\n"), std::string::npos);
    EXPECT_NE(text.find("mailtrack_worker_messages_rejected_total{reason=\"invalid \\\"json\\\"\"} 2\n"),
              std::string::npos);
}

}  // namespace
}  // namespace mailtrack::util
