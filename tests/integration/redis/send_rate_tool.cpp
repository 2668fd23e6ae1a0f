// A long-lived sender process for the shared send-rate test: wired exactly as `mailtrack send`
// (configuration, store behind Redis, SES client, make_sending with the shared budget), it sends
// one email per Sender::send for SECONDS seconds and prints one JSON line per send:
//   {"granted": unix ms when the limiter let it go, "t": unix ms when SES answered, "ok": bool,
//    "shared": whether Redis paced it (else the in-process fallback)}
// and a final {"done": true, "shared": N, "fallback": N, "redis_failures": N}.
//   send_rate_tool SECONDS TO_PREFIX [key=value...]   (settings as for --set)
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "mailtrack/adapters/redis_rate_limiter.hpp"
#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/redis_settings.hpp"
#include "mailtrack/app/sending.hpp"
#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/config/config.hpp"

extern char** environ;

namespace {

// Notes when the limiter under test lets a send go.
class GrantClock final : public mailtrack::sender::RateLimiter {
public:
    GrantClock(mailtrack::sender::RateLimiter& inner, const mailtrack::util::Clock& clock)
        : m_inner(inner), m_clock(clock) {}
    void acquire() override {
        m_inner.acquire();
        granted = m_clock.now_millis();
    }
    void on_throttled() override { m_inner.on_throttled(); }
    void on_success() override { m_inner.on_success(); }
    mailtrack::util::UnixMillis granted = 0;

private:
    mailtrack::sender::RateLimiter& m_inner;
    const mailtrack::util::Clock& m_clock;
};

}  // namespace

int main(int argc, char** argv) {
    using namespace mailtrack;
    if (argc < 3) {
        std::cerr << "usage: send_rate_tool SECONDS TO_PREFIX [key=value...]\n";
        return 2;
    }
    const double seconds = std::strtod(argv[1], nullptr);
    const std::string prefix = argv[2];
    std::vector<std::string> overrides(argv + 3, argv + argc);
    std::vector<std::pair<std::string, std::string>> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string kv = *e;
        if (const auto eq = kv.find('='); eq != std::string::npos)
            env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    auto c = config::Config::load(std::nullopt, env, overrides);
    if (!c) {
        std::cerr << c.error().describe() << "\n";
        return 1;
    }
    auto aws = app::make_aws_services(*c, aws::process_environment());
    if (!aws) {
        std::cerr << aws.error().describe() << "\n";
        return 1;
    }
    auto opened = app::open_store(*c);
    if (!opened) {
        std::cerr << opened.error().describe() << "\n";
        return 1;
    }
    auto store = app::share_through_redis(std::move(*opened), *c, aws::process_environment(), (*aws)->clock);
    auto redis = app::redis_settings(*c, aws::process_environment());
    if (!store || !redis) {
        std::cerr << (store ? redis.error() : store.error()).describe() << "\n";
        return 1;
    }
    auto sending = app::make_sending(**store, **aws, static_cast<std::uint64_t>(::getpid()), {}, *redis);
    const auto* shared = dynamic_cast<const adapters::RedisRateLimiter*>(sending.limiter.get());
    GrantClock grants(*sending.limiter, (*aws)->clock);
    sender::Sender paced(**store, *sending.ses, grants, (*aws)->clock, (*aws)->sleeper, *sending.ids, {});

    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
        sender::SendRequest r;
        r.from = "sender@example.com";
        r.to = {prefix + "-" + std::to_string(i) + "@example.com"};
        r.subject = "rate " + std::to_string(i);
        r.text = "hello";
        const std::int64_t before = shared != nullptr ? shared->shared_acquires() : 0;
        auto result = paced.send(r);
        nlohmann::json line = {{"granted", grants.granted},
                               {"t", (*aws)->clock.now_millis()},
                               {"ok", result.has_value()},
                               {"shared", shared != nullptr && shared->shared_acquires() > before}};
        if (!result) line["error"] = result.error().message;
        std::cout << line.dump() << std::endl;
    }
    nlohmann::json done = {{"done", true}};
    if (shared != nullptr) {
        done["shared"] = shared->shared_acquires();
        done["fallback"] = shared->fallback_acquires();
        done["redis_failures"] = sending.redis_health->failures();
    }
    std::cout << done.dump() << std::endl;
    return 0;
}
