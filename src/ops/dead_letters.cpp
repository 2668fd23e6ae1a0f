#include "mailtrack/ops/dead_letters.hpp"

#include <set>

#include "mailtrack/ingest/ingestor.hpp"
#include "mailtrack/ses/event_parser.hpp"

namespace mailtrack::ops {
namespace {

// Long enough to list the queue without seeing a message twice; inspect gives them back at once.
constexpr int k_inspect_visibility_s = 60;

util::Unexpected<util::Error> aws_failure(const char* what, const aws::Error& e) {
    util::Error u = aws::to_util_error(e);
    u.message = std::string(what) + ": " + u.message;
    return util::Unexpected(std::move(u));
}

std::string attribute(const aws::SqsMessage& m, const char* name) {
    const auto it = m.message_attributes.find(name);
    return it == m.message_attributes.end() ? std::string() : it->second.string_value;
}

util::Result<std::vector<aws::SqsMessage>> receive_batch(aws::SqsClient& sqs, const std::string& url, int visibility) {
    aws::ReceiveMessageRequest req;
    req.queue_url = url;
    req.max_messages = 10;
    req.wait_seconds = 1;  // a short wait rides over an empty answer from one of SQS's hosts
    req.visibility_timeout = visibility;
    auto r = sqs.receive_message(req);
    if (!r) return aws_failure("ReceiveMessage", r.error());
    return std::move(*r);
}

// Makes received messages visible again at once, ten per call. Best effort: a message not given
// back becomes visible when its visibility timeout ends anyway.
void make_visible(aws::SqsClient& sqs, const std::string& url, const std::vector<aws::VisibilityEntry>& entries) {
    for (std::size_t i = 0; i < entries.size(); i += 10) {
        const auto end = std::min(i + 10, entries.size());
        std::vector<aws::VisibilityEntry> chunk(entries.begin() + static_cast<std::ptrdiff_t>(i),
                                                entries.begin() + static_cast<std::ptrdiff_t>(end));
        (void)sqs.change_message_visibility_batch(url, chunk);
    }
}

}  // namespace

util::Result<std::vector<DeadLetter>> inspect_dead_letters(aws::SqsClient& sqs, const std::string& dlq_url,
                                                           std::size_t limit, std::size_t max_document_bytes) {
    ses::EventParser parser(max_document_bytes);
    std::vector<DeadLetter> out;
    std::vector<aws::VisibilityEntry> give_back;
    std::set<std::string> seen;
    util::Result<void> failure;
    while (out.size() < limit) {
        auto batch = receive_batch(sqs, dlq_url, k_inspect_visibility_s);
        if (!batch) {
            failure = util::Unexpected(std::move(batch).error());
            break;
        }
        if (batch->empty()) break;
        bool fresh = false;
        for (auto& m : *batch) {
            give_back.push_back({std::to_string(give_back.size()), m.receipt_handle, 0});
            if (!seen.insert(m.message_id).second || out.size() >= limit) continue;
            fresh = true;
            DeadLetter d;
            d.message_id = m.message_id;
            d.receive_count = m.receive_count().value_or(0);
            d.reject_reason = attribute(m, "mailtrack.reject_reason");
            d.source_queue = attribute(m, "mailtrack.source_queue");
            d.source_message_id = attribute(m, "mailtrack.source_message_id");
            if (auto e = parser.parse(m.body); !e) d.parse_error = e.error().describe();
            d.body = std::move(m.body);
            out.push_back(std::move(d));
        }
        if (!fresh) break;
    }
    make_visible(sqs, dlq_url, give_back);
    if (!failure) return util::Unexpected(std::move(failure).error());
    return out;
}

util::Result<RedriveReport> redrive_dead_letters(aws::SqsClient& sqs, const std::string& dlq_url,
                                                 const std::string& queue_url, std::size_t limit) {
    RedriveReport report;
    while (report.moved < limit) {
        MAILTRACK_TRY_ASSIGN(auto batch, receive_batch(sqs, dlq_url, 60));
        if (batch.empty()) break;
        for (const auto& m : batch) {
            if (report.moved >= limit) break;  // the rest reappear after the short visibility timeout
            aws::SendMessageRequest send;
            send.queue_url = queue_url;
            send.body = m.body;
            if (auto r = sqs.send_message(send); !r) return aws_failure("SendMessage", r.error());
            if (auto r = sqs.delete_message(dlq_url, m.receipt_handle); !r)
                return aws_failure("DeleteMessage", r.error());
            ++report.moved;
        }
    }
    return report;
}

util::Result<ApplyRedriveReport> apply_dead_letters(aws::SqsClient& sqs, const std::string& dlq_url,
                                                    store::Store& store, std::size_t limit,
                                                    std::size_t max_document_bytes) {
    ApplyRedriveReport report;
    std::vector<aws::VisibilityEntry> give_back;  // still failing: visible again at the end
    std::set<std::string> seen;
    util::Result<void> failure;
    while (report.applied + report.still_failing.size() < limit) {
        auto batch = receive_batch(sqs, dlq_url, 60);
        if (!batch) {
            failure = util::Unexpected(std::move(batch).error());
            break;
        }
        if (batch->empty()) break;
        // The batch goes through the one ingest path; a batch size above the batch's keeps it one
        // transaction, applied by flush() below.
        ingest::Ingestor ingestor(store, batch->size() + 1, max_document_bytes);
        std::vector<const aws::SqsMessage*> taken;
        bool fresh = false;
        for (auto& m : *batch) {
            if (!seen.insert(m.message_id).second ||
                report.applied + taken.size() + report.still_failing.size() >= limit) {
                give_back.push_back({std::to_string(give_back.size()), m.receipt_handle, 0});
                continue;
            }
            fresh = true;
            const std::size_t rejected_before = ingestor.report().rejections.size();
            (void)ingestor.add(m.body, m.message_id);  // never applies here (see the batch size), so never fails
            if (ingestor.report().rejections.size() > rejected_before) {
                report.still_failing.push_back({m.message_id, ingestor.report().rejections.back().reason});
                give_back.push_back({std::to_string(give_back.size()), m.receipt_handle, 0});
                continue;
            }
            taken.push_back(&m);
        }
        if (!taken.empty()) {
            if (auto applied = ingestor.flush(); !applied) {
                // Nothing of this batch is deleted: it reappears in the dead-letter queue.
                failure = util::Unexpected(std::move(applied).error());
                break;
            }
            report.new_events += ingestor.report().applied + ingestor.report().unknown;
            std::vector<aws::DeleteEntry> done;
            for (const aws::SqsMessage* m : taken) done.push_back({std::to_string(done.size()), m->receipt_handle});
            auto deleted = sqs.delete_message_batch(dlq_url, done);
            if (!deleted) {
                // Applied but not deleted: the next run finds them again as duplicates.
                failure = aws_failure("DeleteMessageBatch", deleted.error());
                break;
            }
            report.applied += done.size();
        }
        if (!fresh) break;
    }
    make_visible(sqs, dlq_url, give_back);
    if (!failure) return util::Unexpected(std::move(failure).error());
    return report;
}

}  // namespace mailtrack::ops
