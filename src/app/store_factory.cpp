#include "mailtrack/app/store_factory.hpp"

#include "mailtrack/store/sqlite_store.hpp"

namespace mailtrack::app {

util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config) {
    const std::string& backend = config.text("store.backend");
    if (backend == "sqlite") {
        store::SqliteOptions options;
        options.path = config.text("store.sqlite_path");
        options.busy_timeout_ms = static_cast<int>(config.integer("store.sqlite_busy_timeout_ms"));
        options.archive_zstd_level = static_cast<int>(config.integer("store.archive_zstd_level"));
        options.cache_kib = static_cast<int>(config.integer("store.sqlite_cache_kib"));
        auto s = store::SqliteStore::open(options);
        if (!s) return util::Unexpected(std::move(s).error());
        return std::unique_ptr<store::Store>(std::move(*s));
    }
    return util::fail(util::ErrorKind::config, "store.backend: unknown backend \"" + backend + "\" (known: sqlite)");
}

}  // namespace mailtrack::app
