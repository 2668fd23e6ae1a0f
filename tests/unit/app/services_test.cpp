// The composition root: each part built once, on first use, with the errors of its settings.
#include "mailtrack/app/services.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace mailtrack::app {
namespace {

config::Config load(std::vector<std::string> overrides) {
    auto c = config::Config::load(std::nullopt, {}, std::move(overrides));
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
    return std::move(*c);
}

TEST(Services, BuildsTheStoreOnceAndHandsOutTheSameOne) {
    Services s(load({"store.sqlite_path=:memory:"}), {});
    auto first = s.store();
    ASSERT_TRUE(first.has_value()) << first.error().describe();
    auto second = s.store();
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(*first, *second);
    EXPECT_EQ(s.settings().store.sqlite_path, ":memory:");
}

TEST(Services, AReadOnlyOpenOfAMissingDatabaseNamesItAndCreatesNothing) {
    const auto path =
        std::filesystem::temp_directory_path() / ("services-missing-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    Services s(load({"store.sqlite_path=" + path.string()}), {});
    auto store = s.store(store::OpenMode::must_exist);
    ASSERT_FALSE(store.has_value());
    EXPECT_EQ(store.error().kind, util::ErrorKind::not_found);
    EXPECT_NE(store.error().message.find(path.string()), std::string::npos) << store.error().message;
    EXPECT_FALSE(std::filesystem::exists(path));
    // A part that failed is tried again: once the database is there, the same object opens it.
    Services(load({"store.sqlite_path=" + path.string()}), {}).store().value();
    EXPECT_TRUE(s.store(store::OpenMode::must_exist).has_value());
    std::filesystem::remove(path);
}

TEST(Services, AwsClientsNeedARegionAndAreBuiltOnce) {
    Services none(load({}), {});
    auto missing = none.aws();
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().kind, util::ErrorKind::config);
    EXPECT_NE(missing.error().message.find("region"), std::string::npos) << missing.error().message;

    Services s(load({"aws.region=eu-west-1", "aws.endpoint_url=http://127.0.0.1:9"}), {});
    auto aws = s.aws();
    ASSERT_TRUE(aws.has_value()) << aws.error().describe();
    EXPECT_EQ((*aws)->region.value, "eu-west-1");
    EXPECT_EQ((*aws)->sqs_endpoint.value, "http://127.0.0.1:9");
    EXPECT_EQ(*s.aws(), *aws);
}

TEST(Services, RedisIsNoneWithoutAUrlAndItsSettingsAreCheckedWithOne) {
    Services s(load({}), {});
    auto none = s.redis();
    ASSERT_TRUE(none.has_value()) << none.error().describe();
    EXPECT_FALSE((*none)->has_value());

    Services bad(load({"redis.url=redis://127.0.0.1:6379/0", "redis.command_timeout_ms=0"}), {});
    auto refused = bad.redis();
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("redis.command_timeout_ms"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace mailtrack::app
