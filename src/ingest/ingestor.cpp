#include "mailtrack/ingest/ingestor.hpp"

#include <span>

#include "mailtrack/ses/documents.hpp"

namespace mailtrack::ingest {

Ingestor::Ingestor(store::Store& store, std::size_t batch_size, std::size_t max_document_bytes)
    : m_store(store), m_batch_size(batch_size == 0 ? 1 : batch_size), m_parser(max_document_bytes) {
    m_pending.reserve(m_batch_size);
}

util::Result<void> Ingestor::add(std::string_view document, std::string_view origin) {
    ++m_report.documents;
    // Events are parsed into slots kept across batches, so their storage is reused.
    if (m_pending_count == m_pending.size()) m_pending.emplace_back();
    if (auto parsed = m_parser.parse_into(document, m_pending[m_pending_count]); !parsed) {
        ++m_report.rejected;
        m_report.rejections.push_back({std::string(origin), parsed.error().describe()});
        return {};
    }
    ++m_pending_count;
    if (m_pending_count >= m_batch_size) return flush();
    return {};
}

util::Result<void> Ingestor::add_input(std::string_view input, std::string_view name) {
    for (const ses::Document& d : ses::split_documents(input)) {
        if (auto r = add(d.text, std::string(name) + ":" + std::to_string(d.line)); !r) return r;
    }
    return {};
}

util::Result<void> Ingestor::flush() {
    if (m_pending_count == 0) return {};
    MAILTRACK_TRY_ASSIGN(auto applied,
                         m_store.apply(std::span<const core::SesEvent>(m_pending.data(), m_pending_count)));
    m_report.applied += applied.applied;
    m_report.duplicates += applied.duplicates;
    m_report.unknown += applied.unknown;
    ++m_report.batches;
    m_pending_count = 0;
    return {};
}

}  // namespace mailtrack::ingest
