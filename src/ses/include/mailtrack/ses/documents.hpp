#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace mailtrack::ses {

// One JSON document inside an input file, with the 1-based line it starts on.
struct Document {
    std::size_t line = 1;
    std::string_view text;
};

// Splits an input into documents. A file that is one JSON value (pretty-printed or not), or
// that starts with a line holding only "{", is one document; anything else is NDJSON, one
// document per non-blank line, so one bad line never hides the lines after it.
std::vector<Document> split_documents(std::string_view input);

}  // namespace mailtrack::ses
