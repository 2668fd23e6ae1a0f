#pragma once

#include <string>
#include <string_view>

namespace mailtrack::core {

// The key a recipient is tracked under: surrounding whitespace trimmed, the domain lower-cased.
// The local part keeps its case (RFC 5321 makes it case-sensitive, though few hosts treat it so).
// A display-name form "Name <a@b>" is reduced to the address inside the brackets.
std::string normalize_address(std::string_view address);

// A conservative syntax check for addresses we are asked to send to or suppress:
// one '@', a non-empty local part without spaces or control characters, a domain with
// at least one dot and only letters, digits, '-', '.' (or an IDN in UTF-8).
bool is_plausible_address(std::string_view normalized) noexcept;

}  // namespace mailtrack::core
