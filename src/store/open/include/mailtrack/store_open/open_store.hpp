#pragma once

// Opening a store by URL: the scheme chooses the backend. Callers get the Store interface; the
// backends' classes stay behind this factory.

#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "mailtrack/store/mysql_options.hpp"
#include "mailtrack/store/open_mode.hpp"
#include "mailtrack/store/sqlite_options.hpp"
#include "mailtrack/store/store.hpp"

namespace mailtrack::store {

// A backend and its options, as a URL names them; the caller may adjust the options (settings
// that a URL does not carry, a password) before open_store.
using StoreTarget = std::variant<SqliteOptions, MysqlOptions>;

// The URL schemes:
//   sqlite:PATH   the SQLite file PATH, taken verbatim: relative (sqlite:mailtrack.db), absolute
//                 (sqlite:/var/lib/mailtrack/mailtrack.db) or sqlite::memory:. `sqlite://...` is
//                 refused: whether `sqlite://a/b` means "a/b" or "/a/b" differs between tools,
//                 so the error shows the accepted form instead of guessing.
//   mysql://...   see parse_mysql_url (no password in the URL).
// Errors: ErrorKind::config naming what is wrong (an unknown scheme lists the known ones).
util::Result<StoreTarget> parse_store_url(std::string_view url);

// Opens (and migrates) the store a target names, with its options as they are.
// Errors: those of SqliteStore::open / MysqlStore::open; with OpenMode::must_exist a missing
// database is ErrorKind::not_found and nothing is created.
util::Result<std::unique_ptr<Store>> open_store(const StoreTarget& target);
// parse_store_url, then open_store with `mode`.
util::Result<std::unique_ptr<Store>> open_store(std::string_view url, OpenMode mode = OpenMode::create_if_missing);

// Sets the open mode of whichever backend the target names.
void set_mode(StoreTarget& target, OpenMode mode);

// The database a target names, for messages: "the SQLite database mailtrack.db",
// "the MySQL database mailtrack on db.example:3306".
std::string describe(const StoreTarget& target);

}  // namespace mailtrack::store
