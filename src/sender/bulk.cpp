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

std::vector<BulkRowResult> Sender::send_bulk(const BulkRequest& req, const BulkProgress& progress) {
    std::vector<BulkRowResult> results(req.rows.size());
    struct Pending {
        std::size_t index;
        std::string send_id;
    };
    using Answer = aws::Result<std::vector<aws::BulkEmailResult>>;
    struct Batch {
        std::vector<Pending> rows;
        aws::SendBulkEmailRequest call;
    };
    std::vector<Pending> batch;
    std::vector<Batch> ready;  // built, waiting for a wave of concurrent calls

    // Only the SES call (with its pacing and throttle backoff) runs on other threads; every
    // store access stays on this one (a Store is not thread-safe).
    auto call_ses = [this](const aws::SendBulkEmailRequest& call, std::size_t destinations) -> Answer {
        Answer answer = aws::fail(aws::ErrorKind::throttled, "not called");
        auto backoff = m_options.throttle_backoff;
        for (int attempt = 0;; ++attempt) {
            for (std::size_t i = 0; i < destinations; ++i) m_limiter.acquire();
            answer = m_ses.send_bulk_email(call);
            if (answer || answer.error().kind != aws::ErrorKind::throttled || attempt >= m_options.max_throttle_retries)
                break;
            m_limiter.on_throttled();
            m_sleeper.sleep_for(backoff);
            backoff *= 2;
        }
        if (answer && answer->size() != destinations) {
            answer = aws::fail(aws::ErrorKind::parse, "SendBulkEmail answered " + std::to_string(answer->size()) +
                                                          " results for " + std::to_string(destinations) + " entries");
        }
        if (answer) m_limiter.on_success();
        return answer;
    };

    auto record = [&](const Batch& b, const Answer& answer) {
        const util::UnixMillis done = m_clock.now_millis();
        std::vector<AcceptedMail> accepted;  // told to the observer together, after the batch is recorded
        std::vector<std::size_t> accepted_rows;
        for (std::size_t i = 0; i < b.rows.size(); ++i) {
            BulkRowResult& out = results[b.rows[i].index];
            out.send_id = b.rows[i].send_id;
            if (!answer) {
                const aws::Error& e = answer.error();
                if (aws::outcome_unknown(e) || e.kind == aws::ErrorKind::parse) {
                    out.outcome = BulkOutcome::in_doubt;  // stays queued; the Send event reconciles it
                    out.detail = "SES may have sent it: " + e.describe();
                } else {
                    out.outcome = BulkOutcome::failed;
                    out.detail = e.describe();
                    if (auto w = m_store.send_failed(out.send_id,
                                                     e.code.empty() ? std::string(aws::to_string(e.kind)) : e.code,
                                                     e.message, done);
                        !w) {
                        out.detail += " (and recording the failure failed: " + w.error().describe() + ")";
                    }
                }
                continue;
            }
            const aws::BulkEmailResult& r = (*answer)[i];
            if (r.status == "SUCCESS" && !r.message_id.empty()) {
                out.outcome = BulkOutcome::sent;
                out.ses_message_id = r.message_id;
                if (auto w = m_store.send_accepted(out.send_id, r.message_id, done); !w) {
                    out.detail = "sent, but recording the message id failed: " + w.error().describe();
                }
                if (m_observer) {
                    const BulkRow& row = req.rows[b.rows[i].index];
                    AcceptedMail mail;
                    mail.send_id = out.send_id;
                    mail.ses_message_id = r.message_id;
                    mail.timestamp = done;
                    mail.source = req.from;
                    mail.destination = {out.address};
                    mail.header_to = {row.address};
                    mail.configuration_set = req.configuration_set;
                    mail.operation = "SendBulkEmail";
                    mail.tags = b.call.default_tags;
                    for (const auto& t : b.call.entries[i].replacement_tags) mail.tags.push_back(t);
                    accepted.push_back(std::move(mail));
                    accepted_rows.push_back(b.rows[i].index);
                }
            } else {
                out.outcome = BulkOutcome::failed;
                out.detail = r.status + (r.error.empty() ? "" : ": " + r.error);
                if (auto w = m_store.send_failed(out.send_id, r.status, r.error, done); !w) {
                    out.detail += " (and recording the failure failed: " + w.error().describe() + ")";
                }
            }
        }
        if (accepted.empty()) return;
        auto told = m_observer->on_accepted_all(accepted);
        for (std::size_t k = 0; k < told.size() && k < accepted_rows.size(); ++k) {
            if (told[k]) continue;
            std::string& detail = results[accepted_rows[k]].detail;
            detail += (detail.empty() ? "" : "; ") + told[k].error().describe();
        }
    };

    std::size_t done_rows = 0;
    // Calls every ready batch, up to bulk_concurrency at once, then records them in row order.
    auto run_wave = [&] {
        if (ready.empty()) return;
        std::vector<Answer> answers;
        if (ready.size() == 1) {
            answers.push_back(call_ses(ready[0].call, ready[0].rows.size()));
        } else {
            std::vector<std::future<Answer>> calls;
            for (const Batch& b : ready) {
                calls.push_back(std::async(std::launch::async, call_ses, std::cref(b.call), b.rows.size()));
            }
            for (auto& f : calls) answers.push_back(f.get());
        }
        for (std::size_t i = 0; i < ready.size(); ++i) {
            record(ready[i], answers[i]);
            done_rows = std::max(done_rows, ready[i].rows.back().index + 1);
        }
        ready.clear();
        if (progress) progress(done_rows, req.rows.size());
    };

    auto flush = [&] {
        if (batch.empty()) return;
        Batch b;
        b.call.from = req.from;
        b.call.default_template = {req.template_name, "{}"};
        b.call.default_tags = req.tags;
        b.call.configuration_set = req.configuration_set;
        for (const Pending& p : batch) {
            const BulkRow& row = req.rows[p.index];
            aws::BulkEmailEntry e;
            e.destination.to = {row.address};
            e.replacement_tags = row.tags;
            e.replacement_tags.emplace_back(std::string(core::k_send_id_tag), p.send_id);
            e.replacement_template_data = row.template_data;
            b.call.entries.push_back(std::move(e));
        }
        b.rows = std::move(batch);
        batch.clear();
        ready.push_back(std::move(b));
        if (ready.size() >= static_cast<std::size_t>(std::max(1, m_options.bulk_concurrency))) run_wave();
    };

    for (std::size_t i = 0; i < req.rows.size(); ++i) {
        const BulkRow& row = req.rows[i];
        BulkRowResult& out = results[i];
        out.line = row.line;
        out.address = core::normalize_address(row.address);
        const util::UnixMillis now = m_clock.now_millis();

        auto s = m_store.suppression(out.address);
        if (s && (!*s || ((*s)->expires_at && *(*s)->expires_at <= now)))
            s = apply_soft_bounce_policy(out.address, *s, now);
        if (!s) {
            out.outcome = BulkOutcome::failed;
            out.detail = "checking the suppression list: " + s.error().describe();
        } else if (*s && !req.force) {
            out.outcome = BulkOutcome::suppressed;
            out.detail =
                std::string(core::to_string((*s)->reason)) + ((*s)->detail.empty() ? "" : " (" + (*s)->detail + ")");
        } else {
            store::SendRecord draft;
            draft.send_id = m_ids.next(now);
            draft.idempotency_key = "bulk:" + req.file_key + ":" + std::to_string(row.line);
            draft.created_at = now;
            draft.from = req.from;
            draft.template_name = req.template_name;
            draft.configuration_set = req.configuration_set;
            draft.recipients = {{out.address, store::RecipientRole::to, {}}};
            auto claim = m_store.begin_send(draft);
            if (!claim) {
                out.outcome = BulkOutcome::failed;
                out.detail = "recording the send: " + claim.error().describe();
            } else if (!claim->created && claim->send.status == store::SendStatus::sent) {
                out.outcome = BulkOutcome::already_sent;
                out.send_id = claim->send.send_id;
                out.ses_message_id = claim->send.ses_message_id;
            } else if (!claim->created && claim->send.status == store::SendStatus::queued) {
                out.outcome = BulkOutcome::in_doubt;
                out.send_id = claim->send.send_id;
                out.detail = "an earlier run's call for this row has no recorded outcome; not sending again";
            } else if (!claim->created && !m_store.retry_send(claim->send.send_id, now)) {
                out.outcome = BulkOutcome::failed;
                out.send_id = claim->send.send_id;
                out.detail = "recording a new attempt failed";
            } else {
                batch.push_back({i, claim->send.send_id});
                if (batch.size() == k_max_bulk_destinations) flush();
                continue;
            }
        }
    }
    flush();
    run_wave();
    if (progress) progress(req.rows.size(), req.rows.size());
    return results;
}

}  // namespace mailtrack::sender
