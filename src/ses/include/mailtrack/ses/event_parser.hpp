#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "mailtrack/core/event.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::ses {

// Parses one SES event document as it arrives from SQS or a file: either SES's JSON itself
// (SNS raw message delivery) or an SNS `Notification` envelope whose `Message` is that JSON
// as a string. Both SES formats are accepted: event publishing (`eventType`) and identity
// notifications (`notificationType`). Which one is detected from the document.
//
// Errors are ErrorKind::invalid_input (malformed: the message names the JSON path and what
// is wrong, e.g. `bounce.bouncedRecipients[1].emailAddress: expected a string, got number`)
// or ErrorKind::unsupported (well-formed but not an SES event, e.g. an SNS
// SubscriptionConfirmation). Unknown event types are not errors: they parse to
// EventType::unknown. Unknown fields are ignored.
//
// Not thread-safe: use one parser per thread. Reusing a parser keeps its buffers.
class EventParser {
public:
    static constexpr std::size_t k_default_max_document_bytes = 1024 * 1024;

    explicit EventParser(std::size_t max_document_bytes = k_default_max_document_bytes);
    ~EventParser();
    EventParser(const EventParser&) = delete;
    EventParser& operator=(const EventParser&) = delete;

    util::Result<core::SesEvent> parse(std::string_view document);

    // The same, into an event the caller keeps across documents: its strings and vectors are
    // refilled in place, so parsing into warm events allocates next to nothing. On error `out`
    // holds an unspecified (but valid) mix of old and new values and must not be used.
    util::Result<void> parse_into(std::string_view document, core::SesEvent& out);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace mailtrack::ses
