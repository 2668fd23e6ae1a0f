#include "mailtrack/app/store_factory.hpp"

#include <zstd.h>

#include <memory>

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/secrets.hpp"
#include "mailtrack/aws/secretsmanager.hpp"
#include "mailtrack/util/expected.hpp"

namespace mailtrack::app {
namespace {

// zstd clamps a level outside its range without a word (99 would silently become 22, a level
// that compresses at a few MB/s), so a typo is refused here instead.
util::Result<int> archive_zstd_level(const config::Config& config) {
    const std::int64_t level = config.typed().store.archive_zstd_level;
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        return util::fail(util::ErrorKind::config,
                          "store.archive_zstd_level must be " + std::to_string(ZSTD_minCLevel()) + ".." +
                              std::to_string(ZSTD_maxCLevel()) + " (zstd's levels), got " + std::to_string(level));
    }
    return static_cast<int>(level);
}

util::Result<store::SqliteOptions> sqlite_options(const config::Config& config) {
    store::SqliteOptions options;
    options.path = config.typed().store.sqlite_path;
    options.busy_timeout_ms = static_cast<int>(config.typed().store.sqlite_busy_timeout_ms);
    MAILTRACK_TRY_ASSIGN(options.archive_zstd_level, archive_zstd_level(config));
    options.cache_kib = static_cast<int>(config.typed().store.sqlite_cache_kib);
    const std::string& sync = config.typed().store.sqlite_synchronous;
    if (sync == "full") {
        options.synchronous = store::SqliteSync::full;
    } else if (sync == "normal") {
        options.synchronous = store::SqliteSync::normal;
    } else {
        return util::fail(util::ErrorKind::config, "store.sqlite_synchronous: \"" + sync + "\" is not full or normal");
    }
    return options;
}

util::Result<store::MysqlOptions> mysql_options(const config::Config& config, const aws::Environment& env) {
    const std::string& url = config.typed().store.mysql_url;
    if (url.empty()) {
        return util::fail(util::ErrorKind::config,
                          "store.mysql_url is required with store.backend = \"mysql\" "
                          "(mysql://user@host:3306/database?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem)");
    }
    MAILTRACK_TRY_ASSIGN(store::MysqlOptions options, store::parse_mysql_url(url));
    MAILTRACK_TRY_ASSIGN(options.archive_zstd_level, archive_zstd_level(config));
    options.create_database = config.typed().store.mysql_create_database;

    // Secrets Manager is only reached when the secret is the source in use.
    const SecretSources sources{"the MySQL password", "MAILTRACK_MYSQL_PASSWORD",
                                config.typed().store.mysql_password_file, config.typed().store.mysql_secret_arn};
    MAILTRACK_TRY_ASSIGN(auto secret, resolve_secret(sources, env, secrets_manager_fetcher(config, env)));
    if (secret) {
        options.password = std::move(secret->password);
        if (options.user.empty()) options.user = secret->username;
        // A refused password is read again from the same sources: RDS rotates the secret of
        // a managed master password (every 7 days by default) under running processes.
        // The store outlives this call: the lambda keeps its own copies of the settings.
        auto settings = std::make_shared<const config::Config>(config);
        auto environment = std::make_shared<const aws::Environment>(env);
        options.refresh_password = [sources, settings, environment]() -> util::Result<std::string> {
            MAILTRACK_TRY_ASSIGN(
                auto again, resolve_secret(sources, *environment, secrets_manager_fetcher(*settings, *environment)));
            if (!again) return util::fail(util::ErrorKind::config, "the MySQL password is no longer set");
            return std::move(again->password);
        };
    }
    if (options.user.empty()) {
        return util::fail(util::ErrorKind::config,
                          "store.mysql_url names no user (mysql://USER@host/db) and no secret supplied one");
    }
    return options;
}

// The setting that names the database of a target, for error messages.
const char* location_setting(const store::StoreTarget& target) {
    return std::holds_alternative<store::SqliteOptions>(target) ? "store.sqlite_path" : "store.mysql_url";
}

}  // namespace

util::Result<store::StoreTarget> store_target(const config::Config& config, const aws::Environment& env) {
    const std::string& backend = config.typed().store.backend;
    if (backend == "sqlite") {
        MAILTRACK_TRY_ASSIGN(store::SqliteOptions options, sqlite_options(config));
        return store::StoreTarget(std::move(options));
    }
    if (backend == "mysql") {
        MAILTRACK_TRY_ASSIGN(store::MysqlOptions options, mysql_options(config, env));
        return store::StoreTarget(std::move(options));
    }
    return util::fail(util::ErrorKind::config,
                      "store.backend: unknown backend \"" + backend + "\" (known: sqlite, mysql)");
}

util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, store::OpenMode mode) {
    return open_store(config, aws::process_environment(), mode);
}

util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, const aws::Environment& env,
                                                       store::OpenMode mode) {
    MAILTRACK_TRY_ASSIGN(store::StoreTarget target, store_target(config, env));
    store::set_mode(target, mode);
    auto opened = store::open_store(target);
    if (!opened && opened.error().kind == util::ErrorKind::not_found) {
        return util::fail(util::ErrorKind::not_found, store::describe(target) + " does not exist (" +
                                                          location_setting(target) + "); nothing was created");
    }
    return opened;
}

std::string store_description(const config::Config& config) {
    if (config.typed().store.backend == "mysql") {
        const std::string& url = config.typed().store.mysql_url;
        auto options = store::parse_mysql_url(url);
        return options ? store::describe(store::StoreTarget(std::move(*options))) : "the MySQL database at " + url;
    }
    store::SqliteOptions options;
    options.path = config.typed().store.sqlite_path;
    return store::describe(store::StoreTarget(std::move(options)));
}

}  // namespace mailtrack::app
