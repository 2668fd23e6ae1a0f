#pragma once

#include <memory>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::app {

// Opens the store the configuration names (store.backend and its settings). For the mysql
// backend the password comes from MAILTRACK_MYSQL_PASSWORD, else store.mysql_password_file,
// else the Secrets Manager secret store.mysql_secret_arn (see resolve_secret); `env` is where
// the variable is looked up (the process environment when not given).
util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config);
util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, const aws::Environment& env);

}  // namespace mailtrack::app
