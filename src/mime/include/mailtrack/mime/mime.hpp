#pragma once

// Raw MIME messages, built and read by GMime (private to this layer). Nothing in mailtrack
// assembles MIME by hand: attachments and custom headers go out as what build_mime() returns.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::mime {

struct Attachment {
    std::string file_name;     // UTF-8; RFC 2231-encoded on the wire when not ASCII
    std::string content_type;  // "type/subtype"; empty = application/octet-stream
    std::string content;       // the raw bytes
};

// One message. Bcc recipients are deliberately absent: they travel only in the SES
// Destination, never in a header every recipient can read.
struct Message {
    std::string from;  // "addr" or "Display Name <addr>" (UTF-8 names are encoded)
    std::vector<std::string> to, cc, reply_to;
    std::string subject;  // UTF-8
    std::string text;     // text/plain body, UTF-8; may be empty
    std::string html;     // text/html body, UTF-8; may be empty
    std::vector<Attachment> attachments;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, values UTF-8
    std::optional<util::UnixMillis> date;                      // the Date header; none when unset
};

// Builds the message as CRLF MIME: text and HTML as multipart/alternative, attachments
// (base64) alongside in multipart/mixed, non-ASCII text quoted-printable with its charset.
// Errors (invalid_input): an unparseable address, no body and no attachment, a header name
// that is not a valid field name or that would replace a structural header (From, To, Cc,
// Bcc, Subject, Date, MIME-Version, Content-*), or a header value with CR or LF.
util::Result<std::string> build_mime(const Message& message);

// Reads a MIME message back (decoded subject, bodies with LF line breaks, attachments; every
// header that is not structural into `headers`). A single-part body comes back ending in a
// line break even when it was built without one. Errors (invalid_input) when GMime cannot parse it.
util::Result<Message> parse_mime(std::string_view raw);

}  // namespace mailtrack::mime
