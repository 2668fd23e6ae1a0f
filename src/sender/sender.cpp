#include "mailtrack/sender/sender.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <variant>

#include "mailtrack/core/address.hpp"

namespace mailtrack::sender {
namespace {

util::Unexpected<SendError> refuse(SendErrorKind kind, std::string message, std::string send_id = {}) {
    return util::Unexpected<SendError>(SendError{kind, std::move(message), std::move(send_id), std::nullopt, {}});
}

// Reverses skipped_text() for a send read back from the store.
SkippedRecipient skipped_from(const store::SendRecipient& r) {
    SkippedRecipient out{r.address, core::SuppressionReason::manual, r.skipped};
    constexpr std::string_view k_prefix = "suppressed: ";
    std::string_view text = r.skipped;
    if (text.starts_with(k_prefix)) {
        text.remove_prefix(k_prefix.size());
        const auto end = text.find(' ');
        if (auto reason = core::parse_suppression_reason(text.substr(0, end))) out.reason = *reason;
        if (end != std::string_view::npos && text.size() > end + 2)
            out.detail = std::string(text.substr(end + 2, text.size() - end - 3));
        else
            out.detail.clear();
    }
    return out;
}

std::string skipped_text(const core::Suppression& s) {
    std::string out = "suppressed: " + std::string(core::to_string(s.reason));
    if (!s.detail.empty()) out += " (" + s.detail + ")";
    return out;
}

// The AWS error code when SES sent one, else the kind of failure ("timeout", "connection").
std::string error_code(const aws::Error& e) {
    return e.code.empty() ? std::string(aws::to_string(e.kind)) : e.code;
}

}  // namespace

bool is_valid_tag_part(std::string_view text) noexcept {
    if (text.empty() || text.size() > 256) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string SendIdGenerator::next(util::UnixMillis now) {
    std::uint64_t r = 0;
    {
        std::lock_guard lock(m_mutex);
        r = m_random();
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "snd_%013llx%016llx", static_cast<unsigned long long>(now),
                  static_cast<unsigned long long>(r));
    return buf;
}

Sender::Sender(store::Store& store, SesApi& ses, RateLimiter& limiter, const util::Clock& clock, util::Sleeper& sleeper,
               SendIdGenerator& ids, SenderOptions options)
    : m_store(store),
      m_ses(ses),
      m_limiter(limiter),
      m_clock(clock),
      m_sleeper(sleeper),
      m_ids(ids),
      m_options(options) {}

util::Result<std::optional<core::Suppression>> Sender::apply_soft_bounce_policy(
    const std::string& address, const std::optional<core::Suppression>& expired, util::UnixMillis now) {
    const SoftBouncePolicy& p = m_options.soft_bounce;
    if (p.limit <= 0 || p.window_sends <= 0) return std::optional<core::Suppression>{};
    store::RecipientFilter f;
    f.address = address;
    f.limit = static_cast<std::size_t>(p.window_sends);
    // Bounces from before an expired entry were already paid for: only count what came after.
    if (expired) f.since = expired->since + 1;
    auto recent = m_store.recipients(f);  // newest (by last event) first
    if (!recent) return util::Unexpected(std::move(recent).error());
    int soft = 0;
    for (const core::RecipientState& r : *recent) {
        if (r.delivery) break;  // a delivery resets the count
        if (r.soft_bounces > 0 || r.status.status == core::RecipientStatus::soft_bounced) ++soft;
    }
    if (soft < p.limit) return std::optional<core::Suppression>{};
    core::Suppression entry;
    entry.address = address;
    entry.reason = core::SuppressionReason::soft_bounce_policy;
    entry.since = now;
    entry.detail = std::to_string(soft) + " soft bounces in the last " + std::to_string(recent->size()) + " sends";
    entry.expires_at = now + static_cast<util::UnixMillis>(p.expiry_days) * 86'400'000;
    if (expired) {
        // suppress() keeps the older of two entries with the same reason; the expired one must go.
        MAILTRACK_TRY(m_store.unsuppress(address));
    }
    MAILTRACK_TRY(m_store.suppress(entry));
    return std::optional<core::Suppression>{std::move(entry)};
}

namespace {

// Nothing is recorded for a request that could never be sent.
std::optional<SendError> invalid_content(const SendRequest& req) {
    const auto invalid = [](std::string message) {
        return SendError{SendErrorKind::invalid_request, std::move(message), {}, std::nullopt, {}};
    };
    if (req.from.empty()) return invalid("no From address");
    if (!core::is_plausible_address(core::normalize_address(req.from))) {
        return invalid("From: not an email address: \"" + req.from + "\"");
    }
    if (!req.template_name.empty()) {
        if (!req.text.empty() || !req.html.empty() || !req.attachments.empty() || !req.headers.empty()) {
            return invalid("a template send takes its content from the template: no bodies, attachments or headers");
        }
    } else {
        if (req.subject.empty()) return invalid("no subject");
        if (req.text.empty() && req.html.empty() && req.attachments.empty()) {
            return invalid("no text or HTML body and no attachment");
        }
    }
    for (const auto& [name, value] : req.tags) {
        if (name == core::k_send_id_tag) return invalid("tag " + name + " is set by mailtrack itself");
        if (!is_valid_tag_part(name) || !is_valid_tag_part(value)) {
            return invalid("tag " + name + "=" + value + ": SES tags are 1-256 ASCII letters, digits, '_' or '-'");
        }
    }
    return std::nullopt;
}

// Recipients, normalized and de-duplicated (the first role an address appears in wins).
util::Expected<std::vector<store::SendRecipient>, SendError> normalized_recipients(const SendRequest& req) {
    std::vector<store::SendRecipient> recipients;
    std::set<std::string, std::less<>> seen;
    const std::pair<const std::vector<std::string>*, store::RecipientRole> roles[] = {
        {&req.to, store::RecipientRole::to},
        {&req.cc, store::RecipientRole::cc},
        {&req.bcc, store::RecipientRole::bcc}};
    for (const auto& [list, role] : roles) {
        for (const std::string& a : *list) {
            std::string n = core::normalize_address(a);
            if (!core::is_plausible_address(n)) {
                return refuse(SendErrorKind::invalid_request,
                              std::string(store::to_string(role)) + ": not an email address: \"" + a + "\"");
            }
            if (seen.insert(n).second) recipients.push_back({std::move(n), role, {}});
        }
    }
    if (recipients.empty()) return refuse(SendErrorKind::invalid_request, "no recipients");
    if (recipients.size() > 50) {
        return refuse(SendErrorKind::invalid_request,
                      "SES takes at most 50 recipients per email (got " + std::to_string(recipients.size()) + ")");
    }
    return recipients;
}

SendError all_suppressed(std::vector<SkippedRecipient> skipped) {
    std::string names;
    for (const auto& s : skipped)
        names += (names.empty() ? "" : ", ") + s.address + " (" + std::string(core::to_string(s.reason)) + ")";
    return SendError{SendErrorKind::all_suppressed,
                     "every recipient is on the suppression list: " + names + "; use --force to send anyway",
                     {},
                     std::nullopt,
                     std::move(skipped)};
}

// The addresses of `role` that go into the SES call, in the caller's form (display names kept)
// for the first role an address is in; skipped recipients left out.
std::vector<std::string> kept(const SendRequest& req, const std::vector<store::SendRecipient>& recipients,
                              store::RecipientRole role) {
    std::vector<std::string> out;
    const std::vector<std::string>& given = role == store::RecipientRole::to   ? req.to
                                            : role == store::RecipientRole::cc ? req.cc
                                                                               : req.bcc;
    for (const std::string& a : given) {
        const std::string n = core::normalize_address(a);
        const auto it = std::find_if(recipients.begin(), recipients.end(),
                                     [&](const store::SendRecipient& r) { return r.address == n; });
        if (it != recipients.end() && it->role == role && it->skipped.empty() &&
            std::none_of(out.begin(), out.end(),
                         [&](const std::string& o) { return core::normalize_address(o) == n; })) {
            out.push_back(a);
        }
    }
    return out;
}

// The SES request, content built (MIME for a raw send) before anything is recorded.
util::Expected<aws::SendEmailRequest, SendError> ses_request(const SendRequest& req,
                                                             const std::vector<store::SendRecipient>& recipients,
                                                             util::UnixMillis now) {
    aws::SendEmailRequest call;
    call.from = req.from;
    call.destination = {kept(req, recipients, store::RecipientRole::to),
                        kept(req, recipients, store::RecipientRole::cc),
                        kept(req, recipients, store::RecipientRole::bcc)};
    call.reply_to = req.reply_to;
    call.configuration_set = req.configuration_set;
    call.tags = req.tags;
    call.list_contact_list = req.list_contact_list;
    call.list_topic = req.list_topic;
    if (!req.template_name.empty()) {
        call.content = aws::TemplateEmail{req.template_name, req.template_data.empty() ? "{}" : req.template_data};
        return call;
    }
    mime::Message m;
    m.from = req.from;
    m.to = call.destination.to;
    m.cc = call.destination.cc;
    m.reply_to = req.reply_to;
    m.subject = req.subject;
    m.text = req.text;
    m.html = req.html;
    m.attachments = req.attachments;
    m.headers = req.headers;
    m.date = now;
    auto raw = mime::build_mime(m);
    if (!raw) return refuse(SendErrorKind::invalid_request, raw.error().message);
    call.content = aws::RawEmail{std::move(*raw)};
    return call;
}

// SES may have sent it. Marking it failed would let a retry with the same idempotency key send
// it again; left queued, that retry is refused as in doubt, and the Send event (tagged with the
// send id) links the message id if SES did send it.
SendError in_doubt(const aws::Error& e, const std::string& send_id) {
    return SendError{SendErrorKind::in_doubt,
                     "SES may or may not have accepted the send (" + e.describe() + "); send " + send_id +
                         " stays queued until an event carrying its " + std::string(core::k_send_id_tag) +
                         " tag says what became of it; not retried, so it is never sent twice",
                     send_id,
                     e,
                     {}};
}

}  // namespace

util::Expected<std::vector<SkippedRecipient>, SendError> Sender::check_suppressions(
    std::vector<store::SendRecipient>& recipients, bool force, util::UnixMillis now) {
    std::vector<SkippedRecipient> skipped;
    for (store::SendRecipient& r : recipients) {
        auto s = m_store.suppression(r.address);
        if (!s) return refuse(SendErrorKind::storage, "checking the suppression list: " + s.error().describe());
        if (!*s || ((*s)->expires_at && *(*s)->expires_at <= now)) {
            s = apply_soft_bounce_policy(r.address, *s, now);
            if (!s) return refuse(SendErrorKind::storage, "applying the soft-bounce policy: " + s.error().describe());
            if (!*s) continue;
        }
        if (force) continue;
        r.skipped = skipped_text(**s);
        skipped.push_back({r.address, (*s)->reason, (*s)->detail});
    }
    if (skipped.size() == recipients.size()) return util::Unexpected<SendError>(all_suppressed(std::move(skipped)));
    return skipped;
}

util::Expected<Sender::Claimed, SendError> Sender::claim(const SendRequest& req,
                                                         const std::vector<store::SendRecipient>& recipients,
                                                         util::UnixMillis now) {
    store::SendRecord draft;
    draft.send_id = m_ids.next(now);
    draft.idempotency_key = req.idempotency_key;
    draft.created_at = now;
    draft.from = req.from;
    draft.subject = req.subject;
    draft.template_name = req.template_name;
    draft.configuration_set = req.configuration_set;
    draft.recipients = recipients;
    auto claim = m_store.begin_send(draft);
    if (!claim) return refuse(SendErrorKind::storage, "recording the send: " + claim.error().describe());
    Claimed out{claim->send.send_id, std::nullopt};
    if (claim->created) return out;
    const store::SendRecord& prior = claim->send;
    if (prior.status == store::SendStatus::sent) {
        SendResult result{prior.send_id, prior.ses_message_id, true, {}, {}};
        if (prior.linked_by_event) {
            // Repair the crash window now that we know: record what the event told us.
            if (auto r = m_store.send_accepted(prior.send_id, prior.ses_message_id, now); !r) {
                result.warnings.push_back("could not record the message id found by event: " + r.error().describe());
            }
        }
        for (const auto& r : prior.recipients) {
            if (!r.skipped.empty()) result.skipped.push_back(skipped_from(r));
        }
        out.earlier = std::move(result);
        return out;
    }
    if (prior.status == store::SendStatus::queued) {
        return refuse(SendErrorKind::in_doubt,
                      "idempotency key " + req.idempotency_key + " belongs to send " + prior.send_id +
                          ", whose SES call has no recorded outcome (in flight elsewhere, or interrupted: SES may "
                          "have accepted it); not sending again",
                      prior.send_id);
    }
    if (auto r = m_store.retry_send(out.send_id, now); !r) {
        return refuse(SendErrorKind::storage, "recording a new attempt: " + r.error().describe(), out.send_id);
    }
    return out;
}

aws::Result<std::string> Sender::call_ses(const aws::SendEmailRequest& call) {
    // Paced; a throttled call was refused, so it is safe to repeat.
    aws::Result<std::string> answer = aws::fail(aws::ErrorKind::throttled, "not called");
    auto backoff = m_options.throttle_backoff;
    for (int attempt = 0;; ++attempt) {
        m_limiter.acquire();
        answer = m_ses.send_email(call);
        if (answer || answer.error().kind != aws::ErrorKind::throttled || attempt >= m_options.max_throttle_retries)
            break;
        m_limiter.on_throttled();
        m_sleeper.sleep_for(backoff);
        backoff *= 2;
    }
    return answer;
}

void Sender::observe_accepted(const SendRequest& req, const aws::SendEmailRequest& call, SendResult& result,
                              util::UnixMillis at) {
    if (m_observer == nullptr) return;
    AcceptedMail mail;
    mail.send_id = result.send_id;
    mail.ses_message_id = result.ses_message_id;
    mail.timestamp = at;
    mail.source = req.from;
    for (const auto* list : {&call.destination.to, &call.destination.cc, &call.destination.bcc}) {
        for (const std::string& a : *list) mail.destination.push_back(core::normalize_address(a));
    }
    if (const auto* raw = std::get_if<aws::RawEmail>(&call.content)) {
        mail.headers = top_level_headers(raw->mime);
        mail.subject = req.subject;
    }
    mail.header_to = call.destination.to;
    mail.header_cc = call.destination.cc;
    mail.reply_to = req.reply_to;
    mail.configuration_set = req.configuration_set;
    mail.tags = call.tags;
    mail.html = req.html;
    if (auto r = m_observer->on_accepted(mail); !r) result.warnings.push_back(r.error().describe());
}

SendOutcome Sender::send(const SendRequest& req) {
    if (auto invalid = invalid_content(req)) return util::Unexpected<SendError>(std::move(*invalid));
    MAILTRACK_TRY_ASSIGN(auto recipients, normalized_recipients(req));
    const util::UnixMillis now = m_clock.now_millis();
    auto skipped = check_suppressions(recipients, req.force, now);  // before any SES call
    if (!skipped) return util::Unexpected(std::move(skipped).error());
    MAILTRACK_TRY_ASSIGN(auto call, ses_request(req, recipients, now));
    auto claimed = claim(req, recipients, now);  // recorded before calling SES
    if (!claimed) return util::Unexpected(std::move(claimed).error());
    if (claimed->earlier) return std::move(*claimed->earlier);
    const std::string& send_id = claimed->send_id;
    call.tags.emplace_back(std::string(core::k_send_id_tag), send_id);

    const aws::Result<std::string> answer = call_ses(call);
    const util::UnixMillis done = m_clock.now_millis();
    if (!answer) {
        const aws::Error& e = answer.error();
        // A parse error follows a 2xx: SES took the email but its answer was unreadable.
        if (aws::outcome_unknown(e) || e.kind == aws::ErrorKind::parse)
            return util::Unexpected<SendError>(in_doubt(e, send_id));
        SendError err{SendErrorKind::ses, "SES refused the send: " + e.describe(), send_id, e, {}};
        if (auto r = m_store.send_failed(send_id, error_code(e), e.message, done); !r) {
            err.message += " (and recording the failure failed: " + r.error().describe() + ")";
        }
        return util::Unexpected<SendError>(std::move(err));
    }
    m_limiter.on_success();
    SendResult result{send_id, *answer, false, std::move(*skipped), {}};
    if (auto r = m_store.send_accepted(send_id, *answer, done); !r) {
        result.warnings.push_back("SES accepted the email (message id " + *answer +
                                  ") but recording its message id failed: " + r.error().describe() +
                                  "; events will link to the send through its " + std::string(core::k_send_id_tag) +
                                  " tag");
    }
    observe_accepted(req, call, result, done);
    return result;
}

}  // namespace mailtrack::sender
