#include "mailtrack/adapters/sqs_queue_client.hpp"

#include "mailtrack/aws/retry.hpp"

namespace mailtrack::adapters {
namespace {

using worker::QueueErrorKind;

bool is_missing_queue(std::string_view code) {
    return code == "AWS.SimpleQueueService.NonExistentQueue" || code == "QueueDoesNotExist" ||
           code == "AWS.SimpleQueueService.QueueDeletedRecently";
}

worker::BatchOutcome to_outcome(const aws::BatchOutcome& o) {
    worker::BatchOutcome out;
    out.failed.reserve(o.failed.size());
    for (const auto& f : o.failed) out.failed.push_back({f.id, f.code, f.message, !f.sender_fault});
    return out;
}

}  // namespace

worker::QueueError to_queue_error(const aws::Error& e) {
    QueueErrorKind kind = QueueErrorKind::internal;
    switch (e.kind) {
        case aws::ErrorKind::timeout: kind = QueueErrorKind::timeout; break;
        case aws::ErrorKind::connection: kind = QueueErrorKind::connection; break;
        case aws::ErrorKind::throttled: kind = QueueErrorKind::throttled; break;
        case aws::ErrorKind::auth: kind = QueueErrorKind::auth; break;
        case aws::ErrorKind::server: kind = QueueErrorKind::http_status; break;
        case aws::ErrorKind::client:
            kind = is_missing_queue(e.code) ? QueueErrorKind::queue_missing : QueueErrorKind::invalid_request;
            break;
        case aws::ErrorKind::parse: kind = QueueErrorKind::parse; break;
        case aws::ErrorKind::cancelled: kind = QueueErrorKind::internal; break;
    }
    return worker::QueueError{kind, aws::is_retryable(e), e.http_status, e.code, e.request_id, e.message};
}

worker::QueueResult<std::vector<worker::QueueMessage>> SqsQueueClient::receive(
    std::string_view queue_url, int max_messages, std::chrono::seconds wait, std::chrono::seconds visibility_timeout) {
    std::vector<worker::QueueMessage> out;
    if (m_interrupted.is_set()) return out;
    aws::ReceiveMessageRequest req;
    req.queue_url = std::string(queue_url);
    req.max_messages = max_messages;
    req.wait_seconds = static_cast<int>(wait.count());
    req.visibility_timeout = static_cast<int>(visibility_timeout.count());
    req.message_attribute_names.clear();  // the worker reads only the body and system attributes
    req.cancel = &m_interrupted;
    auto r = m_sqs.receive_message(req);
    if (!r) {
        if (r.error().kind == aws::ErrorKind::cancelled) return out;
        return util::Unexpected(to_queue_error(r.error()));
    }
    out.reserve(r->size());
    for (auto& m : *r) {
        worker::QueueMessage q;
        q.approximate_receive_count = m.receive_count().value_or(1);
        q.sent_timestamp = m.sent_timestamp().value_or(0);
        q.message_id = std::move(m.message_id);
        q.receipt_handle = std::move(m.receipt_handle);
        q.body = std::move(m.body);
        out.push_back(std::move(q));
    }
    return out;
}

worker::QueueResult<worker::BatchOutcome> SqsQueueClient::delete_batch(
    std::string_view queue_url, const std::vector<worker::DeleteEntry>& entries) {
    std::vector<aws::DeleteEntry> req;
    req.reserve(entries.size());
    for (const auto& e : entries) req.push_back({e.id, e.receipt_handle});
    auto r = m_sqs.delete_message_batch(std::string(queue_url), req);
    if (!r) return util::Unexpected(to_queue_error(r.error()));
    return to_outcome(*r);
}

worker::QueueResult<worker::BatchOutcome> SqsQueueClient::change_visibility_batch(
    std::string_view queue_url, const std::vector<worker::VisibilityEntry>& entries) {
    std::vector<aws::VisibilityEntry> req;
    req.reserve(entries.size());
    for (const auto& e : entries) {
        req.push_back({e.id, e.receipt_handle, static_cast<int>(e.visibility_timeout.count())});
    }
    auto r = m_sqs.change_message_visibility_batch(std::string(queue_url), req);
    if (!r) return util::Unexpected(to_queue_error(r.error()));
    return to_outcome(*r);
}

worker::QueueResult<std::string> SqsQueueClient::send(std::string_view queue_url, std::string_view body,
                                                      const std::vector<worker::MessageAttribute>& attributes) {
    aws::SendMessageRequest req;
    req.queue_url = std::string(queue_url);
    req.body = std::string(body);
    for (const auto& a : attributes) req.attributes[a.name] = aws::MessageAttribute{"String", a.value, {}};
    auto r = m_sqs.send_message(req);
    if (!r) return util::Unexpected(to_queue_error(r.error()));
    return std::move(r->message_id);
}

void SqsQueueClient::interrupt_receives() noexcept {
    m_interrupted.set();
}

}  // namespace mailtrack::adapters
