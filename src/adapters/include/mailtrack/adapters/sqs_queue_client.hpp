#pragma once

#include <atomic>

#include "mailtrack/aws/error.hpp"
#include "mailtrack/aws/sqs.hpp"
#include "mailtrack/worker/queue_client.hpp"

namespace mailtrack::adapters {

// The worker's QueueClient over Amazon SQS (aws::SqsClient, whose standard retry policy runs
// first). Receives ask for ApproximateReceiveCount and SentTimestamp and no message attributes.
//
// Errors: aws::Error kinds map to QueueErrorKind one to one (server -> http_status, client ->
// queue_missing for a missing queue, else invalid_request); `retryable` is aws::is_retryable.
// A batch entry that failed with SenderFault is not retryable (a stale receipt handle, an
// invalid entry); one failed on the service's side is.
//
// interrupt_receives() aborts long polls in progress at once; they, and every
// receive after them, return an empty vector at once until resume_receives(). The worker calls it
// only when it stops, and it is sticky so that a poll starting just after it cannot wait the full
// 20 s; call resume_receives() before running another worker on the same client. Messages a
// cancelled poll had already been handed reappear after their visibility timeout.
// Thread-safe; the SqsClient must outlive this object.
class SqsQueueClient final : public worker::QueueClient {
public:
    explicit SqsQueueClient(aws::SqsClient& sqs) : m_sqs(sqs) {}

    worker::QueueResult<std::vector<worker::QueueMessage>> receive(std::string_view queue_url, int max_messages,
                                                                   std::chrono::seconds wait,
                                                                   std::chrono::seconds visibility_timeout) override;
    worker::QueueResult<worker::BatchOutcome> delete_batch(std::string_view queue_url,
                                                           const std::vector<worker::DeleteEntry>& entries) override;
    worker::QueueResult<worker::BatchOutcome> change_visibility_batch(
        std::string_view queue_url, const std::vector<worker::VisibilityEntry>& entries) override;
    worker::QueueResult<std::string> send(std::string_view queue_url, std::string_view body,
                                          const std::vector<worker::MessageAttribute>& attributes) override;
    void interrupt_receives() noexcept override;
    // Ends the effect of interrupt_receives(); call only when no worker is using this client.
    void resume_receives() noexcept { m_interrupted.clear(); }

private:
    aws::SqsClient& m_sqs;
    aws::CancelFlag m_interrupted;
};

// The QueueError for an aws::Error (see SqsQueueClient).
worker::QueueError to_queue_error(const aws::Error& e);

}  // namespace mailtrack::adapters
