#pragma once

#include <memory>
#include <optional>

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/redis_services.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/store/open_mode.hpp"
#include "mailtrack/store/store.hpp"

#include "command_line.hpp"

namespace mailtrack::cli {

// What commands are built from; each throws CommandError naming what is wrong.

// The configuration: --config (or MAILTRACK_CONFIG), MAILTRACK_* variables, --set, --db and the
// log flags; configures logging.
config::Config load_config(const GlobalOptions& g);

// The configured store; with redis.url set, behind Redis (status cache, shared idempotency
// keys). OpenMode::must_exist for the read-only commands: a database that is not there is an
// error naming it, never a new empty one.
std::unique_ptr<store::Store> open_store(const config::Config& c,
                                         store::OpenMode mode = store::OpenMode::create_if_missing);

// The AWS clients (region, endpoints, credentials chain) the configuration names.
std::unique_ptr<app::AwsServices> open_aws(const config::Config& c);

// redis.* when redis.url is set.
std::optional<app::RedisSettings> redis_settings(const config::Config& c);

}  // namespace mailtrack::cli
