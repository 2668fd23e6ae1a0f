#pragma once

#include <signal.h>

#include <memory>
#include <optional>

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/redis_settings.hpp"
#include "mailtrack/app/services.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/store/open_mode.hpp"
#include "mailtrack/store/store.hpp"

#include "command_line.hpp"

namespace mailtrack::cli {

// What commands are built from; each throws CommandError naming what is wrong.

// The configuration: --config (or MAILTRACK_CONFIG), MAILTRACK_* variables, --set, --db and the
// log flags; configures logging.
config::Config load_config(const GlobalOptions& g);

// The services the configuration describes (app::Services, built on first use).
std::unique_ptr<app::Services> open_services(const GlobalOptions& g);

// Each part, or a CommandError naming what is wrong (exit 1). The store with
// OpenMode::must_exist for the read-only commands: a database that is not there is an error
// naming it, never a new empty one.
store::Store& require_store(app::Services& s, store::OpenMode mode = store::OpenMode::create_if_missing);
app::AwsServices& require_aws(app::Services& s);
// The sender over the store and the AWS clients; its own settings' errors exit 2.
app::Sending& require_sending(app::Services& s);

// Blocks SIGTERM and SIGINT in the calling thread, which every thread started later inherits,
// and returns them, for this thread to take with sigtimedwait/sigwaitinfo (what they do is not
// async-signal-safe). Call before any thread starts.
sigset_t block_stop_signals();

}  // namespace mailtrack::cli
