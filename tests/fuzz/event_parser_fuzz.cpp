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
    for (const auto& doc : mailtrack::ses::split_documents(input)) {
        auto event = parser.parse(doc.text);
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
