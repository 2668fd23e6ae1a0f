#include "mailtrack/util/expected.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mailtrack/util/error.hpp"

namespace mailtrack::util {
namespace {

Result<int> number(bool ok) {
    if (!ok) return fail(ErrorKind::not_found, "no number");
    return 41;
}

Result<void> check(bool ok) {
    if (!ok) return fail(ErrorKind::invalid_input, "bad check");
    return {};
}

Result<std::unique_ptr<int>> boxed(bool ok) {
    if (!ok) return fail(ErrorKind::io, "no box");
    return std::make_unique<int>(7);
}

Result<int> add_one(bool ok) {
    MAILTRACK_TRY_ASSIGN(const int n, number(ok));
    return n + 1;
}

Result<int> checked_then(bool check_ok, bool number_ok) {
    MAILTRACK_TRY(check(check_ok));
    MAILTRACK_TRY_ASSIGN(int n, number(number_ok));
    MAILTRACK_TRY_ASSIGN(n, number(number_ok));  // assigning to an existing variable
    return n;
}

Result<int> move_only(bool ok) {
    MAILTRACK_TRY_ASSIGN(auto box, boxed(ok));
    return *box;
}

Result<void> void_chain(bool ok) {
    MAILTRACK_TRY(number(ok));
    return {};
}

TEST(ExpectedTry, AssignsTheValueOrReturnsTheError) {
    auto good = add_one(true);
    ASSERT_TRUE(good);
    EXPECT_EQ(*good, 42);
    auto bad = add_one(false);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::not_found);
    EXPECT_EQ(bad.error().message, "no number");
}

TEST(ExpectedTry, StopsAtTheFirstError) {
    auto first = checked_then(false, false);
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().kind, ErrorKind::invalid_input);
    auto second = checked_then(true, false);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().kind, ErrorKind::not_found);
    auto both = checked_then(true, true);
    ASSERT_TRUE(both);
    EXPECT_EQ(*both, 41);
}

TEST(ExpectedTry, MovesMoveOnlyValuesAndIgnoresValuesInVoidFunctions) {
    auto v = move_only(true);
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, 7);
    EXPECT_EQ(move_only(false).error().kind, ErrorKind::io);
    EXPECT_TRUE(void_chain(true));
    EXPECT_EQ(void_chain(false).error().message, "no number");
}

}  // namespace
}  // namespace mailtrack::util
