#include "mailtrack/store/mysql_store.hpp"

#include <mysqld_error.h>

#include "mailtrack/util/log.hpp"

#include "mysql_db.hpp"

// Opening: the client library, the first connection, the database, migrations and the
// durability check.

namespace mailtrack::store {

using util::ErrorKind;
using util::Result;

namespace {

// The worker deletes SQS messages once their batch commits: a server that does not flush its
// redo log at each commit, or (with the binary log on) does not sync the binary log at each
// commit, can lose those commits in a crash. Said once, at open; a server without the
// variables (not InnoDB) is not refused for it.
std::optional<std::string> check_durability(Connection& c) {
    auto vars = c.select("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit, @@GLOBAL.log_bin, @@GLOBAL.sync_binlog",
                         "reading the commit durability settings");
    if (!vars) {
        util::log::info("mysql: commit durability not checked", {{"error", vars.error().describe()}});
        return std::nullopt;
    }
    if (!vars->next()) return std::nullopt;
    const std::int64_t flush = vars->int64();
    const std::int64_t log_bin = vars->int64();
    const std::int64_t sync_binlog = vars->int64();
    std::string why;
    if (flush != 1) why = "innodb_flush_log_at_trx_commit is " + std::to_string(flush) + ", not 1";
    if (log_bin != 0 && sync_binlog != 1) {
        why += (why.empty() ? "" : "; ") + std::string("sync_binlog is ") + std::to_string(sync_binlog) +
               ", not 1, with the binary log on";
    }
    if (why.empty()) return std::nullopt;
    std::string warning = why +
                          ": a server crash or power loss can lose committed events whose SQS "
                          "messages the worker has already deleted";
    util::log::warn("mysql: commits are not durable", {{"detail", warning}});
    return warning;
}

Result<void> use_database(Connection& c, const MysqlOptions& options) {
    const bool create = options.mode == OpenMode::create_if_missing;
    if (create && options.create_database) {
        MAILTRACK_TRY(c.exec("CREATE DATABASE IF NOT EXISTS `" + options.database + "`", "creating the database"));
    }
    auto used = c.exec("USE `" + options.database + "`", "selecting database " + options.database);
    if (!used && !create && c.last_errno == ER_BAD_DB_ERROR) {
        return util::fail(ErrorKind::not_found, "mysql: no database '" + options.database + "' on " + options.host +
                                                    ":" + std::to_string(options.port));
    }
    return used;
}

}  // namespace

MysqlStore::MysqlStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
MysqlStore::~MysqlStore() = default;

int MysqlStore::schema_version() const {
    return m_impl->version;
}
const std::optional<std::string>& MysqlStore::durability_warning() const {
    return m_impl->durability_warning;
}
std::int64_t MysqlStore::transaction_retries() const {
    return m_impl->retries.load(std::memory_order_relaxed);
}

Result<std::unique_ptr<MysqlStore>> MysqlStore::open(const MysqlOptions& options) {
    // mysql_library_init is not thread-safe; the first open makes it happen once.
    static const bool k_library = mysql_library_init(0, nullptr, nullptr) == 0;
    if (!k_library) return util::fail(ErrorKind::internal, "mysql: the client library failed to initialize");
    if (options.pool_size < 1) return util::fail(ErrorKind::config, "mysql: pool size must be at least 1");
    if (options.database.empty() || options.database.find('`') != std::string::npos) {
        return util::fail(ErrorKind::config, "mysql: invalid database name '" + options.database + "'");
    }
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->build_statements();
    MAILTRACK_TRY_ASSIGN(std::unique_ptr<Connection> c, impl->connect(false));
    MAILTRACK_TRY(use_database(*c, options));
    MAILTRACK_TRY(impl->migrate(*c));
    impl->durability_warning = check_durability(*c);
    {
        std::lock_guard lock(impl->mutex);
        impl->idle.push_back(std::move(c));
        impl->open_connections = 1;
    }
    return std::unique_ptr<MysqlStore>(new MysqlStore(std::move(impl)));
}

}  // namespace mailtrack::store
