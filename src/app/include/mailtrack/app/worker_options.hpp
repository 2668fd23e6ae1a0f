#pragma once

#include "mailtrack/config/config.hpp"
#include "mailtrack/util/error.hpp"
#include "mailtrack/worker/worker.hpp"

namespace mailtrack::app {

// The worker's options from the `worker.*` settings (and ingest.max_document_bytes).
// Errors (ErrorKind::config) name the setting that is out of range.
util::Result<worker::WorkerOptions> worker_options(const config::Config& config);

}  // namespace mailtrack::app
