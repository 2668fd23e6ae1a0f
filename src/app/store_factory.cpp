#include "mailtrack/app/store_factory.hpp"

#include <zstd.h>

#include <memory>

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/secrets.hpp"
#include "mailtrack/aws/secretsmanager.hpp"
#include "mailtrack/store/mysql_store.hpp"
#include "mailtrack/store/sqlite_store.hpp"

namespace mailtrack::app {
namespace {

// zstd clamps a level outside its range without a word (99 would silently become 22, a level
// that compresses at a few MB/s), so a typo is refused here instead.
util::Result<int> archive_zstd_level(const config::Config& config) {
    const std::int64_t level = config.integer("store.archive_zstd_level");
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        return util::fail(util::ErrorKind::config,
                          "store.archive_zstd_level must be " + std::to_string(ZSTD_minCLevel()) + ".." +
                              std::to_string(ZSTD_maxCLevel()) + " (zstd's levels), got " + std::to_string(level));
    }
    return static_cast<int>(level);
}

util::Result<std::unique_ptr<store::Store>> open_mysql(const config::Config& config, const aws::Environment& env) {
    const std::string& url = config.text("store.mysql_url");
    if (url.empty()) {
        return util::fail(util::ErrorKind::config,
                          "store.mysql_url is required with store.backend = \"mysql\" "
                          "(mysql://user@host:3306/database?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem)");
    }
    auto options = store::parse_mysql_url(url);
    if (!options) return util::Unexpected(std::move(options).error());
    auto level = archive_zstd_level(config);
    if (!level) return util::Unexpected(std::move(level).error());
    options->archive_zstd_level = *level;
    options->create_database = config.boolean("store.mysql_create_database");

    // Secrets Manager is only reached when the secret is the source in use.
    const SecretFetcher fetch = secrets_manager_fetcher(config, env);
    auto secret = resolve_secret(SecretSources{"the MySQL password", "MAILTRACK_MYSQL_PASSWORD",
                                               config.text("store.mysql_password_file"),
                                               config.text("store.mysql_secret_arn")},
                                 env, fetch);
    if (!secret) return util::Unexpected(std::move(secret).error());
    if (*secret) {
        options->password = std::move((*secret)->password);
        if (options->user.empty()) options->user = (*secret)->username;
        // A refused password is read again from the same sources: RDS rotates the secret of
        // a managed master password (every 7 days by default) under running processes.
        const SecretSources sources{"the MySQL password", "MAILTRACK_MYSQL_PASSWORD",
                                    config.text("store.mysql_password_file"), config.text("store.mysql_secret_arn")};
        // The store outlives this call: the lambda keeps its own copies of the settings.
        auto settings = std::make_shared<const config::Config>(config);
        auto environment = std::make_shared<const aws::Environment>(env);
        options->refresh_password = [sources, settings, environment]() -> util::Result<std::string> {
            auto again = resolve_secret(sources, *environment, secrets_manager_fetcher(*settings, *environment));
            if (!again) return util::Unexpected(std::move(again).error());
            if (!*again) return util::fail(util::ErrorKind::config, "the MySQL password is no longer set");
            return std::move((*again)->password);
        };
    }
    if (options->user.empty()) {
        return util::fail(util::ErrorKind::config,
                          "store.mysql_url names no user (mysql://USER@host/db) and no secret supplied one");
    }
    auto s = store::MysqlStore::open(*options);
    if (!s) return util::Unexpected(std::move(s).error());
    return std::unique_ptr<store::Store>(std::move(*s));
}

}  // namespace

util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config) {
    return open_store(config, aws::process_environment());
}

util::Result<std::unique_ptr<store::Store>> open_store(const config::Config& config, const aws::Environment& env) {
    const std::string& backend = config.text("store.backend");
    if (backend == "sqlite") {
        store::SqliteOptions options;
        options.path = config.text("store.sqlite_path");
        options.busy_timeout_ms = static_cast<int>(config.integer("store.sqlite_busy_timeout_ms"));
        auto level = archive_zstd_level(config);
        if (!level) return util::Unexpected(std::move(level).error());
        options.archive_zstd_level = *level;
        options.cache_kib = static_cast<int>(config.integer("store.sqlite_cache_kib"));
        const std::string& sync = config.text("store.sqlite_synchronous");
        if (sync == "full") {
            options.synchronous = store::SqliteSync::full;
        } else if (sync == "normal") {
            options.synchronous = store::SqliteSync::normal;
        } else {
            return util::fail(util::ErrorKind::config,
                              "store.sqlite_synchronous: \"" + sync + "\" is not full or normal");
        }
        auto s = store::SqliteStore::open(options);
        if (!s) return util::Unexpected(std::move(s).error());
        return std::unique_ptr<store::Store>(std::move(*s));
    }
    if (backend == "mysql") return open_mysql(config, env);
    return util::fail(util::ErrorKind::config, "store.backend: unknown backend \"" + backend + "\" (known: sqlite, mysql)");
}

}  // namespace mailtrack::app
