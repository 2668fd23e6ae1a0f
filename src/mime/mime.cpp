#include "mailtrack/mime/mime.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <mutex>
#include <string_view>

namespace mailtrack::mime {
namespace {

using util::ErrorKind;
using util::Result;

// GObject macros cast C-style; these keep the casts in one place and -Wold-style-cast quiet.
template <typename To, typename From>
To* as(From* p) {
    return reinterpret_cast<To*>(p);
}

template <typename T>
bool is_a(T* p, GType type) {
    return p != nullptr && g_type_check_instance_is_a(as<GTypeInstance>(p), type) != 0;
}

struct Unref {
    void operator()(void* p) const {
        if (p != nullptr) g_object_unref(p);
    }
};
template <typename T>
using Ref = std::unique_ptr<T, Unref>;

struct GFree {
    void operator()(void* p) const { g_free(p); }
};

void init_once() {
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Headers the structure of the message owns: a caller's header may not replace them.
bool is_structural(std::string_view name) {
    static constexpr std::array<std::string_view, 9> k_names = {
        "from", "to", "cc", "bcc", "subject", "date", "mime-version", "reply-to", "message-id"};
    if (name.size() >= 8 && iequals(name.substr(0, 8), "content-")) return true;
    return std::any_of(k_names.begin(), k_names.end(), [&](std::string_view n) { return iequals(n, name); });
}

// RFC 5322 field name: printable US-ASCII except ':'.
bool is_field_name(std::string_view name) {
    if (name.empty()) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

Result<void> add_addresses(GMimeMessage* m, GMimeAddressType type, const std::vector<std::string>& addresses,
                           std::string_view field) {
    InternetAddressList* list = g_mime_message_get_addresses(m, type);
    for (const std::string& a : addresses) {
        Ref<InternetAddressList> parsed(internet_address_list_parse(nullptr, a.c_str()));
        if (!parsed || internet_address_list_length(parsed.get()) != 1 ||
            !is_a(internet_address_list_get_address(parsed.get(), 0), internet_address_mailbox_get_type())) {
            return util::fail(ErrorKind::invalid_input,
                              std::string(field) + ": not one mailbox address: \"" + a + "\"");
        }
        internet_address_list_append(list, parsed.get());
    }
    return {};
}

GMimeTextPart* text_part(const char* subtype, const std::string& text) {
    GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
    g_mime_text_part_set_text(part, text.c_str());
    // 7-bit safe on the wire (quoted-printable when needed), so no relay has to re-encode it.
    g_mime_part_set_content_encoding(as<GMimePart>(part), g_mime_part_get_best_content_encoding(
                                                              as<GMimePart>(part), GMIME_ENCODING_CONSTRAINT_7BIT));
    return part;
}

Result<GMimePart*> attachment_part(const Attachment& a) {
    const std::string type = a.content_type.empty() ? "application/octet-stream" : a.content_type;
    Ref<GMimeContentType> ct(g_mime_content_type_parse(nullptr, type.c_str()));
    if (!ct || g_mime_content_type_get_media_type(ct.get()) == nullptr ||
        g_mime_content_type_get_media_subtype(ct.get()) == nullptr || type.find('/') == std::string::npos) {
        return util::fail(ErrorKind::invalid_input,
                          "attachment " + a.file_name + ": invalid content type \"" + type + "\"");
    }
    if (a.file_name.empty()) return util::fail(ErrorKind::invalid_input, "attachment without a file name");
    GMimePart* part = g_mime_part_new();
    g_mime_object_set_content_type(as<GMimeObject>(part), ct.get());
    Ref<GMimeContentDisposition> disposition(g_mime_content_disposition_parse(nullptr, "attachment"));
    g_mime_object_set_content_disposition(as<GMimeObject>(part), disposition.get());
    g_mime_part_set_filename(part, a.file_name.c_str());
    Ref<GMimeStream> bytes(g_mime_stream_mem_new_with_buffer(a.content.data(), a.content.size()));
    Ref<GMimeDataWrapper> wrapper(g_mime_data_wrapper_new_with_stream(bytes.get(), GMIME_CONTENT_ENCODING_DEFAULT));
    g_mime_part_set_content(part, wrapper.get());
    g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
    return part;
}

std::string decoded_content(GMimePart* part) {
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    if (content == nullptr) return {};
    Ref<GMimeStream> out(g_mime_stream_mem_new());
    g_mime_data_wrapper_write_to_stream(content, out.get());
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(as<GMimeStreamMem>(out.get()));
    return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// Bodies come back with the wire's CRLF line breaks; callers wrote LF.
std::string lf_lines(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
        out += text[i];
    }
    return out;
}

}  // namespace

Result<std::string> build_mime(const Message& in) {
    init_once();
    if (in.text.empty() && in.html.empty() && in.attachments.empty()) {
        return util::fail(ErrorKind::invalid_input, "a message needs a text or HTML body or an attachment");
    }
    for (const auto& [name, value] : in.headers) {
        if (!is_field_name(name)) return util::fail(ErrorKind::invalid_input, "invalid header name \"" + name + "\"");
        if (is_structural(name)) {
            return util::fail(ErrorKind::invalid_input,
                              "header " + name + " is set by mailtrack from the message itself and cannot be given");
        }
        if (value.find_first_of("\r\n") != std::string::npos) {
            return util::fail(ErrorKind::invalid_input, "header " + name + ": value contains a line break");
        }
    }

    Ref<GMimeMessage> m(g_mime_message_new(TRUE));
    if (auto r = add_addresses(m.get(), GMIME_ADDRESS_TYPE_FROM, {in.from}, "from"); !r)
        return util::Unexpected(r.error());
    if (auto r = add_addresses(m.get(), GMIME_ADDRESS_TYPE_TO, in.to, "to"); !r) return util::Unexpected(r.error());
    if (auto r = add_addresses(m.get(), GMIME_ADDRESS_TYPE_CC, in.cc, "cc"); !r) return util::Unexpected(r.error());
    if (auto r = add_addresses(m.get(), GMIME_ADDRESS_TYPE_REPLY_TO, in.reply_to, "reply-to"); !r) {
        return util::Unexpected(r.error());
    }
    g_mime_message_set_subject(m.get(), in.subject.c_str(), "utf-8");
    if (in.date) {
        GDateTime* date = g_date_time_new_from_unix_utc(*in.date / 1000);
        g_mime_message_set_date(m.get(), date);
        g_date_time_unref(date);
    }
    for (const auto& [name, value] : in.headers) {
        g_mime_object_append_header(as<GMimeObject>(m.get()), name.c_str(), value.c_str(), "utf-8");
    }

    // Body: text and HTML as alternatives (plain first: the last is the preferred one).
    Ref<GMimeObject> body;
    if (!in.text.empty() && !in.html.empty()) {
        GMimeMultipart* alternative = g_mime_multipart_new_with_subtype("alternative");
        Ref<GMimeTextPart> text(text_part("plain", in.text));
        Ref<GMimeTextPart> html(text_part("html", in.html));
        g_mime_multipart_add(alternative, as<GMimeObject>(text.get()));
        g_mime_multipart_add(alternative, as<GMimeObject>(html.get()));
        body.reset(as<GMimeObject>(alternative));
    } else if (!in.text.empty()) {
        body.reset(as<GMimeObject>(text_part("plain", in.text)));
    } else if (!in.html.empty()) {
        body.reset(as<GMimeObject>(text_part("html", in.html)));
    }

    if (in.attachments.empty()) {
        g_mime_message_set_mime_part(m.get(), body.get());
    } else {
        Ref<GMimeMultipart> mixed(g_mime_multipart_new_with_subtype("mixed"));
        if (body) g_mime_multipart_add(mixed.get(), body.get());
        for (const Attachment& a : in.attachments) {
            MAILTRACK_TRY_ASSIGN(auto part, attachment_part(a));
            Ref<GMimePart> owned(part);
            g_mime_multipart_add(mixed.get(), as<GMimeObject>(owned.get()));
        }
        g_mime_message_set_mime_part(m.get(), as<GMimeObject>(mixed.get()));
    }

    GMimeFormatOptions* options = g_mime_format_options_clone(g_mime_format_options_get_default());
    g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
    Ref<GMimeStream> out(g_mime_stream_mem_new());
    const gssize written = g_mime_object_write_to_stream(as<GMimeObject>(m.get()), options, out.get());
    g_mime_format_options_free(options);
    if (written < 0) return util::fail(ErrorKind::internal, "GMime could not write the message");
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(as<GMimeStreamMem>(out.get()));
    return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

Result<Message> parse_mime(std::string_view raw) {
    init_once();
    Ref<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
    Ref<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    Ref<GMimeMessage> m(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!m) return util::fail(ErrorKind::invalid_input, "not a MIME message");

    Message out;
    auto addresses = [&](GMimeAddressType type) {
        std::vector<std::string> list;
        InternetAddressList* l = g_mime_message_get_addresses(m.get(), type);
        for (int i = 0; l != nullptr && i < internet_address_list_length(l); ++i) {
            std::unique_ptr<char, GFree> text(
                internet_address_to_string(internet_address_list_get_address(l, i), nullptr, FALSE));
            list.emplace_back(text ? text.get() : "");
        }
        return list;
    };
    auto from = addresses(GMIME_ADDRESS_TYPE_FROM);
    out.from = from.empty() ? std::string() : from.front();
    out.to = addresses(GMIME_ADDRESS_TYPE_TO);
    out.cc = addresses(GMIME_ADDRESS_TYPE_CC);
    out.reply_to = addresses(GMIME_ADDRESS_TYPE_REPLY_TO);
    if (const char* s = g_mime_message_get_subject(m.get())) out.subject = s;
    if (GDateTime* d = g_mime_message_get_date(m.get())) out.date = g_date_time_to_unix(d) * 1000;

    GMimeHeaderList* headers = g_mime_object_get_header_list(as<GMimeObject>(m.get()));
    for (int i = 0; i < g_mime_header_list_get_count(headers); ++i) {
        GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
        const std::string name = g_mime_header_get_name(h);
        if (is_structural(name)) continue;
        const char* value = g_mime_header_get_value(h);  // decoded, UTF-8
        out.headers.emplace_back(name, value != nullptr ? value : "");
    }

    struct Visitor {
        Message* out;
        static void visit(GMimeObject*, GMimeObject* object, gpointer self) {
            Message& msg = *static_cast<Visitor*>(self)->out;
            if (!is_a(object, g_mime_part_get_type())) return;
            auto* part = as<GMimePart>(object);
            if (g_mime_part_is_attachment(part)) {
                Attachment a;
                if (const char* f = g_mime_part_get_filename(part)) a.file_name = f;
                std::unique_ptr<char, GFree> type(
                    g_mime_content_type_get_mime_type(g_mime_object_get_content_type(object)));
                if (type) a.content_type = type.get();
                a.content = decoded_content(part);
                msg.attachments.push_back(std::move(a));
            } else if (is_a(object, g_mime_text_part_get_type())) {
                std::unique_ptr<char, GFree> text(g_mime_text_part_get_text(as<GMimeTextPart>(part)));
                const bool html =
                    g_mime_content_type_is_type(g_mime_object_get_content_type(object), "text", "html") != 0;
                (html ? msg.html : msg.text) = text ? lf_lines(text.get()) : "";
            }
        }
    };
    Visitor visitor{&out};
    g_mime_message_foreach(m.get(), &Visitor::visit, &visitor);
    return out;
}

}  // namespace mailtrack::mime
