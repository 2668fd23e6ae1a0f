// `suppress sync` against a stateful loopback stand-in for SES's account suppression list:
// neither aws-ses-v2-local nor moto implements the suppressed-destination APIs.
#include "mailtrack/ops/suppression_sync.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <mutex>

#include "mailtrack/aws/curl_transport.hpp"
#include "mailtrack/store/sqlite_store.hpp"

#include "fakes.hpp"
#include "loopback_http_server.hpp"

namespace mailtrack::ops {
namespace {

using nlohmann::json;
using testing::TestRequest;
using testing::TestResponse;

std::string decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// SES's account list, one entry per page so pagination is exercised.
class FakeSuppressionList {
public:
    std::map<std::string, std::string> entries;  // address -> BOUNCE/COMPLAINT
    std::mutex mutex;

    TestResponse handle(const TestRequest& r) {
        std::lock_guard lock(mutex);
        constexpr std::string_view k_base = "/v2/email/suppression/addresses";
        if (r.method == "PUT" && r.target == k_base) {
            const auto j = json::parse(r.body);
            entries[j.at("EmailAddress").get<std::string>()] = j.at("Reason").get<std::string>();
            return {200, {}, "{}"};
        }
        if (r.method == "DELETE" && r.target.starts_with(std::string(k_base) + "/")) {
            entries.erase(decode(r.target.substr(k_base.size() + 1)));
            return {200, {}, "{}"};
        }
        if (r.method == "GET" && r.target.starts_with(k_base)) {
            const auto at = r.target.find("NextToken=");
            const std::size_t start = at == std::string::npos ? 0 : std::stoul(r.target.substr(at + 10));
            json page = {{"SuppressedDestinationSummaries", json::array()}};
            auto it = entries.begin();
            std::advance(it, static_cast<long>(std::min(start, entries.size())));
            if (it != entries.end()) {
                page["SuppressedDestinationSummaries"].push_back(
                    {{"EmailAddress", it->first}, {"Reason", it->second}, {"LastUpdateTime", 1700000000.0}});
                if (start + 1 < entries.size()) page["NextToken"] = std::to_string(start + 1);
            }
            return {200, {}, page.dump()};
        }
        return {400, {{"x-amzn-ErrorType", "BadRequestException"}}, R"({"message":"unexpected"})"};
    }
};

struct Fixture {
    util::ManualClock clock{1700000000000};
    aws::CurlTransport transport;
    aws::StaticCredentialsProvider creds{aws::Credentials{"AKID", "s", "", std::nullopt, "test"}};
    testing::RecordingSleeper sleeper;
    testing::FixedJitter jitter{0.0};
    aws::RetryOptions retry;
    aws::RetryQuota quota{retry};
    FakeSuppressionList fake;
    testing::LoopbackHttpServer server{[this](const TestRequest& r) { return fake.handle(r); }};
    aws::SesV2Client ses{{transport, creds, clock, sleeper, jitter, quota, retry}, {server.url(), "us-east-1", "ses"}};
    std::unique_ptr<store::SqliteStore> db = std::move(*store::SqliteStore::open({":memory:", 1000, 1}));

    void local(const std::string& a, core::SuppressionReason reason, std::optional<util::UnixMillis> expires = {}) {
        ASSERT_TRUE(db->suppress(core::Suppression{a, reason, 1, {}, "test", expires}));
    }
};

TEST(SuppressionSync, ReconcilesBothWaysAcrossPages) {
    Fixture f;
    f.fake.entries = {{"ses-bounce@example.com", "BOUNCE"},
                      {"ses-complaint@example.com", "COMPLAINT"},
                      {"both@example.com", "BOUNCE"}};
    f.local("both@example.com", core::SuppressionReason::bounce);
    f.local("ours@example.com", core::SuppressionReason::complaint);
    f.local("manual@example.com", core::SuppressionReason::manual);                           // stays local
    f.local("soft@example.com", core::SuppressionReason::soft_bounce_policy, 1800000000000);  // stays local

    auto dry = sync_suppressions(*f.db, f.ses, f.clock, {false, true});
    ASSERT_TRUE(dry) << dry.error().describe();
    EXPECT_EQ(dry->pulled.size(), 2u);
    EXPECT_EQ(f.fake.entries.size(), 3u);  // dry run changed nothing

    auto r = sync_suppressions(*f.db, f.ses, f.clock, {});
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->pulled, (std::vector<std::string>{"ses-bounce@example.com", "ses-complaint@example.com"}));
    EXPECT_EQ(r->pushed, (std::vector<std::string>{"ours@example.com"}));
    EXPECT_TRUE(r->errors.empty());
    EXPECT_EQ(f.fake.entries.at("ours@example.com"), "COMPLAINT");
    EXPECT_FALSE(f.fake.entries.contains("manual@example.com"));
    auto pulled = f.db->suppression("ses-complaint@example.com");
    ASSERT_TRUE(pulled && *pulled);
    EXPECT_EQ((*pulled)->reason, core::SuppressionReason::complaint);

    auto again = sync_suppressions(*f.db, f.ses, f.clock, {});  // converged: nothing to do
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->pulled.empty() && again->pushed.empty());
}

TEST(SuppressionSync, PruneMakesOursTheAuthority) {
    Fixture f;
    f.fake.entries = {{"removed-here@example.com", "BOUNCE"}, {"kept@example.com", "BOUNCE"}};
    f.local("kept@example.com", core::SuppressionReason::bounce);
    auto r = sync_suppressions(*f.db, f.ses, f.clock, {true, false});
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->pruned, (std::vector<std::string>{"removed-here@example.com"}));
    EXPECT_TRUE(r->pulled.empty());
    EXPECT_EQ(f.fake.entries.size(), 1u);
    EXPECT_FALSE(*f.db->suppression("removed-here@example.com"));
}

}  // namespace
}  // namespace mailtrack::ops
