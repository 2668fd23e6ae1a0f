#include "mailtrack/app/sending.hpp"

#include "mailtrack/adapters/redis_rate_limiter.hpp"

namespace mailtrack::app {

util::Result<sender::SenderOptions> sender_options(const config::Config& c) {
    sender::SenderOptions o;
    const config::Settings& t = c.typed();
    const auto get = [](std::string_view key, std::int64_t v, std::int64_t min, std::int64_t max) -> util::Result<int> {
        if (v < min || v > max) {
            return util::fail(util::ErrorKind::config, std::string(key) + " = " + std::to_string(v) + ": must be " +
                                                           std::to_string(min) + ".." + std::to_string(max));
        }
        return static_cast<int>(v);
    };
    MAILTRACK_TRY_ASSIGN(auto limit, get("suppression.soft_bounce_limit", t.suppression.soft_bounce_limit, 0, 1000));
    MAILTRACK_TRY_ASSIGN(auto window,
                         get("suppression.soft_bounce_window_sends", t.suppression.soft_bounce_window_sends, 1, 1000));
    MAILTRACK_TRY_ASSIGN(auto expiry,
                         get("suppression.soft_bounce_expiry_days", t.suppression.soft_bounce_expiry_days, 1, 36500));
    o.soft_bounce = {limit, window, expiry};
    MAILTRACK_TRY_ASSIGN(auto concurrency, get("sending.bulk_concurrency", t.sending.bulk_concurrency, 1, 16));
    o.bulk_concurrency = concurrency;
    return o;
}

Sending make_sending(store::Store& store, AwsServices& aws, std::uint64_t seed, sender::SenderOptions options,
                     const std::optional<RedisSettings>& redis) {
    Sending s;
    s.ses = std::make_unique<sender::SesV2Api>(*aws.ses);
    s.max_send_rate = 1.0;
    if (auto account = s.ses->get_account(); account && account->max_send_rate > 0) {
        s.max_send_rate = account->max_send_rate;
        s.rate_source = "GetAccount";
    } else {
        s.rate_source = account ? "GetAccount reported no rate; using 1/s"
                                : "GetAccount failed (" + account.error().describe() + "); using 1/s";
    }
    if (redis) {
        s.redis_health = std::make_unique<adapters::RedisHealth>(aws.clock, "send_rate");
        adapters::RedisRateLimiter::Options o;
        o.rate_per_second = s.max_send_rate;
        o.burst = redis->send_burst;
        o.fallback_instances = redis->fallback_instances;
        o.key = redis->key_prefix + "ses-send-rate";
        s.limiter = std::make_unique<adapters::RedisRateLimiter>(
            std::make_unique<redis::Client>(redis->client, aws.clock), o, aws.clock, aws.sleeper, *s.redis_health);
    } else {
        // A burst of one second's worth: SES measures the rate per second.
        s.limiter =
            std::make_unique<sender::TokenBucketRateLimiter>(s.max_send_rate, s.max_send_rate, aws.clock, aws.sleeper);
    }
    s.ids = std::make_unique<sender::SendIdGenerator>(seed);
    s.sender = std::make_unique<sender::Sender>(store, *s.ses, *s.limiter, aws.clock, aws.sleeper, *s.ids, options);
    return s;
}

util::Result<void> enable_sandbox_events(Sending& sending, AwsServices& aws, const config::Config& c) {
    const std::string& topic = c.typed().sns.events_topic_arn;
    if (topic.empty()) {
        return util::fail(util::ErrorKind::config,
                          "sending.sandbox_events needs sns.events_topic_arn (the topic `mailtrack setup` created)");
    }
    const auto where = sender::arn_region_account(topic);
    if (!where)
        return util::fail(util::ErrorKind::config, "sns.events_topic_arn = " + topic + ": not an SNS topic ARN");
    sender::SandboxOptions options;
    options.region = where->first;
    options.account_id = where->second;
    options.engagement = c.typed().sending.sandbox_engagement;
    sending.sandbox = std::make_unique<sender::SandboxEventPublisher>(*aws.sns, topic, std::move(options));
    sending.sender->set_observer(sending.sandbox.get());
    return {};
}

}  // namespace mailtrack::app
