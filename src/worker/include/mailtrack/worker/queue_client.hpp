#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/expected.hpp"

namespace mailtrack::worker {

// What went wrong talking to the queue, as a kind retry policy can switch on.
enum class QueueErrorKind {
    timeout,          // the request did not complete in time
    connection,       // could not connect, or the connection broke
    throttled,        // the service asked us to slow down
    auth,             // credentials missing, expired or refused
    http_status,      // any other non-2xx answer (see http_status and aws_code)
    parse,            // the answer was not what the API documents
    queue_missing,    // the queue does not exist (AWS.SimpleQueueService.NonExistentQueue)
    invalid_request,  // the service refused the request as malformed (our bug or bad config)
    internal,
};

std::string_view to_string(QueueErrorKind kind) noexcept;

struct QueueError {
    QueueErrorKind kind = QueueErrorKind::internal;
    bool retryable = false;  // decided by the implementation's retry policy, from the kind
    int http_status = 0;     // 0 when no answer was received
    std::string aws_code;    // e.g. "AWS.SimpleQueueService.NonExistentQueue"
    std::string request_id;
    std::string message;  // for humans only

    // "<kind>: <message> (code, request id)"
    std::string describe() const;
};

template <typename T>
using QueueResult = util::Expected<T, QueueError>;

// One received message, as ReceiveMessage returns it with the system attributes the worker asks for.
struct QueueMessage {
    std::string message_id;
    std::string receipt_handle;  // valid for this receipt only
    std::string body;
    std::int64_t approximate_receive_count = 0;  // 1 on first delivery
    util::UnixMillis sent_timestamp = 0;
};

// One entry of DeleteMessageBatch / ChangeMessageVisibilityBatch. `id` is unique within its
// batch and names the entry in the result.
struct DeleteEntry {
    std::string id;
    std::string receipt_handle;
};
struct VisibilityEntry {
    std::string id;
    std::string receipt_handle;
    std::chrono::seconds visibility_timeout{0};  // from now; 0 makes the message visible at once
};

struct EntryFailure {
    std::string id;
    std::string code;     // SQS's BatchResultErrorEntry Code, e.g. "ReceiptHandleIsInvalid"
    std::string message;  // for humans only
    // False when retrying cannot help (SenderFault, e.g. a stale receipt handle: the message was
    // already deleted or has been received again).
    bool retryable = false;
};

// The answer to a batch call that reached the service: which entries failed. Entries not
// listed succeeded.
struct BatchOutcome {
    std::vector<EntryFailure> failed;
};

// A message attribute for SendMessage (String data type).
struct MessageAttribute {
    std::string name;
    std::string value;
};

// What the worker needs from a queue service, shaped on Amazon SQS's API. Queues are named by
// URL. A call that returns an error changed nothing the caller can rely on; batch calls that
// reach the service report per-entry failures in BatchOutcome instead.
//
// Thread safety: implementations must allow concurrent calls from several threads (the worker
// runs pollers, a committer and an acknowledger at once against one client).
class QueueClient {
public:
    static constexpr int k_max_batch = 10;  // SQS's limit for receive and batch calls

    virtual ~QueueClient() = default;

    // ReceiveMessage with long polling: waits up to `wait` for up to `max_messages` (1..10)
    // messages and hides them for `visibility_timeout`. An empty vector is a normal answer.
    virtual QueueResult<std::vector<QueueMessage>> receive(std::string_view queue_url, int max_messages,
                                                           std::chrono::seconds wait,
                                                           std::chrono::seconds visibility_timeout) = 0;

    // DeleteMessageBatch: at most 10 entries.
    virtual QueueResult<BatchOutcome> delete_batch(std::string_view queue_url,
                                                   const std::vector<DeleteEntry>& entries) = 0;

    // ChangeMessageVisibilityBatch: at most 10 entries.
    virtual QueueResult<BatchOutcome> change_visibility_batch(std::string_view queue_url,
                                                              const std::vector<VisibilityEntry>& entries) = 0;

    // SendMessage; returns the new message id. Used to move a message to a dead-letter queue
    // and to redrive.
    virtual QueueResult<std::string> send(std::string_view queue_url, std::string_view body,
                                          const std::vector<MessageAttribute>& attributes) = 0;

    // Asks receive() calls in progress to return early with what they have (possibly nothing).
    // Best effort: an implementation may let a call run to its wait time. Safe from any thread.
    virtual void interrupt_receives() noexcept = 0;
};

}  // namespace mailtrack::worker
