#include "mailtrack/sender/bulk.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <future>

#include "mailtrack/core/address.hpp"
#include "mailtrack/sender/sender.hpp"

namespace mailtrack::sender {
namespace {

constexpr std::size_t k_max_bulk_destinations = 50;  // SES SendBulkEmail limit

// Splits RFC 4180 records, remembering the line each starts on. An unterminated quote is an error
// for the record it starts.
struct Record {
    std::size_t line = 0;
    std::vector<std::string> fields;
    std::string error;
};

std::vector<Record> split_csv(std::string_view text) {
    std::vector<Record> out;
    std::size_t line = 1;
    std::size_t i = 0;
    while (i < text.size()) {
        Record r;
        r.line = line;
        std::string field;
        bool done = false;
        while (!done) {
            if (i < text.size() && text[i] == '"') {
                ++i;
                bool closed = false;
                while (i < text.size()) {
                    if (text[i] == '"') {
                        if (i + 1 < text.size() && text[i + 1] == '"') {
                            field.push_back('"');
                            i += 2;
                            continue;
                        }
                        ++i;
                        closed = true;
                        break;
                    }
                    if (text[i] == '\n') ++line;
                    field.push_back(text[i++]);
                }
                if (!closed) r.error = "unterminated quoted field";
            }
            while (i < text.size() && text[i] != ',' && text[i] != '\n') {
                if (text[i] != '\r') field.push_back(text[i]);
                ++i;
            }
            r.fields.push_back(std::move(field));
            field.clear();
            if (i >= text.size()) {
                done = true;
            } else if (text[i] == ',') {
                ++i;
            } else {  // '\n'
                ++i;
                ++line;
                done = true;
            }
        }
        const bool blank = r.fields.size() == 1 && r.fields[0].find_first_not_of(" \t") == std::string::npos;
        if (!blank || !r.error.empty()) out.push_back(std::move(r));
    }
    return out;
}

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

}  // namespace

std::string_view to_string(BulkOutcome o) noexcept {
    switch (o) {
        case BulkOutcome::sent: return "sent";
        case BulkOutcome::already_sent: return "already_sent";
        case BulkOutcome::suppressed: return "suppressed";
        case BulkOutcome::failed: return "failed";
        case BulkOutcome::in_doubt: return "in_doubt";
    }
    return "?";
}

BulkCsv parse_bulk_csv(std::string_view text) {
    BulkCsv out;
    bool first = true;
    for (Record& r : split_csv(text)) {
        const bool header = first && !r.fields.empty() && trim(r.fields[0]) == "address";
        first = false;
        if (header) continue;
        if (!r.error.empty()) {
            out.errors.push_back({r.line, r.error});
            continue;
        }
        if (r.fields.size() > 3) {
            out.errors.push_back({r.line, "expected address,data,tags but found " + std::to_string(r.fields.size()) +
                                              " fields (quote JSON that contains commas)"});
            continue;
        }
        BulkRow row;
        row.line = r.line;
        row.address = trim(r.fields[0]);
        if (!core::is_plausible_address(core::normalize_address(row.address))) {
            out.errors.push_back({r.line, "not an email address: \"" + row.address + "\""});
            continue;
        }
        row.template_data = r.fields.size() > 1 ? trim(r.fields[1]) : "";
        if (row.template_data.empty()) row.template_data = "{}";
        const auto j = nlohmann::json::parse(row.template_data, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            out.errors.push_back({r.line, "template data is not a JSON object: " + row.template_data.substr(0, 80)});
            continue;
        }
        std::string bad_tag;
        if (r.fields.size() > 2) {
            std::string_view tags = r.fields[2];
            while (!tags.empty()) {
                const auto semi = tags.find(';');
                const std::string item = trim(std::string(tags.substr(0, semi)));
                tags = semi == std::string_view::npos ? std::string_view{} : tags.substr(semi + 1);
                if (item.empty()) continue;
                const auto eq = item.find('=');
                std::string k = eq == std::string::npos ? item : item.substr(0, eq);
                std::string v = eq == std::string::npos ? "" : item.substr(eq + 1);
                if (!is_valid_tag_part(k) || !is_valid_tag_part(v) || k == core::k_send_id_tag) {
                    bad_tag = item;
                    break;
                }
                row.tags.emplace_back(std::move(k), std::move(v));
            }
        }
        if (!bad_tag.empty()) {
            out.errors.push_back({r.line, "bad tag \"" + bad_tag + "\" (k=v, 1-256 letters, digits, '_' or '-')"});
            continue;
        }
        out.rows.push_back(std::move(row));
    }
    return out;
}

std::string bulk_file_key(std::string_view text) {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%016llx-%zu", static_cast<unsigned long long>(h), text.size());
    return buf;
}

// One send_bulk() call: rows admitted one by one (suppression, then the send recorded), gathered
// into batches of up to 50 destinations, called a wave of bulk_concurrency batches at a time,
// and recorded in row order. Only the SES call (with its pacing and throttle backoff) runs on
// other threads; every store access stays on this one (a Store is not thread-safe).
class Sender::BulkRun {
public:
    BulkRun(Sender& sender, const BulkRequest& req, const BulkProgress& progress)
        : m_sender(sender), m_req(req), m_progress(progress), m_results(req.rows.size()) {}

    std::vector<BulkRowResult> run() {
        for (std::size_t i = 0; i < m_req.rows.size(); ++i) {
            if (admit(i)) {
                if (m_batch.size() == k_max_bulk_destinations) flush();
            }
        }
        flush();
        run_wave();
        if (m_progress) m_progress(m_req.rows.size(), m_req.rows.size());
        return std::move(m_results);
    }

private:
    using Answer = aws::Result<std::vector<aws::BulkEmailResult>>;
    struct Pending {
        std::size_t index;
        std::string send_id;
    };
    struct Batch {
        std::vector<Pending> rows;
        aws::SendBulkEmailRequest call;
    };

    // Checks row i's address against the suppression list and records its send; true when the
    // row joined the batch for an SES call, false when its outcome is already known.
    bool admit(std::size_t i) {
        const BulkRow& row = m_req.rows[i];
        BulkRowResult& out = m_results[i];
        out.line = row.line;
        out.address = core::normalize_address(row.address);
        const util::UnixMillis now = m_sender.m_clock.now_millis();
        store::Store& store = m_sender.m_store;

        auto s = store.suppression(out.address);
        if (s && (!*s || ((*s)->expires_at && *(*s)->expires_at <= now)))
            s = m_sender.apply_soft_bounce_policy(out.address, *s, now);
        if (!s) {
            out.outcome = BulkOutcome::failed;
            out.detail = "checking the suppression list: " + s.error().describe();
            return false;
        }
        if (*s && !m_req.force) {
            out.outcome = BulkOutcome::suppressed;
            out.detail =
                std::string(core::to_string((*s)->reason)) + ((*s)->detail.empty() ? "" : " (" + (*s)->detail + ")");
            return false;
        }
        store::SendRecord draft;
        draft.send_id = m_sender.m_ids.next(now);
        draft.idempotency_key = "bulk:" + m_req.file_key + ":" + std::to_string(row.line);
        draft.created_at = now;
        draft.from = m_req.from;
        draft.template_name = m_req.template_name;
        draft.configuration_set = m_req.configuration_set;
        draft.recipients = {{out.address, store::RecipientRole::to, {}}};
        auto claim = store.begin_send(draft);
        if (!claim) {
            out.outcome = BulkOutcome::failed;
            out.detail = "recording the send: " + claim.error().describe();
            return false;
        }
        if (!claim->created) {
            out.send_id = claim->send.send_id;
            if (claim->send.status == store::SendStatus::sent) {
                out.outcome = BulkOutcome::already_sent;
                out.ses_message_id = claim->send.ses_message_id;
                return false;
            }
            if (claim->send.status == store::SendStatus::queued) {
                out.outcome = BulkOutcome::in_doubt;
                out.detail = "an earlier run's call for this row has no recorded outcome; not sending again";
                return false;
            }
            if (!store.retry_send(claim->send.send_id, now)) {
                out.outcome = BulkOutcome::failed;
                out.detail = "recording a new attempt failed";
                return false;
            }
        }
        m_batch.push_back({i, claim->send.send_id});
        return true;
    }

    // The gathered rows become one SendBulkEmail request, ready for the next wave.
    void flush() {
        if (m_batch.empty()) return;
        Batch b;
        b.call.from = m_req.from;
        b.call.default_template = {m_req.template_name, "{}"};
        b.call.default_tags = m_req.tags;
        b.call.configuration_set = m_req.configuration_set;
        for (const Pending& p : m_batch) {
            const BulkRow& row = m_req.rows[p.index];
            aws::BulkEmailEntry e;
            e.destination.to = {row.address};
            e.replacement_tags = row.tags;
            e.replacement_tags.emplace_back(std::string(core::k_send_id_tag), p.send_id);
            e.replacement_template_data = row.template_data;
            b.call.entries.push_back(std::move(e));
        }
        b.rows = std::move(m_batch);
        m_batch.clear();
        m_ready.push_back(std::move(b));
        if (m_ready.size() >= static_cast<std::size_t>(std::max(1, m_sender.m_options.bulk_concurrency))) run_wave();
    }

    // Calls every ready batch, up to bulk_concurrency at once, then records them in row order.
    void run_wave() {
        if (m_ready.empty()) return;
        std::vector<Answer> answers;
        if (m_ready.size() == 1) {
            answers.push_back(call_ses(m_ready[0].call, m_ready[0].rows.size()));
        } else {
            std::vector<std::future<Answer>> calls;
            for (const Batch& b : m_ready) {
                calls.push_back(std::async(std::launch::async, [this, &b] { return call_ses(b.call, b.rows.size()); }));
            }
            for (auto& f : calls) answers.push_back(f.get());
        }
        for (std::size_t i = 0; i < m_ready.size(); ++i) {
            record(m_ready[i], answers[i]);
            m_done_rows = std::max(m_done_rows, m_ready[i].rows.back().index + 1);
        }
        m_ready.clear();
        if (m_progress) m_progress(m_done_rows, m_req.rows.size());
    }

    // Runs on a wave's threads: touches only the rate limiter, SES and the sleeper.
    Answer call_ses(const aws::SendBulkEmailRequest& call, std::size_t destinations) {
        Answer answer = aws::fail(aws::ErrorKind::throttled, "not called");
        auto backoff = m_sender.m_options.throttle_backoff;
        for (int attempt = 0;; ++attempt) {
            for (std::size_t i = 0; i < destinations; ++i) m_sender.m_limiter.acquire();
            answer = m_sender.m_ses.send_bulk_email(call);
            if (answer || answer.error().kind != aws::ErrorKind::throttled ||
                attempt >= m_sender.m_options.max_throttle_retries)
                break;
            m_sender.m_limiter.on_throttled();
            m_sender.m_sleeper.sleep_for(backoff);
            backoff *= 2;
        }
        if (answer && answer->size() != destinations) {
            answer = aws::fail(aws::ErrorKind::parse, "SendBulkEmail answered " + std::to_string(answer->size()) +
                                                          " results for " + std::to_string(destinations) + " entries");
        }
        if (answer) m_sender.m_limiter.on_success();
        return answer;
    }

    // A call that failed as a whole: in doubt when SES may have taken it (stays queued; the Send
    // event reconciles it), else failed.
    void record_call_failure(BulkRowResult& out, const aws::Error& e, util::UnixMillis done) {
        if (aws::outcome_unknown(e) || e.kind == aws::ErrorKind::parse) {
            out.outcome = BulkOutcome::in_doubt;
            out.detail = "SES may have sent it: " + e.describe();
            return;
        }
        out.outcome = BulkOutcome::failed;
        out.detail = e.describe();
        const std::string code = e.code.empty() ? std::string(aws::to_string(e.kind)) : e.code;
        if (auto w = m_sender.m_store.send_failed(out.send_id, code, e.message, done); !w) {
            out.detail += " (and recording the failure failed: " + w.error().describe() + ")";
        }
    }

    AcceptedMail accepted_mail(const Batch& b, std::size_t i, const BulkRowResult& out, util::UnixMillis done) const {
        const BulkRow& row = m_req.rows[b.rows[i].index];
        AcceptedMail mail;
        mail.send_id = out.send_id;
        mail.ses_message_id = out.ses_message_id;
        mail.timestamp = done;
        mail.source = m_req.from;
        mail.destination = {out.address};
        mail.header_to = {row.address};
        mail.configuration_set = m_req.configuration_set;
        mail.operation = "SendBulkEmail";
        mail.tags = b.call.default_tags;
        for (const auto& t : b.call.entries[i].replacement_tags) mail.tags.push_back(t);
        return mail;
    }

    void record(const Batch& b, const Answer& answer) {
        const util::UnixMillis done = m_sender.m_clock.now_millis();
        store::Store& store = m_sender.m_store;
        std::vector<AcceptedMail> accepted;  // told to the observer together, after the batch is recorded
        std::vector<std::size_t> accepted_rows;
        for (std::size_t i = 0; i < b.rows.size(); ++i) {
            BulkRowResult& out = m_results[b.rows[i].index];
            out.send_id = b.rows[i].send_id;
            if (!answer) {
                record_call_failure(out, answer.error(), done);
                continue;
            }
            const aws::BulkEmailResult& r = (*answer)[i];
            if (r.status != "SUCCESS" || r.message_id.empty()) {
                out.outcome = BulkOutcome::failed;
                out.detail = r.status + (r.error.empty() ? "" : ": " + r.error);
                if (auto w = store.send_failed(out.send_id, r.status, r.error, done); !w) {
                    out.detail += " (and recording the failure failed: " + w.error().describe() + ")";
                }
                continue;
            }
            out.outcome = BulkOutcome::sent;
            out.ses_message_id = r.message_id;
            if (auto w = store.send_accepted(out.send_id, r.message_id, done); !w) {
                out.detail = "sent, but recording the message id failed: " + w.error().describe();
            }
            if (m_sender.m_observer) {
                accepted.push_back(accepted_mail(b, i, out, done));
                accepted_rows.push_back(b.rows[i].index);
            }
        }
        if (accepted.empty()) return;
        auto told = m_sender.m_observer->on_accepted_all(accepted);
        for (std::size_t k = 0; k < told.size() && k < accepted_rows.size(); ++k) {
            if (told[k]) continue;
            std::string& detail = m_results[accepted_rows[k]].detail;
            detail += (detail.empty() ? "" : "; ") + told[k].error().describe();
        }
    }

    Sender& m_sender;
    const BulkRequest& m_req;
    const BulkProgress& m_progress;
    std::vector<BulkRowResult> m_results;
    std::vector<Pending> m_batch;
    std::vector<Batch> m_ready;  // built, waiting for a wave of concurrent calls
    std::size_t m_done_rows = 0;
};

std::vector<BulkRowResult> Sender::send_bulk(const BulkRequest& req, const BulkProgress& progress) {
    return BulkRun(*this, req, progress).run();
}

}  // namespace mailtrack::sender
