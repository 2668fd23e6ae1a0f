#pragma once

#include "mailtrack/config/config.hpp"
#include "mailtrack/http/server.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::app {

// The HTTP server's options from the `server.*` settings. Errors (ErrorKind::config) name the
// setting that is out of range.
util::Result<http::ServerOptions> server_options(const config::Config& config);

// Whether an address is a loopback one (127.0.0.0/8, ::1, "localhost").
bool is_loopback_address(const std::string& address);

}  // namespace mailtrack::app
