#include <gtest/gtest.h>

#include "mailtrack/app/sending.hpp"

namespace mailtrack::app {
namespace {

TEST(SenderOptions, SoftBouncePolicyComesFromTheSuppressionSettings) {
    auto defaults = config::Config::load(std::nullopt, {}, {});
    ASSERT_TRUE(defaults);
    auto d = sender_options(*defaults);
    ASSERT_TRUE(d) << d.error().describe();
    EXPECT_EQ(d->soft_bounce.limit, 3);
    EXPECT_EQ(d->soft_bounce.window_sends, 5);
    EXPECT_EQ(d->soft_bounce.expiry_days, 14);

    auto c = config::Config::load(std::nullopt, {{"MAILTRACK_SUPPRESSION_SOFT_BOUNCE_LIMIT", "2"}},
                                  {"suppression.soft_bounce_window_sends=4", "suppression.soft_bounce_expiry_days=7"});
    ASSERT_TRUE(c) << c.error().describe();
    auto o = sender_options(*c);
    ASSERT_TRUE(o) << o.error().describe();
    EXPECT_EQ(o->soft_bounce.limit, 2);
    EXPECT_EQ(o->soft_bounce.window_sends, 4);
    EXPECT_EQ(o->soft_bounce.expiry_days, 7);

    auto bad = config::Config::load(std::nullopt, {}, {"suppression.soft_bounce_window_sends=0"});
    ASSERT_TRUE(bad);
    auto e = sender_options(*bad);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().kind, util::ErrorKind::config);
    EXPECT_NE(e.error().message.find("suppression.soft_bounce_window_sends"), std::string::npos);
}

}  // namespace
}  // namespace mailtrack::app
