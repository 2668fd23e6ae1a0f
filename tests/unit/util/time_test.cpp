#include "mailtrack/util/time.hpp"

#include <gtest/gtest.h>

namespace mailtrack::util {
namespace {

TEST(Time, ParsesTheFormsAwsUses) {
    EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_timestamp("2016-10-19T23:20:52.240Z"), 1476919252240);
    EXPECT_EQ(parse_timestamp("2016-10-19T23:20:52Z"), 1476919252000);
    EXPECT_EQ(parse_timestamp("2018-10-08T14:05:45 +0000"), 1539007545000);
    EXPECT_EQ(parse_timestamp("2009-12-03T04:24:21.000-05:00"), 1259832261000);
    EXPECT_EQ(parse_timestamp("2016-10-19"), 1476835200000);
    EXPECT_EQ(parse_timestamp("2016-10-19T23:20:52.240123Z"), 1476919252240);
}

TEST(Time, RejectsGarbage) {
    for (const char* bad : {"", "yesterday", "2016-13-01T00:00:00Z", "2016-02-30", "2016-10-19T25:00:00Z",
                            "2016-10-19T23:20:52.Z", "2016-10-19T23:20:52Zjunk", "2016-10-19T23:20:52+5"}) {
        EXPECT_FALSE(parse_timestamp(bad).has_value()) << bad;
    }
}

TEST(Time, FormatRoundTrips) {
    for (UnixMillis t : {UnixMillis{0}, UnixMillis{1476919252240}, UnixMillis{951782400123}, UnixMillis{-1}}) {
        EXPECT_EQ(parse_timestamp(format_timestamp(t)), t) << format_timestamp(t);
    }
    EXPECT_EQ(format_timestamp(1476919252240), "2016-10-19T23:20:52.240Z");
}

TEST(Time, Since) {
    EXPECT_EQ(parse_since("24h", 100'000'000), 100'000'000 - 86'400'000);
    EXPECT_EQ(parse_since("7d", 1'000'000'000), 1'000'000'000 - 7 * 86'400'000);
    EXPECT_EQ(parse_since("2016-10-19", 0), 1476835200000);
    EXPECT_FALSE(parse_since("h", 0).has_value());
}

}  // namespace
}  // namespace mailtrack::util
