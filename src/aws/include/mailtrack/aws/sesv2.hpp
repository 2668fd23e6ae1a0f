#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "mailtrack/aws/client.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::aws {

struct EmailAttachment {
    std::string file_name;
    std::string content;  // raw bytes; base64-encoded on the wire
    std::string content_type;
    std::string disposition;  // "ATTACHMENT" or "INLINE"; empty = service default
    std::string content_id;
};

struct SimpleEmail {
    std::string subject;
    std::string text;  // at least one of text and html
    std::string html;
    std::string charset = "UTF-8";
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<EmailAttachment> attachments;
};

struct RawEmail {
    std::string mime;  // the complete MIME message; base64-encoded on the wire
};

struct TemplateEmail {
    std::string template_name;
    std::string template_data = "{}";  // JSON object as text
};

using EmailContent = std::variant<SimpleEmail, RawEmail, TemplateEmail>;

struct EmailDestination {
    std::vector<std::string> to;
    std::vector<std::string> cc;
    std::vector<std::string> bcc;
};

struct SendEmailRequest {
    std::string from;
    EmailDestination destination;
    std::vector<std::string> reply_to;
    EmailContent content;
    std::string configuration_set;
    std::vector<std::pair<std::string, std::string>> tags;  // EmailTags
    std::string list_contact_list;                          // ListManagementOptions, when set
    std::string list_topic;
    std::string feedback_forwarding_address;
};

struct BulkEmailEntry {
    EmailDestination destination;
    std::vector<std::pair<std::string, std::string>> replacement_tags;
    std::string replacement_template_data;  // JSON object as text; empty = use the default
};

struct SendBulkEmailRequest {
    std::string from;
    std::vector<std::string> reply_to;
    TemplateEmail default_template;
    std::vector<std::pair<std::string, std::string>> default_tags;
    std::vector<BulkEmailEntry> entries;
    std::string configuration_set;
};

struct BulkEmailResult {
    std::string status;  // "SUCCESS" or a failure status
    std::string error;
    std::string message_id;
};

struct SesAccount {
    double max_24_hour_send = 0;  // -1 = unlimited
    double max_send_rate = 0;     // messages per second
    double sent_last_24_hours = 0;
    bool sending_enabled = false;
    bool production_access_enabled = false;
    std::string enforcement_status;
};

struct SuppressedDestination {
    std::string email_address;
    std::string reason;  // "BOUNCE" or "COMPLAINT"
    util::UnixMillis last_update_time = 0;
    std::string message_id;  // from Attributes, when present
    std::string feedback_id;
};

struct ListSuppressedRequest {
    std::vector<std::string> reasons;
    std::optional<util::UnixMillis> start;
    std::optional<util::UnixMillis> end;
    int page_size = 0;  // 0 = service default
    std::string next_token;
};

struct SuppressedPage {
    std::vector<SuppressedDestination> destinations;
    std::string next_token;  // empty on the last page
};

// The JSON body SendEmail sends for `request` (exposed so tests can compare it with botocore's).
std::string send_email_body(const SendEmailRequest& request);

// Amazon SES v2 over REST-JSON (signing name "ses"). SendEmail and SendBulkEmail are not
// idempotent (a retry after a timeout can send twice), so they are retried only after errors
// that prove SES did not act (throttling, nothing sent); an error with aws::outcome_unknown()
// means the email may have gone out. Thread-safe.
class SesV2Client {
public:
    SesV2Client(ClientContext context, ServiceEndpoint endpoint);

    // Returns the SES message id (mail.messageId of every later event).
    Result<std::string> send_email(const SendEmailRequest& request);
    Result<std::vector<BulkEmailResult>> send_bulk_email(const SendBulkEmailRequest& request);
    Result<SesAccount> get_account();
    Result<void> put_suppressed_destination(const std::string& email_address, const std::string& reason);
    // Errors with kind client and http_status 404 when the address is not suppressed.
    Result<SuppressedDestination> get_suppressed_destination(const std::string& email_address);
    Result<void> delete_suppressed_destination(const std::string& email_address);
    Result<SuppressedPage> list_suppressed_destinations(const ListSuppressedRequest& request);
    // Follows NextToken through every page.
    Result<std::vector<SuppressedDestination>> list_all_suppressed_destinations(ListSuppressedRequest request);

    const ServiceEndpoint& endpoint() const noexcept { return m_client.endpoint(); }

private:
    Result<std::string> call(std::string method, std::string path, std::string query, std::string body,
                             bool idempotent = true);
    AwsClient m_client;
};

}  // namespace mailtrack::aws
