#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailtrack/core/event.hpp"
#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/store/store.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::ingest {

struct Rejection {
    std::string origin;  // "file:line", or an SQS message id
    std::string reason;
};

struct IngestReport {
    std::int64_t documents = 0;
    std::int64_t applied = 0;
    std::int64_t duplicates = 0;
    std::int64_t unknown = 0;
    std::int64_t rejected = 0;
    std::int64_t batches = 0;
    std::vector<Rejection> rejections;
};

// Parses event documents and applies them to a store in batches of `batch_size`.
// A document that does not parse is recorded as a rejection and never stops the others.
// Not thread-safe.
class Ingestor {
public:
    Ingestor(store::Store& store, std::size_t batch_size, std::size_t max_document_bytes);

    // Parses one document; applies a batch when one is full. A store error is returned and
    // the events of that batch stay pending (a later flush() retries them).
    util::Result<void> add(std::string_view document, std::string_view origin);
    // Parses every document of an input (one JSON document or NDJSON), origin "name:line".
    util::Result<void> add_input(std::string_view input, std::string_view name);
    // Applies what is pending.
    util::Result<void> flush();

    const IngestReport& report() const { return m_report; }

private:
    store::Store& m_store;
    std::size_t m_batch_size;
    ses::EventParser m_parser;
    // The first m_pending_count events are the pending batch; the rest are parsed-into slots
    // kept for their storage (see EventParser::parse_into).
    std::vector<core::SesEvent> m_pending;
    std::size_t m_pending_count = 0;
    IngestReport m_report;
};

}  // namespace mailtrack::ingest
