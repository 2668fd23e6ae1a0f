#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mailtrack/aws/client.hpp"

namespace mailtrack::aws {

// A message attribute (SQS and SNS use the same shape). Binary values are kept base64-encoded.
struct MessageAttribute {
    std::string data_type = "String";  // String, Number, Binary (optionally ".custom")
    std::string string_value;
    std::string binary_value;  // base64
};
using MessageAttributes = std::map<std::string, MessageAttribute>;

struct SqsMessage {
    std::string message_id;
    std::string receipt_handle;  // new on every receive; use the latest
    std::string body;
    std::string md5_of_body;
    std::map<std::string, std::string> attributes;  // system attributes, values as strings
    MessageAttributes message_attributes;

    // ApproximateReceiveCount / SentTimestamp (epoch ms) when requested and well-formed.
    std::optional<std::int64_t> receive_count() const;
    std::optional<std::int64_t> sent_timestamp() const;
};

// The messages of a ReceiveMessage answer (AWS JSON 1.0 body). Errors: ErrorKind::parse naming
// what is malformed (not JSON, Messages not an array, a message without ReceiptHandle, ...).
Result<std::vector<SqsMessage>> parse_receive_message_response(std::string_view body);

struct ReceiveMessageRequest {
    std::string queue_url;
    int max_messages = 10;                  // 1-10
    int wait_seconds = 20;                  // 0-20; long poll
    std::optional<int> visibility_timeout;  // default: the queue's
    std::vector<std::string> system_attribute_names{"ApproximateReceiveCount", "SentTimestamp"};
    std::vector<std::string> message_attribute_names{"All"};
    // Ends the long poll at once (ErrorKind::cancelled) when it is set; see HttpRequest::cancel.
    // Messages the service had already handed out stay hidden until their visibility timeout.
    CancelFlag* cancel = nullptr;
};

struct BatchFailure {
    std::string id;
    std::string code;
    std::string message;
    bool sender_fault = false;
};

// Outcome of a batch call that returned HTTP 200: entries can still have failed.
struct BatchOutcome {
    std::vector<std::string> successful;  // entry ids
    std::vector<BatchFailure> failed;
};

// The Successful ids and Failed entries of a batch answer (DeleteMessageBatch,
// ChangeMessageVisibilityBatch; SendMessageBatch takes its Failed entries from here and reads
// its message ids itself). Errors: ErrorKind::parse, naming `operation`, when it is not a JSON object.
Result<BatchOutcome> parse_batch_outcome(std::string_view body, std::string_view operation);

struct DeleteEntry {
    std::string id;
    std::string receipt_handle;
};

struct VisibilityEntry {
    std::string id;
    std::string receipt_handle;
    int visibility_timeout = 0;
};

struct SendMessageRequest {
    std::string queue_url;
    std::string body;
    std::optional<int> delay_seconds;
    MessageAttributes attributes;
    std::string message_group_id;          // FIFO only
    std::string message_deduplication_id;  // FIFO only
};

struct SendEntry {
    std::string id;
    std::string body;
    std::optional<int> delay_seconds;
    MessageAttributes attributes;
    std::string message_group_id;
    std::string message_deduplication_id;
};

struct SentMessage {
    std::string id;  // batch entry id (empty for SendMessage)
    std::string message_id;
    std::string md5_of_body;
    std::string sequence_number;
};

struct SendBatchOutcome {
    std::vector<SentMessage> successful;
    std::vector<BatchFailure> failed;
};

// Amazon SQS over the AWS JSON 1.0 protocol. Errors carry the legacy query code when the
// service sends one (e.g. "AWS.SimpleQueueService.NonExistentQueue"). Thread-safe.
class SqsClient {
public:
    SqsClient(ClientContext context, ServiceEndpoint endpoint);

    // An empty vector when nothing arrived within the wait time.
    Result<std::vector<SqsMessage>> receive_message(const ReceiveMessageRequest& request);
    Result<void> delete_message(const std::string& queue_url, const std::string& receipt_handle);
    Result<BatchOutcome> delete_message_batch(const std::string& queue_url, const std::vector<DeleteEntry>& entries);
    Result<void> change_message_visibility(const std::string& queue_url, const std::string& receipt_handle,
                                           int visibility_timeout);
    Result<BatchOutcome> change_message_visibility_batch(const std::string& queue_url,
                                                         const std::vector<VisibilityEntry>& entries);
    Result<SentMessage> send_message(const SendMessageRequest& request);
    Result<SendBatchOutcome> send_message_batch(const std::string& queue_url, const std::vector<SendEntry>& entries);
    Result<std::string> get_queue_url(const std::string& queue_name);
    Result<std::map<std::string, std::string>> get_queue_attributes(const std::string& queue_url,
                                                                    const std::vector<std::string>& names = {"All"});
    // Returns the queue URL (idempotent when the attributes match an existing queue).
    Result<std::string> create_queue(const std::string& queue_name,
                                     const std::map<std::string, std::string>& attributes = {});
    Result<void> set_queue_attributes(const std::string& queue_url,
                                      const std::map<std::string, std::string>& attributes);

    const ServiceEndpoint& endpoint() const noexcept { return m_client.endpoint(); }

private:
    Result<std::string> call(std::string_view operation, const std::string& body,
                             std::chrono::milliseconds timeout = {}, CancelFlag* cancel = nullptr);
    AwsClient m_client;
};

}  // namespace mailtrack::aws
