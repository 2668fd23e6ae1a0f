#pragma once

// Sandbox events (issue 5 §5): without an AWS account nothing publishes SES events, so after each
// send SES accepted, mailtrack can publish itself, to the SNS events topic, the event-publishing
// records that SES's mailbox simulator produces for each recipient -- with the real SES message
// id, the send's tags and the real `mail` object -- so the whole pipeline (SNS -> SQS -> worker ->
// store) runs against emulators. Off by default (sending.sandbox_events).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailtrack/aws/sns.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::sender {

// One email SES accepted, as the `mail` object of its events describes it.
struct AcceptedMail {
    std::string send_id;
    std::string ses_message_id;
    util::UnixMillis timestamp = 0;        // when SES accepted it
    std::string source;                    // the From as given ("addr" or "Name <addr>")
    std::vector<std::string> destination;  // bare addresses: To, Cc, then Bcc
    // Top-level headers in order, values as on the wire (unfolded). Empty for template sends
    // whose rendering happens inside SES: then From/To (and Reply-To) are synthesized.
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<std::string> header_to, header_cc, reply_to;  // as given, for commonHeaders
    std::optional<std::string> subject;                       // decoded; none for template sends (rendered by SES)
    std::string configuration_set;
    std::string operation = "SendEmail";                    // the ses:operation auto-tag
    std::vector<std::pair<std::string, std::string>> tags;  // message tags incl. the send-id tag
    std::string html;                                       // the HTML body, for the Click event's link (may be empty)
};

// Told about every email SES accepted (Sender::set_observer). An error is reported as a warning
// of that send: the email went out regardless.
class AcceptedMailObserver {
public:
    virtual ~AcceptedMailObserver() = default;
    virtual util::Result<void> on_accepted(const AcceptedMail& mail) = 0;
    // Several at once (a SendBulkEmail call's accepted rows): one result per mail, in order.
    // The default calls on_accepted() for each.
    virtual std::vector<util::Result<void>> on_accepted_all(std::span<const AcceptedMail> mails);
};

// The mailbox simulator's behaviour for an address (labels such as bounce+x@ included).
enum class SimulatorKind { success, bounce, ooto, complaint, suppressionlist, other };
SimulatorKind simulator_kind(std::string_view address) noexcept;
std::string_view to_string(SimulatorKind kind) noexcept;

struct SandboxOptions {
    bool engagement = false;                  // also an Open and a Click for every delivered recipient
    std::string account_id = "000000000000";  // sendingAccountId and ARNs
    std::string region = "us-east-1";
};

// The event-publishing records (compact JSON, SES's key order) that SES with a configuration set
// publishing to SNS would produce for `mail`: one Send for the message, then per recipient what
// the simulator does (SimulatorKind): success and any other address -> Delivery; bounce ->
// Bounce Permanent/General 5.1.1; suppressionlist -> Bounce Permanent/General with the
// "blacklisted address" diagnostic (as really observed, not the documented Suppressed subtype);
// ooto -> Delivery and a Bounce Transient/General naming only the address (the auto-reply);
// complaint -> Delivery and a Complaint (abuse, null subtype). With engagement, delivered
// recipients also get an Open and a Click. Deterministic: ids and times derive from the mail.
std::vector<std::string> sandbox_event_records(const AcceptedMail& mail, const SandboxOptions& options);

// Publishes sandbox_event_records() of every accepted email to an SNS topic with PublishBatch
// (10 per call). Thread-safe (the SNS client is). Errors name the entries SNS refused.
class SandboxEventPublisher final : public AcceptedMailObserver {
public:
    SandboxEventPublisher(aws::SnsClient& sns, std::string topic_arn, SandboxOptions options)
        : m_sns(sns), m_topic_arn(std::move(topic_arn)), m_options(std::move(options)) {}
    util::Result<void> on_accepted(const AcceptedMail& mail) override;
    // Packs the records of all the mails into as few PublishBatch calls as fit.
    std::vector<util::Result<void>> on_accepted_all(std::span<const AcceptedMail> mails) override;

private:
    aws::SnsClient& m_sns;
    std::string m_topic_arn;
    SandboxOptions m_options;
};

// The account id and region in an ARN ("arn:aws:sns:REGION:ACCOUNT:name"), if it has them.
std::optional<std::pair<std::string, std::string>> arn_region_account(std::string_view arn);

// The header section of a raw MIME message: names and unfolded values, in order.
std::vector<std::pair<std::string, std::string>> top_level_headers(std::string_view raw_mime);

}  // namespace mailtrack::sender
