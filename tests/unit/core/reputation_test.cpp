#include "mailtrack/core/reputation.hpp"

#include <gtest/gtest.h>

namespace mailtrack::core {
namespace {

TEST(Reputation, NoSendsIsHealthyWithZeroRates) {
    const auto a = assess_reputation(0, 0, 0);
    EXPECT_EQ(a.bounce_rate, 0.0);
    EXPECT_EQ(a.complaint_rate, 0.0);
    EXPECT_EQ(a.bounce_verdict, RateVerdict::healthy);
    EXPECT_EQ(a.complaint_verdict, RateVerdict::healthy);
}

TEST(Reputation, BounceThresholdsAreInclusive) {
    EXPECT_EQ(assess_reputation(1000, 49, 0).bounce_verdict, RateVerdict::healthy);
    EXPECT_EQ(assess_reputation(1000, 50, 0).bounce_verdict, RateVerdict::warning);
    EXPECT_EQ(assess_reputation(1000, 99, 0).bounce_verdict, RateVerdict::warning);
    EXPECT_EQ(assess_reputation(1000, 100, 0).bounce_verdict, RateVerdict::at_risk);
}

TEST(Reputation, ComplaintThresholdsAreInclusive) {
    EXPECT_EQ(assess_reputation(10000, 0, 9).complaint_verdict, RateVerdict::healthy);
    EXPECT_EQ(assess_reputation(10000, 0, 10).complaint_verdict, RateVerdict::warning);
    EXPECT_EQ(assess_reputation(10000, 0, 49).complaint_verdict, RateVerdict::warning);
    EXPECT_EQ(assess_reputation(10000, 0, 50).complaint_verdict, RateVerdict::at_risk);
}

TEST(Reputation, RatesAreOverSentAndIndependent) {
    const auto a = assess_reputation(200, 30, 2);
    EXPECT_DOUBLE_EQ(a.bounce_rate, 0.15);
    EXPECT_DOUBLE_EQ(a.complaint_rate, 0.01);
    EXPECT_EQ(a.bounce_verdict, RateVerdict::at_risk);
    EXPECT_EQ(a.complaint_verdict, RateVerdict::at_risk);
    EXPECT_EQ(to_string(a.bounce_verdict), "AT RISK");
    EXPECT_EQ(to_string(RateVerdict::warning), "WARNING");
    EXPECT_EQ(to_string(RateVerdict::healthy), "ok");
}

}  // namespace
}  // namespace mailtrack::core
