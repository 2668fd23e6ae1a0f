#include <errmsg.h>
#include <mysqld_error.h>

#include "mysql_db.hpp"

// What a server or client error number means for the caller, and running one statement.

namespace mailtrack::store {

using util::ErrorKind;
using util::Result;

bool connection_lost(unsigned e) {
    switch (e) {
        case CR_CONNECTION_ERROR:
        case CR_CONN_HOST_ERROR:
        case CR_SERVER_GONE_ERROR:
        case CR_SERVER_LOST:
        case CR_UNKNOWN_HOST:
        case 2055:  // CR_SERVER_LOST_EXTENDED
        case 1927:  // ER_CONNECTION_KILLED
        case ER_SERVER_SHUTDOWN:
        case 4031:  // MySQL 8: disconnected by the server because of inactivity
            return true;
        default: return false;
    }
}

// 1062 happens only where a concurrent writer inserted the same unique key first
// (begin_send's idempotency key).
bool retryable(unsigned e) {
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT || e == ER_DUP_ENTRY;
}

ErrorKind mysql_kind_of(unsigned e) {
    if (connection_lost(e) || retryable(e)) return ErrorKind::storage_unavailable;
    switch (e) {
        case ER_CON_COUNT_ERROR:
        case 1203:                          // ER_TOO_MANY_USER_CONNECTIONS
        case ER_OPTION_PREVENTS_STATEMENT:  // --read-only: a replica, or the old primary during a failover
        case 1836:                          // ER_READ_ONLY_MODE
        case ER_RECORD_FILE_FULL:
        case ER_DISK_FULL:
        case 1047:  // ER_UNKNOWN_COM_ERROR (Galera node not ready)
            return ErrorKind::storage_unavailable;
        default: return ErrorKind::storage;
    }
}

util::Unexpected<util::Error> Connection::fail(std::string_view doing) {
    last_errno = mysql_errno(db);
    return util::fail(mysql_kind_of(last_errno), "mysql: " + std::string(doing) + ": " + mysql_error(db) + " (error " +
                                                     std::to_string(last_errno) + ")");
}

Result<void> Connection::exec(std::string_view sql, std::string_view doing) {
    if (mysql_real_query(db, sql.data(), sql.size()) != 0) return fail(doing);
    // A statement that returns rows where none were expected: drain them.
    if (MYSQL_RES* res = mysql_store_result(db))
        mysql_free_result(res);
    else if (mysql_field_count(db) != 0)
        return fail(doing);
    return {};
}

Result<Rows> Connection::select(std::string_view sql, std::string_view doing) {
    if (mysql_real_query(db, sql.data(), sql.size()) != 0) return fail(doing);
    MYSQL_RES* res = mysql_store_result(db);
    if (res == nullptr && mysql_field_count(db) != 0) return fail(doing);
    return Rows(res);
}

}  // namespace mailtrack::store
