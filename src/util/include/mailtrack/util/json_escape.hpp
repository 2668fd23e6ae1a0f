#pragma once

#include <string>
#include <string_view>

namespace mailtrack::util {

// Appends `text` to `out` as a JSON string literal (with the quotes). Control characters
// are escaped; invalid UTF-8 is passed through unchanged.
void append_json_string(std::string& out, std::string_view text);

}  // namespace mailtrack::util
