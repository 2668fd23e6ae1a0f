#pragma once

#include <memory>
#include <string>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/store/open_mode.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/store_open/open_store.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::app {

// The store the configuration names (store.backend and its settings), not opened yet: the
// backend's options with every store.* setting applied. For the mysql backend the password
// comes from MAILTRACK_MYSQL_PASSWORD, else store.mysql_password_file, else the Secrets Manager
// secret store.mysql_secret_arn (see resolve_secret); `env` is where the variable is looked up.
// Errors: ErrorKind::config naming the setting that is wrong.
util::Result<store::StoreTarget> store_target(const config::Config& config, const aws::Environment& env);

// Opens that store (store::open_store). With OpenMode::must_exist (the read commands: status,
// list, stats) a database that is not there is ErrorKind::not_found naming it and the setting,
// and nothing is created. `env` is the process environment when not given.
util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config,
                                                       store::OpenMode mode = store::OpenMode::create_if_missing);
util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, const aws::Environment& env,
                                                       store::OpenMode mode = store::OpenMode::create_if_missing);

// The database the configuration names, for messages ("no message with id X in <this>"):
// "the SQLite database mailtrack.db" or "the MySQL database mailtrack on db.example:3306".
// Never fails and reads no secret; an unparsable store.mysql_url is shown as it is.
std::string store_description(const config::Config& config);

}  // namespace mailtrack::app
