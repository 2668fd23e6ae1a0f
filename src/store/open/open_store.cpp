#include "mailtrack/store_open/open_store.hpp"

#include "mailtrack/store/mysql_store.hpp"
#include "mailtrack/store/sqlite_store.hpp"
#include "mailtrack/util/expected.hpp"

namespace mailtrack::store {
namespace {

using util::ErrorKind;
using util::Result;

Result<StoreTarget> parse_sqlite(std::string_view url) {
    constexpr std::string_view k_form = "sqlite:PATH (e.g. sqlite:mailtrack.db, sqlite:/var/lib/mailtrack.db)";
    std::string_view path = url.substr(url.find(':') + 1);
    if (path.starts_with("//")) {
        return util::fail(ErrorKind::config,
                          "store URL '" + std::string(url) + "': write " + std::string(k_form) + ", not sqlite://");
    }
    if (path.empty())
        return util::fail(ErrorKind::config, "store URL 'sqlite:' names no file: write " + std::string(k_form));
    SqliteOptions options;
    options.path = std::string(path);
    return StoreTarget(std::move(options));
}

Result<StoreTarget> parse_mysql(std::string_view url) {
    MAILTRACK_TRY_ASSIGN(MysqlOptions options, parse_mysql_url(url));
    return StoreTarget(std::move(options));
}

// The scheme map: a new backend is a row here and an alternative of StoreTarget.
struct Scheme {
    std::string_view prefix;
    Result<StoreTarget> (*parse)(std::string_view url);
};
constexpr Scheme k_schemes[] = {
    {"sqlite:", parse_sqlite},
    {"mysql://", parse_mysql},
};

template <typename S>
Result<std::unique_ptr<Store>> as_store(Result<std::unique_ptr<S>> opened) {
    MAILTRACK_TRY_ASSIGN(std::unique_ptr<S> s, std::move(opened));
    return std::unique_ptr<Store>(std::move(s));
}

}  // namespace

Result<StoreTarget> parse_store_url(std::string_view url) {
    std::string known;
    for (const Scheme& s : k_schemes) {
        if (url.starts_with(s.prefix)) return s.parse(url);
        known += (known.empty() ? "" : ", ") + std::string(s.prefix);
    }
    return util::fail(ErrorKind::config, "store URL '" + std::string(url) + "': unknown scheme (known: " + known + ")");
}

Result<std::unique_ptr<Store>> open_store(const StoreTarget& target) {
    if (const auto* o = std::get_if<SqliteOptions>(&target)) return as_store(SqliteStore::open(*o));
    return as_store(MysqlStore::open(std::get<MysqlOptions>(target)));
}

Result<std::unique_ptr<Store>> open_store(std::string_view url, OpenMode mode) {
    MAILTRACK_TRY_ASSIGN(StoreTarget target, parse_store_url(url));
    set_mode(target, mode);
    return open_store(target);
}

void set_mode(StoreTarget& target, OpenMode mode) {
    std::visit([&](auto& options) { options.mode = mode; }, target);
}

std::string describe(const StoreTarget& target) {
    if (const auto* o = std::get_if<SqliteOptions>(&target)) return "the SQLite database " + o->path;
    const auto& m = std::get<MysqlOptions>(target);
    return "the MySQL database " + m.database + " on " + m.host + ":" + std::to_string(m.port);
}

}  // namespace mailtrack::store
