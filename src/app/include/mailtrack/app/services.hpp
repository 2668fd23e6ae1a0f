#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/redis_settings.hpp"
#include "mailtrack/app/sending.hpp"
#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/store/open_mode.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::app {

// The composition root: what a process builds from its configuration -- the store (behind
// Redis when redis.url is set), the AWS clients, the sender -- each built once, on first use,
// and owned here, so a command or (next) an HTTP handler asks for what it needs instead of
// wiring it. Errors name what is wrong (the setting, the database); a part that failed is tried
// again by the next call. Not thread-safe while building; what it hands out is as thread-safe as each
// part says (the AWS clients are, a Store is not).
class Services {
public:
    explicit Services(config::Config config, aws::Environment env = aws::process_environment());
    ~Services();
    Services(const Services&) = delete;
    Services& operator=(const Services&) = delete;

    const config::Config& config() const { return m_config; }
    const config::Settings& settings() const { return m_config.typed(); }

    // The configured store. The first call's mode counts: OpenMode::must_exist for the read
    // commands, which never create a database.
    util::Result<store::Store*> store(store::OpenMode mode = store::OpenMode::create_if_missing);
    util::Result<AwsServices*> aws();
    // redis.* when redis.url is set (its password resolved), else nullopt.
    util::Result<const std::optional<RedisSettings>*> redis();
    // The sender over store() and aws(): paced by GetAccount's max send rate (through Redis with
    // redis.url), sandbox events on with sending.sandbox_events.
    util::Result<Sending*> sending();

private:
    config::Config m_config;
    aws::Environment m_env;
    util::SystemClock m_clock;
    std::optional<std::optional<RedisSettings>> m_redis;
    std::unique_ptr<AwsServices> m_aws;
    std::unique_ptr<store::Store> m_store;
    std::unique_ptr<Sending> m_sending;
};

}  // namespace mailtrack::app
