#include "mailtrack/aws/error.hpp"

namespace mailtrack::aws {

std::string_view to_string(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::timeout: return "timeout";
        case ErrorKind::connection: return "connection";
        case ErrorKind::throttled: return "throttled";
        case ErrorKind::auth: return "auth";
        case ErrorKind::client: return "client";
        case ErrorKind::server: return "server";
        case ErrorKind::parse: return "parse";
        case ErrorKind::cancelled: return "cancelled";
    }
    return "?";
}

bool outcome_unknown(const Error& e) noexcept {
    switch (e.kind) {
        case ErrorKind::timeout:
        case ErrorKind::connection:
        case ErrorKind::cancelled: return !e.request_not_sent;
        case ErrorKind::server: return true;
        case ErrorKind::throttled:
        case ErrorKind::auth:
        case ErrorKind::client:
        case ErrorKind::parse: return false;
    }
    return true;
}

std::string Error::describe() const {
    std::string out(to_string(kind));
    out += ":";
    if (http_status != 0) out += " HTTP " + std::to_string(http_status);
    if (!code.empty()) out += " " + code;
    if (!message.empty()) out += (http_status != 0 || !code.empty() ? ": " : " ") + message;
    if (!request_id.empty()) out += " (request id " + request_id + ")";
    return out;
}

util::Error to_util_error(const Error& e) {
    util::ErrorKind k = util::ErrorKind::internal;
    switch (e.kind) {
        case ErrorKind::timeout:
        case ErrorKind::connection:
        case ErrorKind::throttled:
        case ErrorKind::server: k = util::ErrorKind::io; break;
        case ErrorKind::auth: k = util::ErrorKind::config; break;
        case ErrorKind::client:
            k = e.http_status == 404 ? util::ErrorKind::not_found : util::ErrorKind::invalid_input;
            break;
        case ErrorKind::parse:
        case ErrorKind::cancelled: k = util::ErrorKind::internal; break;
    }
    return util::Error{k, "AWS " + e.describe()};
}

}  // namespace mailtrack::aws
