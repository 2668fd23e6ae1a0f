# Third-party dependencies, all from Debian 12 packages (scripts/bootstrap.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(simdjson REQUIRED)
find_package(fmt REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
# Sending (issue 5): raw MIME is built by GMime, never by hand.
pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
