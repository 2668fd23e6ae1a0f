#include "memory_queue.hpp"

#include <algorithm>

namespace mailtrack::worker::test {

MemoryQueue::MemoryQueue(util::Clock& clock, std::uint32_t seed, std::chrono::milliseconds max_real_wait)
    : m_clock(clock), m_max_real_wait(max_real_wait), m_random(seed) {}

void MemoryQueue::create_queue(const std::string& url) {
    std::lock_guard lock(m_mutex);
    m_queues[url];
}

std::string MemoryQueue::publish(const std::string& url, const std::string& body) {
    auto id = send(url, body, {});
    return id ? *id : std::string();
}

MemoryQueue::Queue* MemoryQueue::find(std::string_view url) {
    const auto it = m_queues.find(url);
    return it == m_queues.end() ? nullptr : &it->second;
}

const MemoryQueue::Queue* MemoryQueue::find(std::string_view url) const {
    const auto it = m_queues.find(url);
    return it == m_queues.end() ? nullptr : &it->second;
}

std::size_t MemoryQueue::in_flight_locked(const Queue& q) const {
    const auto now = m_clock.now_millis();
    return static_cast<std::size_t>(
        std::count_if(q.messages.begin(), q.messages.end(), [&](const auto& m) { return m.second.visible_at > now; }));
}

namespace {
QueueError missing(std::string_view url) {
    return QueueError{QueueErrorKind::queue_missing, false, 400, "AWS.SimpleQueueService.NonExistentQueue", "req-1",
                      "no queue " + std::string(url)};
}
}  // namespace

QueueResult<std::vector<QueueMessage>> MemoryQueue::receive(std::string_view queue_url, int max_messages,
                                                            std::chrono::seconds wait,
                                                            std::chrono::seconds visibility_timeout) {
    std::unique_lock lock(m_mutex);
    ++m_calls["receive"];
    if (m_failing_receives > 0) {
        --m_failing_receives;
        return util::Unexpected(m_receive_error);
    }
    if (find(queue_url) == nullptr) return util::Unexpected(missing(queue_url));
    const auto deadline = m_clock.now_millis() + std::chrono::milliseconds(wait).count();
    const auto interrupts = m_interrupts;
    const auto real_deadline = std::chrono::steady_clock::now() + m_max_real_wait;
    for (;;) {
        Queue& q = *find(queue_url);
        const auto now = m_clock.now_millis();
        std::vector<StoredMessage*> ready;
        for (auto& [id, m] : q.messages) {
            if (m.visible_at <= now) ready.push_back(&m);
        }
        if (!ready.empty()) {
            // SQS standard queues give no order; sample like it does.
            std::shuffle(ready.begin(), ready.end(), m_random);
            ready.resize(std::min(ready.size(), static_cast<std::size_t>(max_messages)));
            std::vector<QueueMessage> out;
            for (StoredMessage* m : ready) {
                ++m->receive_count;
                m->visible_at = now + std::chrono::milliseconds(visibility_timeout).count();
                m->receipt_handle = m->message_id + "#" + std::to_string(m->receive_count);
                out.push_back({m->message_id, m->receipt_handle, m->body, m->receive_count, m->sent_at});
            }
            q.max_in_flight_seen = std::max(q.max_in_flight_seen, in_flight_locked(q));
            return out;
        }
        if (now >= deadline || m_interrupts != interrupts || std::chrono::steady_clock::now() >= real_deadline) {
            return std::vector<QueueMessage>{};
        }
        m_cv.wait_for(lock, std::chrono::milliseconds(1));
    }
}

QueueResult<BatchOutcome> MemoryQueue::delete_batch(std::string_view queue_url,
                                                    const std::vector<DeleteEntry>& entries) {
    std::lock_guard lock(m_mutex);
    ++m_calls["delete_batch"];
    if (m_failing_delete_calls > 0) {
        --m_failing_delete_calls;
        return util::Unexpected(m_delete_error);
    }
    Queue* q = find(queue_url);
    if (q == nullptr) return util::Unexpected(missing(queue_url));
    if (entries.empty() || entries.size() > static_cast<std::size_t>(k_max_batch)) {
        return util::Unexpected(QueueError{QueueErrorKind::invalid_request, false, 400,
                                           "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "", "bad batch"});
    }
    BatchOutcome out;
    for (const auto& e : entries) {
        if (m_refuse_deletes) {
            out.failed.push_back({e.id, "ReceiptHandleIsInvalid", "refused", false});
            continue;
        }
        if (m_failing_delete_entries > 0) {
            --m_failing_delete_entries;
            out.failed.push_back({e.id, "InternalError", "injected", true});
            continue;
        }
        const auto hash = e.receipt_handle.rfind('#');
        const auto it = q->messages.find(e.receipt_handle.substr(0, hash));
        if (it == q->messages.end() || it->second.receipt_handle != e.receipt_handle) {
            out.failed.push_back({e.id, "ReceiptHandleIsInvalid", "stale receipt handle", false});
            continue;
        }
        q->messages.erase(it);
    }
    return out;
}

QueueResult<BatchOutcome> MemoryQueue::change_visibility_batch(std::string_view queue_url,
                                                               const std::vector<VisibilityEntry>& entries) {
    std::lock_guard lock(m_mutex);
    ++m_calls["change_visibility_batch"];
    Queue* q = find(queue_url);
    if (q == nullptr) return util::Unexpected(missing(queue_url));
    const auto now = m_clock.now_millis();
    BatchOutcome out;
    for (const auto& e : entries) {
        const auto hash = e.receipt_handle.rfind('#');
        const auto it = q->messages.find(e.receipt_handle.substr(0, hash));
        if (it == q->messages.end() || it->second.receipt_handle != e.receipt_handle) {
            out.failed.push_back({e.id, "ReceiptHandleIsInvalid", "stale receipt handle", false});
            continue;
        }
        if (it->second.visible_at <= now) {
            out.failed.push_back({e.id, "AWS.SimpleQueueService.MessageNotInflight", "not in flight", false});
            continue;
        }
        it->second.visible_at = now + std::chrono::milliseconds(e.visibility_timeout).count();
        ++m_visibility_changes;
    }
    m_cv.notify_all();
    return out;
}

QueueResult<std::string> MemoryQueue::send(std::string_view queue_url, std::string_view body,
                                           const std::vector<MessageAttribute>& attributes) {
    std::lock_guard lock(m_mutex);
    ++m_calls["send"];
    Queue* q = find(queue_url);
    if (q == nullptr) return util::Unexpected(missing(queue_url));
    StoredMessage m;
    m.message_id = "msg-" + std::to_string(m_next_id++);
    m.body = std::string(body);
    m.attributes = attributes;
    m.sent_at = m_clock.now_millis();
    m.visible_at = m.sent_at;
    const std::string id = m.message_id;
    q->messages.emplace(id, std::move(m));
    m_cv.notify_all();
    return id;
}

void MemoryQueue::interrupt_receives() noexcept {
    std::lock_guard lock(m_mutex);
    ++m_interrupts;
    m_cv.notify_all();
}

void MemoryQueue::fail_receives(int calls, QueueError error) {
    std::lock_guard lock(m_mutex);
    m_failing_receives = calls;
    m_receive_error = std::move(error);
}

void MemoryQueue::fail_delete_calls(int calls, QueueError error) {
    std::lock_guard lock(m_mutex);
    m_failing_delete_calls = calls;
    m_delete_error = std::move(error);
}

void MemoryQueue::fail_delete_entries(int entries) {
    std::lock_guard lock(m_mutex);
    m_failing_delete_entries = entries;
}

void MemoryQueue::refuse_deletes(bool refuse) {
    std::lock_guard lock(m_mutex);
    m_refuse_deletes = refuse;
}

std::size_t MemoryQueue::size(const std::string& url) const {
    std::lock_guard lock(m_mutex);
    const Queue* q = find(url);
    return q == nullptr ? 0 : q->messages.size();
}

std::size_t MemoryQueue::visible(const std::string& url) const {
    std::lock_guard lock(m_mutex);
    const Queue* q = find(url);
    return q == nullptr ? 0 : q->messages.size() - in_flight_locked(*q);
}

std::size_t MemoryQueue::in_flight(const std::string& url) const {
    std::lock_guard lock(m_mutex);
    const Queue* q = find(url);
    return q == nullptr ? 0 : in_flight_locked(*q);
}

std::size_t MemoryQueue::max_in_flight_seen(const std::string& url) const {
    std::lock_guard lock(m_mutex);
    const Queue* q = find(url);
    return q == nullptr ? 0 : q->max_in_flight_seen;
}

std::vector<StoredMessage> MemoryQueue::messages(const std::string& url) const {
    std::lock_guard lock(m_mutex);
    std::vector<StoredMessage> out;
    if (const Queue* q = find(url)) {
        for (const auto& [id, m] : q->messages) out.push_back(m);
    }
    return out;
}

std::int64_t MemoryQueue::calls(std::string_view operation) const {
    std::lock_guard lock(m_mutex);
    const auto it = m_calls.find(operation);
    return it == m_calls.end() ? 0 : it->second;
}

std::int64_t MemoryQueue::visibility_changes() const {
    std::lock_guard lock(m_mutex);
    return m_visibility_changes;
}

}  // namespace mailtrack::worker::test
