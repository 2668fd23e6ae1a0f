#include "mailtrack/worker/queue_client.hpp"

namespace mailtrack::worker {

std::string_view to_string(QueueErrorKind kind) noexcept {
    switch (kind) {
        case QueueErrorKind::timeout: return "timeout";
        case QueueErrorKind::connection: return "connection";
        case QueueErrorKind::throttled: return "throttled";
        case QueueErrorKind::auth: return "auth";
        case QueueErrorKind::http_status: return "http status";
        case QueueErrorKind::parse: return "parse";
        case QueueErrorKind::queue_missing: return "queue missing";
        case QueueErrorKind::invalid_request: return "invalid request";
        case QueueErrorKind::internal: return "internal";
    }
    return "unknown";
}

std::string QueueError::describe() const {
    std::string out(to_string(kind));
    out += ": ";
    out += message;
    if (!aws_code.empty() || !request_id.empty() || http_status != 0) {
        out += " (";
        bool first = true;
        auto part = [&](const std::string& s) {
            if (!first) out += ", ";
            out += s;
            first = false;
        };
        if (http_status != 0) part("http " + std::to_string(http_status));
        if (!aws_code.empty()) part(aws_code);
        if (!request_id.empty()) part("request " + request_id);
        out += ")";
    }
    return out;
}

}  // namespace mailtrack::worker
