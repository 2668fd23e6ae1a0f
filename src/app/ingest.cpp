#include "mailtrack/app/ingest.hpp"

#include "mailtrack/ses/documents.hpp"

namespace mailtrack::app {

Ingestor::Ingestor(store::Store& store, std::size_t batch_size, std::size_t max_document_bytes)
    : m_store(store), m_batch_size(batch_size == 0 ? 1 : batch_size), m_parser(max_document_bytes) {
    m_pending.reserve(m_batch_size);
}

util::Result<void> Ingestor::add(std::string_view document, std::string_view origin) {
    ++m_report.documents;
    auto event = m_parser.parse(document);
    if (!event) {
        ++m_report.rejected;
        m_report.rejections.push_back({std::string(origin), event.error().describe()});
        return {};
    }
    m_pending.push_back(std::move(*event));
    if (m_pending.size() >= m_batch_size) return flush();
    return {};
}

util::Result<void> Ingestor::add_input(std::string_view input, std::string_view name) {
    for (const ses::Document& d : ses::split_documents(input)) {
        if (auto r = add(d.text, std::string(name) + ":" + std::to_string(d.line)); !r) return r;
    }
    return {};
}

util::Result<void> Ingestor::flush() {
    if (m_pending.empty()) return {};
    auto applied = m_store.apply(m_pending);
    if (!applied) return util::Unexpected(std::move(applied).error());
    m_report.applied += applied->applied;
    m_report.duplicates += applied->duplicates;
    m_report.unknown += applied->unknown;
    ++m_report.batches;
    m_pending.clear();
    return {};
}

}  // namespace mailtrack::app
