#pragma once

#include <memory>

#include "mailtrack/config/config.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::app {

// Opens the store the configuration names (store.backend and its settings).
util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config);

}  // namespace mailtrack::app
