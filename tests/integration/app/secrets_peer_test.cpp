// GetSecretValue against moto's Secrets Manager, and resolve_secret's sources in order.
// Runs under tests/support/peers.py --moto.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "mailtrack/app/redis_settings.hpp"
#include "mailtrack/app/secrets.hpp"
#include "mailtrack/aws/secretsmanager.hpp"
#include "mailtrack/config/config.hpp"

#include "peer_test_support.hpp"

namespace mailtrack {
namespace {

using testing::peer_url;

struct Moto {
    testing::PeerContext ctx;
    aws::ServiceEndpoint endpoint{peer_url("MAILTRACK_TEST_MOTO_URL"), "us-east-1", "secretsmanager"};
    aws::SecretsManagerClient client{ctx.context(), endpoint};

    // CreateSecret is not part of mailtrack's client: a raw JSON 1.1 call. Returns the ARN.
    std::string create(const std::string& name, const std::string& value) {
        aws::AwsClient raw(ctx.context(), endpoint);
        aws::Call c;
        c.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", "secretsmanager.CreateSecret"}};
        c.body = nlohmann::json{{"Name", name}, {"SecretString", value}}.dump();
        auto r = raw.send(c);
        EXPECT_TRUE(r) << (r ? "" : r.error().describe());
        if (!r) return {};
        return nlohmann::json::parse(r->body).value("ARN", "");
    }

    app::SecretFetcher fetcher() {
        return [this](const std::string& id) -> util::Result<std::string> {
            auto v = client.get_secret_value(id);
            if (!v) return util::fail(util::ErrorKind::config, v.error().describe());
            return v->secret_string;
        };
    }
};

// redis.auth_secret_arn: the Redis AUTH token from Secrets Manager, through the same fetcher
// the binary uses (secrets_manager_fetcher with the configured endpoint).
TEST(SecretsManager, RedisAuthTokenComesFromTheSecretWhenNeitherEnvNorFileIsSet) {
    Moto moto;
    const std::string plain = moto.create(testing::unique_name("redis-token"), "t0ken with spaces");
    const std::string acl =
        moto.create(testing::unique_name("redis-acl"), R"({"username":"mailtrack","password":"acl-pw"})");
    ASSERT_FALSE(plain.empty());
    ASSERT_FALSE(acl.empty());
    const aws::Environment env = {{"AWS_ACCESS_KEY_ID", "test"}, {"AWS_SECRET_ACCESS_KEY", "test"}};
    auto load = [&](const std::string& secret) {
        auto c = config::Config::load(std::nullopt, {},
                                      {"redis.url=rediss://cache.example:6380/0", "aws.region=us-east-1",
                                       "aws.secretsmanager_endpoint_url=" + peer_url("MAILTRACK_TEST_MOTO_URL"),
                                       "redis.auth_secret_arn=" + secret});
        EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().describe());
        return std::move(*c);
    };
    const auto c1 = load(plain);
    auto s = app::redis_settings(c1, env);
    ASSERT_TRUE(s.has_value()) << s.error().describe();
    EXPECT_EQ((*s)->client.endpoint.password, "t0ken with spaces");
    EXPECT_EQ((*s)->client.endpoint.user, "");
    const auto c2 = load(acl);
    s = app::redis_settings(c2, env);
    ASSERT_TRUE(s.has_value()) << s.error().describe();
    EXPECT_EQ((*s)->client.endpoint.password, "acl-pw");
    EXPECT_EQ((*s)->client.endpoint.user, "mailtrack");
    // The environment still wins, and Secrets Manager is not even asked.
    auto env_wins = app::redis_settings(c1, {{"MAILTRACK_REDIS_PASSWORD", "from-env"}});
    ASSERT_TRUE(env_wins.has_value());
    EXPECT_EQ((*env_wins)->client.endpoint.password, "from-env");
    // A missing secret is an error naming the setting, never a silent unauthenticated client.
    const auto c3 = load("no-such-secret-" + testing::unique_name("x"));
    auto missing = app::redis_settings(c3, env);
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message.find("redis.auth_secret_arn"), std::string::npos) << missing.error().message;
}

TEST(SecretsManager, GetSecretValueReturnsTheStringAndNamesAMissingSecret) {
    Moto moto;
    const std::string name = testing::unique_name("mailtrack-db");
    const std::string arn = moto.create(name, R"({"username":"admin","password":"p@ss w0rd\"x"})");
    ASSERT_FALSE(arn.empty());
    auto v = moto.client.get_secret_value(arn);
    ASSERT_TRUE(v) << v.error().describe();
    EXPECT_EQ(v->arn, arn);
    EXPECT_EQ(v->name, name);
    EXPECT_FALSE(v->version_id.empty());
    EXPECT_EQ(v->secret_string, R"({"username":"admin","password":"p@ss w0rd\"x"})");
    auto by_name = moto.client.get_secret_value(name);
    ASSERT_TRUE(by_name);
    EXPECT_EQ(by_name->arn, arn);

    auto missing = moto.client.get_secret_value("no-such-secret-" + name);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, "ResourceNotFoundException");
    EXPECT_EQ(missing.error().kind, aws::ErrorKind::client);
}

TEST(SecretsManager, ResolveSecretReadsAnRdsJsonSecretOrAPlainOne) {
    Moto moto;
    const std::string rds = moto.create(testing::unique_name("rds"), R"({"username":"admin","password":"from-rds"})");
    const std::string plain = moto.create(testing::unique_name("plain"), "token-123");
    const std::string bad = moto.create(testing::unique_name("bad"), R"({"user":"x"})");
    const aws::Environment none;

    auto a = app::resolve_secret({"the MySQL password", "MT_TEST_PW", "", rds}, none, moto.fetcher());
    ASSERT_TRUE(a && *a) << (a ? "" : a.error().describe());
    EXPECT_EQ((*a)->password, "from-rds");
    EXPECT_EQ((*a)->username, "admin");
    EXPECT_EQ((*a)->source, "secret " + rds);

    auto b = app::resolve_secret({"the Redis token", "", "", plain}, none, moto.fetcher());
    ASSERT_TRUE(b && *b);
    EXPECT_EQ((*b)->password, "token-123");
    EXPECT_EQ((*b)->username, "");

    auto c = app::resolve_secret({"the MySQL password", "", "", bad}, none, moto.fetcher());
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().kind, util::ErrorKind::config);
    EXPECT_NE(c.error().message.find("without a \"password\""), std::string::npos) << c.error().message;

    auto d =
        app::resolve_secret({"the MySQL password", "", "", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone"},
                            none, moto.fetcher());
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message.find("ResourceNotFoundException"), std::string::npos) << d.error().message;
    EXPECT_NE(d.error().message.find("the MySQL password"), std::string::npos);
}

TEST(SecretsManager, EnvironmentThenFileThenSecret) {
    Moto moto;
    const std::string arn = moto.create(testing::unique_name("order"), R"({"username":"u","password":"from-secret"})");
    const auto dir = std::filesystem::temp_directory_path() / testing::unique_name("mt-secret");
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "pw").string();
    std::ofstream(file) << "from-file\n";
    int fetched = 0;
    auto counting = [&, f = moto.fetcher()](const std::string& id) {
        ++fetched;
        return f(id);
    };

    auto env =
        app::resolve_secret({"pw", "MT_TEST_PW", file, arn}, aws::Environment{{"MT_TEST_PW", "from-env"}}, counting);
    ASSERT_TRUE(env && *env);
    EXPECT_EQ((*env)->password, "from-env");
    EXPECT_EQ((*env)->source, "MT_TEST_PW");
    auto from_file = app::resolve_secret({"pw", "MT_TEST_PW", file, arn}, aws::Environment{}, counting);
    ASSERT_TRUE(from_file && *from_file);
    EXPECT_EQ((*from_file)->password, "from-file");
    EXPECT_EQ(fetched, 0);  // Secrets Manager is not called when an earlier source is set
    auto secret = app::resolve_secret({"pw", "MT_TEST_PW", "", arn}, aws::Environment{}, counting);
    ASSERT_TRUE(secret && *secret);
    EXPECT_EQ((*secret)->password, "from-secret");
    EXPECT_EQ(fetched, 1);
    auto nothing = app::resolve_secret({"pw", "MT_TEST_PW", "", ""}, aws::Environment{}, counting);
    ASSERT_TRUE(nothing);
    EXPECT_FALSE(nothing->has_value());
    auto unreadable = app::resolve_secret({"pw", "", (dir / "missing").string(), ""}, aws::Environment{}, counting);
    ASSERT_FALSE(unreadable);
    EXPECT_EQ(unreadable.error().kind, util::ErrorKind::io);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mailtrack
