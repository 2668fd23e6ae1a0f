#pragma once

#include <chrono>
#include <string>

#include "mailtrack/redis/client.hpp"

namespace mailtrack::adapters {

// The redis.* settings, as the composition root reads them (app::redis_settings). Redis is
// optional: with an empty redis.url there is none, and every
// user of it falls back to its in-process equivalent.
struct RedisSettings {
    redis::ClientOptions client;
    std::string key_prefix = "mailtrack:";
    int fallback_instances = 1;  // senders sharing the budget; each takes rate / this while Redis is down
    int send_burst = 1;          // sends that may go back to back under the shared rate
    std::chrono::milliseconds cache_ttl{std::chrono::minutes(5)};
    std::chrono::milliseconds idempotency_ttl{std::chrono::hours(24)};
};

}  // namespace mailtrack::adapters
