#pragma once

// The sending path (issue 5): every send is recorded before SES is called, carries its send id
// as the SES message tag core::k_send_id_tag, and gets its SES message id attached when SES
// answers -- so the event path can link events to it even if this process dies in between.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "mailtrack/aws/retry.hpp"
#include "mailtrack/core/state.hpp"
#include "mailtrack/mime/mime.hpp"
#include "mailtrack/sender/bulk.hpp"
#include "mailtrack/sender/rate_limiter.hpp"
#include "mailtrack/sender/sandbox_events.hpp"
#include "mailtrack/sender/ses_api.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::sender {

struct SendRequest {
    std::string from;  // "addr" or "Name <addr>"
    std::vector<std::string> to, cc, bcc, reply_to;
    std::string subject;  // UTF-8; unused for template sends
    std::string text, html;
    std::vector<mime::Attachment> attachments;
    std::vector<std::pair<std::string, std::string>> headers;  // custom headers
    // A template send when template_name is set: no subject, bodies, attachments or headers.
    std::string template_name;
    std::string template_data;  // JSON object as text; empty = "{}"
    std::string configuration_set;
    std::vector<std::pair<std::string, std::string>> tags;  // SES message tags (EmailTags)
    std::string list_contact_list, list_topic;              // ListManagementOptions
    std::string idempotency_key;                            // empty = none
    bool force = false;                                     // send to suppressed addresses too
};

struct SkippedRecipient {
    std::string address;  // normalized
    core::SuppressionReason reason = core::SuppressionReason::manual;
    std::string detail;
};

struct SendResult {
    std::string send_id;
    std::string ses_message_id;
    // The idempotency key named an earlier send that SES accepted: nothing was sent now, and
    // send_id/ses_message_id are that send's.
    bool duplicate = false;
    // Suppressed recipients left out of this send (never with force). The others got it.
    std::vector<SkippedRecipient> skipped;
    // Things that went wrong after SES accepted the email (it was sent regardless), e.g. the
    // store could not record the message id -- events still link through the send-id tag.
    std::vector<std::string> warnings;
};

enum class SendErrorKind {
    invalid_request,  // the request is malformed (address, tag, header, content); nothing recorded
    all_suppressed,   // every recipient is suppressed (and no force); nothing recorded or sent
    in_doubt,         // SES may have accepted it (timeout, dropped connection, 5xx, unreadable answer),
                      // or the idempotency key names such a send: it stays queued, unsent again,
                      // until an event tagged with its send id reconciles it
    ses,              // SES refused (or was never reached); the send is recorded as failed
    storage,          // the store failed before SES was called; nothing was sent
};

struct SendError {
    SendErrorKind kind = SendErrorKind::invalid_request;
    std::string message;
    std::string send_id;                       // when a send was recorded
    std::optional<aws::Error> aws;             // for kind ses
    std::vector<SkippedRecipient> suppressed;  // for kind all_suppressed: who
};

using SendOutcome = util::Expected<SendResult, SendError>;

// Makes send ids: "snd_" + 13 hex digits of the millisecond time + 16 random hex digits, so
// ids sort by creation time. Thread-safe.
class SendIdGenerator {
public:
    explicit SendIdGenerator(std::uint64_t seed) : m_random(seed) {}
    std::string next(util::UnixMillis now);

private:
    std::mutex m_mutex;
    std::mt19937_64 m_random;
};

// An address with `limit` soft bounces among its last `window_sends` messages, counted back
// only to its most recent delivery, is suppressed (reason soft_bounce_policy) for
// `expiry_days` before the next send to it. limit <= 0 turns the policy off.
struct SoftBouncePolicy {
    int limit = 3;
    int window_sends = 5;
    int expiry_days = 14;
};

struct SenderOptions {
    int max_throttle_retries = 4;  // extra attempts after SES throttled a send (beyond the client's own)
    std::chrono::milliseconds throttle_backoff{1000};  // doubled after each throttled attempt
    SoftBouncePolicy soft_bounce;
    // SendBulkEmail calls in flight at once (all paced by the one rate limiter, which must then be
    // thread-safe, as are SesApi and the Sleeper); 1 = one call at a time.
    int bulk_concurrency = 1;
};

// Sends email through SES with tracking. Borrowed references must outlive the Sender.
// Not thread-safe (one Store per thread); the rate limiter may be shared between Senders.
class Sender {
public:
    Sender(store::Store& store, SesApi& ses, RateLimiter& limiter, const util::Clock& clock, util::Sleeper& sleeper,
           SendIdGenerator& ids, SenderOptions options = {});

    // Validates, refuses or skips suppressed recipients (see SendRequest::force), records the
    // send (status queued), calls SES with the send id tag, then records the outcome.
    //
    // Soft-bounce policy (SenderOptions::soft_bounce): checked here for every recipient not
    // already suppressed, from the statuses the event path recorded -- which do not depend on
    // the order events arrived in -- so an address over the limit is put on the suppression
    // list (with its expiry) and then treated like any suppressed address.
    //
    // Suppression policy: suppressed recipients are left out and listed in SendResult::skipped;
    // the others still get the email. Only when every recipient is suppressed is the send
    // refused (all_suppressed, naming them) -- before anything is recorded or sent.
    //
    // Idempotency: a request whose idempotency_key names an earlier send returns that send
    // (duplicate = true) when SES accepted it (recorded, or linked by an event); retries it
    // under the same send id when it failed; and fails with in_doubt when it is still queued
    // (another process is sending it, or one died mid-call: SES may have accepted it).
    SendOutcome send(const SendRequest& request);

    // Sends a template to every row with SendBulkEmail, 50 destinations per call, paced by the
    // rate limiter (one token per destination). Each row is recorded as its own send (idempotency
    // key "bulk:<file_key>:<line>", send id tag per destination) before the call, so a re-run
    // skips rows already sent (already_sent), leaves rows in doubt alone (in_doubt), and retries
    // failed ones. Suppressed rows (soft-bounce policy included) are skipped unless force.
    // Returns one result per row, in row order; errors of one row never stop the others.
    std::vector<BulkRowResult> send_bulk(const BulkRequest& request, const BulkProgress& progress = {});

    // Told about every email SES accepts, after its message id is recorded (nullptr: nobody).
    // Its errors become warnings of the send (SendResult::warnings, BulkRowResult::detail).
    void set_observer(AcceptedMailObserver* observer) noexcept { m_observer = observer; }

private:
    // Suppresses `address` (and returns the entry) when the soft-bounce policy says so.
    // `expired` is the address's expired suppression entry, if any.
    util::Result<std::optional<core::Suppression>> apply_soft_bounce_policy(
        const std::string& address, const std::optional<core::Suppression>& expired, util::UnixMillis now);
    class BulkRun;  // one send_bulk() call (bulk.cpp)

    // The steps of send(), in order.
    // Marks the suppressed recipients skipped (none with force) and returns them; every one
    // suppressed is SendErrorKind::all_suppressed.
    util::Expected<std::vector<SkippedRecipient>, SendError> check_suppressions(
        std::vector<store::SendRecipient>& recipients, bool force, util::UnixMillis now);
    // Records the send before SES is called (store::Store::begin_send). An idempotency key
    // naming an accepted send gives that send's result in `earlier`; one in doubt is refused.
    struct Claimed {
        std::string send_id;
        std::optional<SendResult> earlier;
    };
    util::Expected<Claimed, SendError> claim(const SendRequest& req,
                                             const std::vector<store::SendRecipient>& recipients, util::UnixMillis now);
    // The SES call, paced by the rate limiter, throttling retried with backoff.
    aws::Result<std::string> call_ses(const aws::SendEmailRequest& call);
    // Tells the observer (sandbox events) about an accepted email; its failure is a warning.
    void observe_accepted(const SendRequest& req, const aws::SendEmailRequest& call, SendResult& result,
                          util::UnixMillis at);

    store::Store& m_store;
    SesApi& m_ses;
    RateLimiter& m_limiter;
    const util::Clock& m_clock;
    util::Sleeper& m_sleeper;
    SendIdGenerator& m_ids;
    SenderOptions m_options;
    AcceptedMailObserver* m_observer = nullptr;
};

// SES message tag names and values: 1-256 ASCII letters, digits, '_' or '-' (MessageTag).
bool is_valid_tag_part(std::string_view text) noexcept;

}  // namespace mailtrack::sender
