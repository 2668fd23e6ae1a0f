#include "mailtrack/core/address.hpp"

#include <gtest/gtest.h>

namespace mailtrack::core {
namespace {

TEST(Address, NormalizeTrimsAndLowercasesOnlyTheDomain) {
    EXPECT_EQ(normalize_address("  John.Doe@Example.COM \n"), "John.Doe@example.com");
    EXPECT_EQ(normalize_address("Jane <Jane@EXAMPLE.org>"), "Jane@example.org");
    EXPECT_EQ(normalize_address("no-at-sign"), "no-at-sign");
}

TEST(Address, Plausibility) {
    EXPECT_TRUE(is_plausible_address("a@example.com"));
    EXPECT_TRUE(is_plausible_address("success@simulator.amazonses.com"));
    EXPECT_FALSE(is_plausible_address("a@localhost"));
    EXPECT_FALSE(is_plausible_address("@example.com"));
    EXPECT_FALSE(is_plausible_address("a b@example.com"));
    EXPECT_FALSE(is_plausible_address("a@exa..mple.com"));
    EXPECT_FALSE(is_plausible_address("a@example.com."));
}

}  // namespace
}  // namespace mailtrack::core
