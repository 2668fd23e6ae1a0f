#pragma once

// An in-memory QueueClient with Amazon SQS standard-queue semantics, for unit tests:
// visibility timeouts by an injected clock, ApproximateReceiveCount, a fresh receipt handle
// per receive (stale ones are refused), at-least-once redelivery, and injectable failures.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "mailtrack/util/clock.hpp"
#include "mailtrack/worker/queue_client.hpp"

namespace mailtrack::worker::test {

struct StoredMessage {
    std::string message_id;
    std::string body;
    std::vector<MessageAttribute> attributes;
    std::int64_t receive_count = 0;
    util::UnixMillis sent_at = 0;
    util::UnixMillis visible_at = 0;
    std::string receipt_handle;  // of the latest receive
};

class MemoryQueue final : public QueueClient {
public:
    // `max_real_wait` bounds a long poll in real time, so a test whose clock stands still
    // never blocks for WaitTimeSeconds.
    MemoryQueue(util::Clock& clock, std::uint32_t seed,
                std::chrono::milliseconds max_real_wait = std::chrono::milliseconds(20));

    void create_queue(const std::string& url);
    std::string publish(const std::string& url, const std::string& body);

    QueueResult<std::vector<QueueMessage>> receive(std::string_view queue_url, int max_messages,
                                                   std::chrono::seconds wait,
                                                   std::chrono::seconds visibility_timeout) override;
    QueueResult<BatchOutcome> delete_batch(std::string_view queue_url,
                                           const std::vector<DeleteEntry>& entries) override;
    QueueResult<BatchOutcome> change_visibility_batch(std::string_view queue_url,
                                                      const std::vector<VisibilityEntry>& entries) override;
    QueueResult<std::string> send(std::string_view queue_url, std::string_view body,
                                  const std::vector<MessageAttribute>& attributes) override;
    void interrupt_receives() noexcept override;

    // Failure injection. Calls fail with `error`; entries fail with a retryable InternalError.
    void fail_receives(int calls, QueueError error);
    void fail_delete_calls(int calls, QueueError error);
    void fail_delete_entries(int entries);
    // While set, every delete is refused per entry (non-retryable), as after a lost connection.
    void refuse_deletes(bool refuse);

    // Inspection.
    std::size_t size(const std::string& url) const;       // not deleted
    std::size_t visible(const std::string& url) const;    // could be received now
    std::size_t in_flight(const std::string& url) const;  // received and hidden
    std::size_t max_in_flight_seen(const std::string& url) const;
    std::vector<StoredMessage> messages(const std::string& url) const;
    std::int64_t calls(std::string_view operation) const;
    std::int64_t visibility_changes() const;

private:
    struct Queue {
        std::map<std::string, StoredMessage> messages;  // by message id
        std::size_t max_in_flight_seen = 0;
    };
    Queue* find(std::string_view url);
    const Queue* find(std::string_view url) const;
    std::size_t in_flight_locked(const Queue& q) const;

    util::Clock& m_clock;
    std::chrono::milliseconds m_max_real_wait;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::map<std::string, Queue, std::less<>> m_queues;
    std::mt19937 m_random;
    std::uint64_t m_next_id = 1;
    std::uint64_t m_interrupts = 0;
    int m_failing_receives = 0;
    QueueError m_receive_error;
    int m_failing_delete_calls = 0;
    QueueError m_delete_error;
    int m_failing_delete_entries = 0;
    bool m_refuse_deletes = false;
    std::map<std::string, std::int64_t, std::less<>> m_calls;
    std::int64_t m_visibility_changes = 0;
};

}  // namespace mailtrack::worker::test
