#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mailtrack/aws/sqs.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::ops {

// One message of a dead-letter queue, as `mailtrack dlq inspect` shows it.
struct DeadLetter {
    std::string message_id;
    std::int64_t receive_count = 0;  // receives in the dead-letter queue, this one included
    std::string body;
    // Why it does not apply now: the parser's error for its body today, or empty when it parses
    // (then it died of something else, e.g. the store refusing its event, and a redrive will apply it).
    std::string parse_error;
    // What the worker recorded when it moved the message (message attributes mailtrack.*);
    // empty for messages the queue's redrive policy moved.
    std::string reject_reason;
    std::string source_queue;
    std::string source_message_id;
};

// Receives up to `limit` messages of `dlq_url` for a look, then makes them visible again at
// once: nothing is deleted. Each body is parsed with ses::EventParser to report its error.
util::Result<std::vector<DeadLetter>> inspect_dead_letters(aws::SqsClient& sqs, const std::string& dlq_url,
                                                           std::size_t limit, std::size_t max_document_bytes);

struct RedriveReport {
    std::size_t moved = 0;
};

// Moves up to `limit` messages from `dlq_url` to `queue_url`: SendMessage of the same body,
// then delete from the dead-letter queue (a crash in between leaves a copy in both, which the
// store's event identity makes harmless). Errors stop the redrive; what was moved stays moved.
util::Result<RedriveReport> redrive_dead_letters(aws::SqsClient& sqs, const std::string& dlq_url,
                                                 const std::string& queue_url, std::size_t limit);

struct ApplyRedriveReport {
    std::size_t applied = 0;      // messages whose event the store took (new or a duplicate)
    std::int64_t new_events = 0;  // of those, events the store did not have yet
    struct Failure {
        std::string message_id;
        std::string error;
    };
    std::vector<Failure> still_failing;  // do not parse yet: left in the dead-letter queue
};

// Applies up to `limit` dead letters straight to the store, without going through the main
// queue (e.g. after a fix, when the main queue is backed up or gone): each received batch is
// parsed, its events applied in one transaction, and only then are those messages deleted from
// the dead-letter queue. Messages that still do not parse stay there (made visible again at
// once) and are reported with their error. A store error stops the run with nothing of that
// batch deleted.
util::Result<ApplyRedriveReport> apply_dead_letters(aws::SqsClient& sqs, const std::string& dlq_url,
                                                    store::Store& store, std::size_t limit,
                                                    std::size_t max_document_bytes);

}  // namespace mailtrack::ops
