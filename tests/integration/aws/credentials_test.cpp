// Credential providers: environment, shared files, container and IMDSv2 (against a loopback
// metadata server written for the test, with token expiry driven by the test's clock).
#include "mailtrack/aws/credentials.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "mailtrack/aws/curl_transport.hpp"

#include "loopback_http_server.hpp"

namespace mailtrack::aws {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::TestRequest;
using testing::TestResponse;
namespace fs = std::filesystem;

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("mailtrack-creds-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

TEST(Credentials, EnvironmentWithSessionToken) {
    EnvironmentProvider p({{"AWS_ACCESS_KEY_ID", "AKIAENV"},
                           {"AWS_SECRET_ACCESS_KEY", "secretenv"},
                           {"AWS_SESSION_TOKEN", "tok"},
                           {"AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z"}});
    auto c = p.credentials();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->access_key_id, "AKIAENV");
    EXPECT_EQ(c->session_token, "tok");
    EXPECT_EQ(c->expiration, 1893456000000);
    EXPECT_EQ(c->source, "environment");
    auto half = EnvironmentProvider(Environment{{"AWS_ACCESS_KEY_ID", "AKIAENV"}}).credentials();
    ASSERT_FALSE(half);
    EXPECT_NE(half.error().code, k_credentials_not_found);
}

TEST(Credentials, SharedFilesWithProfiles) {
    TempDir d;
    const auto creds = d.write("credentials",
                               "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = s1\n"
                               "# comment\n[work]\naws_access_key_id=AKIAWORK\naws_secret_access_key=s2\n"
                               "aws_session_token = t2\n");
    const auto config = d.write("config",
                                "[default]\nregion = eu-west-1\n[profile cfgonly]\nregion = ap-south-1\n"
                                "aws_access_key_id = AKIACFG\naws_secret_access_key = s3\n");
    Environment env{{"AWS_SHARED_CREDENTIALS_FILE", creds}, {"AWS_CONFIG_FILE", config}};
    EXPECT_EQ(ProfileProvider(env).credentials()->access_key_id, "AKIADEF");
    env["AWS_PROFILE"] = "work";
    auto w = ProfileProvider(env).credentials();
    ASSERT_TRUE(w);
    EXPECT_EQ(w->access_key_id, "AKIAWORK");
    EXPECT_EQ(w->session_token, "t2");
    EXPECT_NE(w->source.find("profile work"), std::string::npos);
    EXPECT_EQ(ProfileProvider(env, "cfgonly").credentials()->access_key_id, "AKIACFG");
    EXPECT_EQ(profile_region(env, "cfgonly"), "ap-south-1");
    EXPECT_EQ(profile_region(env, "default"), "eu-west-1");
    auto none = ProfileProvider(env, "nope").credentials();
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, k_credentials_not_found);
}

TEST(Credentials, ChainOrderAndNoSecretsInErrors) {
    TempDir d;
    const auto creds =
        d.write("credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = filesecret\n");
    util::ManualClock clock(1700000000000);
    CurlTransport t;
    Environment env{{"AWS_SHARED_CREDENTIALS_FILE", creds},
                    {"AWS_CONFIG_FILE", d.path.string() + "/none"},
                    {"AWS_EC2_METADATA_DISABLED", "true"},
                    {"AWS_ACCESS_KEY_ID", "AKIAENV"},
                    {"AWS_SECRET_ACCESS_KEY", "envsecret"}};
    EXPECT_EQ(default_credentials_chain(env, t, clock)->credentials()->access_key_id, "AKIAENV");
    env.erase("AWS_ACCESS_KEY_ID");
    env.erase("AWS_SECRET_ACCESS_KEY");
    EXPECT_EQ(default_credentials_chain(env, t, clock)->credentials()->access_key_id, "AKIAFILE");
    env["AWS_SHARED_CREDENTIALS_FILE"] = d.path.string() + "/missing";
    auto none = default_credentials_chain(env, t, clock)->credentials();
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().kind, ErrorKind::auth);
    EXPECT_EQ(none.error().describe().find("secret"), std::string::npos);
}

TEST(Credentials, ContainerEndpointWithAuthorizationTokenFile) {
    testing::LoopbackHttpServer server([](const TestRequest& r) -> TestResponse {
        if (r.target != "/creds" || r.header("Authorization") != "Bearer abc") return {401, {}, ""};
        return {
            200,
            {},
            R"({"AccessKeyId":"ASIACONT","SecretAccessKey":"cs","Token":"ct","Expiration":"2030-01-01T00:00:00Z"})"};
    });
    TempDir d;
    CurlTransport t;
    ContainerProvider p({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server.url() + "/creds"},
                         {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", d.write("token", "Bearer abc\n")}},
                        t);
    auto c = p.credentials();
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->access_key_id, "ASIACONT");
    EXPECT_EQ(c->session_token, "ct");
    auto refused =
        ContainerProvider({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds"}}, t).credentials();
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("not allowed"), std::string::npos);
}

// A metadata service that issues tokens with the TTL asked for and rejects expired ones (401).
struct FakeImds {
    explicit FakeImds(util::ManualClock& clock, bool v2_supported = true) : m_clock(clock), m_v2(v2_supported) {}
    util::ManualClock& m_clock;
    bool m_v2;
    std::mutex m;
    std::map<std::string, util::UnixMillis> tokens;  // token -> expiry
    std::atomic<int> puts{0};
    std::atomic<int> credential_fetches{0};
    util::UnixMillis cred_expiry = 0;

    TestResponse handle(const TestRequest& r) {
        std::lock_guard lock(m);
        if (r.method == "PUT" && r.target == "/latest/api/token") {
            if (!m_v2) return {405, {}, ""};
            const int ttl = std::stoi(r.header("X-aws-ec2-metadata-token-ttl-seconds"));
            const std::string tok = "token-" + std::to_string(++puts);
            tokens[tok] = m_clock.now_millis() + ttl * 1000LL;
            return {200, {}, tok};
        }
        if (m_v2) {
            const auto it = tokens.find(r.header("X-aws-ec2-metadata-token"));
            if (it == tokens.end() || it->second <= m_clock.now_millis()) return {401, {}, ""};
        }
        if (r.target == "/latest/meta-data/iam/security-credentials/") return {200, {}, "mailtrack-role"};
        if (r.target == "/latest/meta-data/iam/security-credentials/mailtrack-role") {
            ++credential_fetches;
            cred_expiry = m_clock.now_millis() + 6 * 3600 * 1000LL;
            const std::string exp = [&] {
                std::time_t s = static_cast<std::time_t>(cred_expiry / 1000);
                char buf[32];
                std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&s));
                return std::string(buf);
            }();
            return {200,
                    {},
                    R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS)" +
                        std::to_string(credential_fetches.load()) +
                        R"(","SecretAccessKey":"is","Token":"it","Expiration":")" + exp + "\"}"};
        }
        return {404, {}, ""};
    }
};

TEST(Credentials, ImdsV2TokenExpiryAndCredentialRefresh) {
    util::ManualClock clock(1700000000000);
    FakeImds imds(clock);
    testing::LoopbackHttpServer server([&](const TestRequest& r) { return imds.handle(r); });
    CurlTransport t;
    ImdsOptions o;
    o.endpoint = server.url();
    o.token_ttl_seconds = 300;
    CachingProvider p(std::make_unique<ImdsProvider>(t, clock, o), clock);

    auto c = p.credentials();
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(c->access_key_id, "ASIAIMDS1");
    EXPECT_NE(c->source.find("mailtrack-role"), std::string::npos);
    EXPECT_EQ(imds.puts, 1);
    const auto gets_with_token = [&] {
        int n = 0;
        for (const auto& r : server.requests()) n += r.header("X-aws-ec2-metadata-token").empty() ? 0 : 1;
        return n;
    };
    EXPECT_EQ(gets_with_token(), 2);

    // Cached: no traffic until the refresh window (15 min before the 6 h expiry).
    clock.advance(std::chrono::hours(5));
    EXPECT_EQ(p.credentials()->access_key_id, "ASIAIMDS1");
    EXPECT_EQ(imds.credential_fetches, 1);
    clock.advance(minutes(46));  // 14 min left: refreshed ahead of expiry, with a new token (old TTL ran out)
    auto r = p.credentials();
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->access_key_id, "ASIAIMDS2");
    EXPECT_EQ(imds.puts, 2);
}

TEST(Credentials, ImdsRetriesWithAFreshTokenAfter401) {
    util::ManualClock clock(1700000000000);
    FakeImds imds(clock);
    testing::LoopbackHttpServer server([&](const TestRequest& r) { return imds.handle(r); });
    CurlTransport t;
    ImdsOptions o;
    o.endpoint = server.url();
    ImdsProvider p(t, clock, o);
    ASSERT_TRUE(p.credentials());
    {
        std::lock_guard lock(imds.m);
        imds.tokens.clear();  // the service forgot our token (e.g. restarted)
    }
    auto c = p.credentials();
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_EQ(imds.puts, 2);
}

TEST(Credentials, ImdsFallsBackToV1WhenTheTokenCallIsRefused) {
    util::ManualClock clock(1700000000000);
    FakeImds imds(clock, false);
    testing::LoopbackHttpServer server([&](const TestRequest& r) { return imds.handle(r); });
    CurlTransport t;
    ImdsOptions o;
    o.endpoint = server.url();
    auto c = ImdsProvider(t, clock, o).credentials();
    ASSERT_TRUE(c) << c.error().describe();
    EXPECT_NE(c->source.find("IMDSv1"), std::string::npos);
    o.allow_v1_fallback = false;
    auto refused = ImdsProvider(t, clock, o).credentials();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().http_status, 405);
}

TEST(Credentials, CachingKeepsWorkingCredentialsWhenAdvisoryRefreshFails) {
    struct Flaky final : CredentialsProvider {
        int calls = 0;
        util::UnixMillis exp;
        Result<Credentials> credentials() override {
            if (++calls > 1) return fail(ErrorKind::connection, "down");
            return Credentials{"AKIA1", "s", "t", exp, "test"};
        }
    };
    util::ManualClock clock(1700000000000);
    auto inner = std::make_unique<Flaky>();
    inner->exp = clock.now_millis() + 3600 * 1000;
    CachingProvider p(std::move(inner), clock);
    ASSERT_TRUE(p.credentials());
    clock.advance(minutes(50));  // advisory window: refresh fails, cached still valid
    EXPECT_EQ(p.credentials()->access_key_id, "AKIA1");
    clock.advance(minutes(11));  // expired: the failure surfaces
    EXPECT_FALSE(p.credentials());
}

}  // namespace
}  // namespace mailtrack::aws
