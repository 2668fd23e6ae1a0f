// libFuzzer target for the SES/SNS event parser: any bytes must give an event or a typed
// error, never a crash, hang or sanitizer report.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mailtrack/core/state.hpp"
#include "mailtrack/ses/documents.hpp"
#include "mailtrack/ses/event_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static mailtrack::ses::EventParser parser(256 * 1024);
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // Parsing into an event kept across inputs (as the Ingestor does) must agree with a fresh
    // parse, whatever the previous input left in it.
    static mailtrack::core::SesEvent reused;
    for (const auto& doc : mailtrack::ses::split_documents(input)) {
        auto event = parser.parse(doc.text);
        const bool reused_ok = parser.parse_into(doc.text, reused).has_value();
        if (reused_ok != event.has_value()) __builtin_trap();
        if (event &&
            (reused.id != event->id || reused.raw_json != event->raw_json ||
             reused.mail.message_id != event->mail.message_id || reused.detail.index() != event->detail.index())) {
            __builtin_trap();
        }
        if (event) {
            // What the store would do with it must hold up too.
            const auto effects = mailtrack::core::effects_of(*event);
            (void)effects;
        } else if (event.error().message.empty()) {
            __builtin_trap();  // every error names its problem
        }
    }
    return 0;
}
