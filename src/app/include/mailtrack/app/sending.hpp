#pragma once

#include <memory>
#include <string>

#include "mailtrack/adapters/redis_health.hpp"
#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/redis_settings.hpp"
#include "mailtrack/sender/rate_limiter.hpp"
#include "mailtrack/sender/sandbox_events.hpp"
#include "mailtrack/sender/sender.hpp"
#include "mailtrack/sender/ses_api.hpp"
#include "mailtrack/store/store.hpp"

namespace mailtrack::app {

// A Sender wired to the configured SES endpoint, paced by the account's maximum send rate
// (SES GetAccount; when that call fails, 1 send/s and a note in `rate_source`). Borrowed
// store and services must outlive it. With `redis` the rate is a budget shared by every sender
// through Redis (adapters::RedisRateLimiter, falling back to rate / redis.fallback_instances while Redis is
// down); without it an in-process token bucket paces this process alone.
struct Sending {
    std::unique_ptr<sender::SesV2Api> ses;
    std::unique_ptr<adapters::RedisHealth> redis_health;  // with a shared (Redis) budget
    std::unique_ptr<sender::RateLimiter> limiter;
    std::unique_ptr<sender::SendIdGenerator> ids;
    std::unique_ptr<sender::Sender> sender;
    std::unique_ptr<sender::SandboxEventPublisher> sandbox;  // when sandbox events are on
    double max_send_rate = 0;
    std::string rate_source;  // "GetAccount" or why the fallback was used
};

// The sender's options from configuration (suppression.soft_bounce_*). Errors
// (ErrorKind::config) name the setting that is out of range.
util::Result<sender::SenderOptions> sender_options(const config::Config& c);

// Turns sandbox events on for `sending` (sending.sandbox_engagement read here): every accepted
// send publishes the mailbox simulator's events to sns.events_topic_arn. Errors (ErrorKind::config)
// when that setting is empty or not a topic ARN.
util::Result<void> enable_sandbox_events(Sending& sending, AwsServices& aws, const config::Config& c);

Sending make_sending(store::Store& store, AwsServices& aws, std::uint64_t seed, sender::SenderOptions options = {},
                     const std::optional<RedisSettings>& redis = std::nullopt);

}  // namespace mailtrack::app
