#include "mailtrack/ses/event_parser.hpp"

#include <simdjson.h>

#include <cstring>
#include <string>

#include "mailtrack/util/time.hpp"

namespace mailtrack::ses {
namespace {

using core::SesEvent;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;
using util::Error;
using util::ErrorKind;

std::string_view type_name(element_type t) {
    switch (t) {
        case element_type::ARRAY: return "array";
        case element_type::OBJECT: return "object";
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE: return "number";
        case element_type::STRING: return "string";
        case element_type::BOOL: return "boolean";
        case element_type::NULL_VALUE: return "null";
    }
    return "value";
}

// std::string::assign, minus its aliasing checks: `from` never points into `to` here (it
// points into a simdjson document), and a warm `to` already has the capacity.
void assign(std::string& to, std::string_view from) {
    to.resize(from.size());
    if (!from.empty()) std::memcpy(to.data(), from.data(), from.size());
}

// Thrown inside this file only, caught in parse(): it carries the JSON path of the problem.
struct Malformed {
    std::string path;
    std::string what;
};

std::string join(std::string_view base, std::string_view key) {
    std::string out(base);
    if (!out.empty()) out += '.';
    out += key;
    return out;
}

std::string index_path(std::string_view base, std::size_t i) {
    return std::string(base) + "[" + std::to_string(i) + "]";
}

[[noreturn]] void wrong_type(const std::string& path, std::string_view expected, element e) {
    throw Malformed{path,
                    std::string("expected ") + std::string(expected) + ", got " + std::string(type_name(e.type()))};
}

// Reads the fields of one JSON object, naming the path in every error. The path is kept as a
// link to the parent plus a key (and index), and spelled out only when there is an error: the
// happy path builds no strings. A Fields must not outlive the Fields it was reached from.
class Fields {
public:
    static constexpr std::size_t k_no_index = static_cast<std::size_t>(-1);

    Fields(object obj, std::string_view root_path) : m_obj(obj), m_key(root_path) {}
    Fields(object obj, const Fields* parent, std::string_view key, std::size_t index = k_no_index)
        : m_obj(obj), m_parent(parent), m_key(key), m_index(index) {}

    std::string path() const {
        std::string out = m_parent != nullptr ? join(m_parent->path(), m_key) : std::string(m_key);
        return m_index == k_no_index ? out : index_path(out, m_index);
    }
    std::string path(std::string_view key) const { return join(path(), key); }

    // nullopt when absent or null.
    std::optional<element> find(std::string_view key) const {
        element e;
        if (m_obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
        return e;
    }

    // The *_into readers assign into storage the caller keeps across events (parse_into),
    // so a warm event is refilled without allocating; absent fields are cleared.
    void text_into(std::string_view key, std::string& out) const { text_of(key, find(key), out); }

    void required_text_into(std::string_view key, std::string& out) const {
        auto e = find(key);
        if (!e) throw Malformed{path(key), "missing"};
        text_of(key, e, out);
    }

    std::optional<util::UnixMillis> time(std::string_view key) const {
        auto e = find(key);
        if (!e) return std::nullopt;
        std::string_view s;
        if (e->get_string().get(s) != simdjson::SUCCESS) wrong_type(path(key), "a timestamp string", *e);
        auto t = util::parse_timestamp(s);
        if (!t) throw Malformed{path(key), "\"" + std::string(s.substr(0, 64)) + "\" is not an ISO 8601 timestamp"};
        return t;
    }

    std::int64_t integer(std::string_view key) const {
        auto e = find(key);
        if (!e) return 0;
        std::int64_t i = 0;
        if (e->get_int64().get(i) == simdjson::SUCCESS) return i;
        double d = 0;
        if (e->get_double().get(d) == simdjson::SUCCESS) return static_cast<std::int64_t>(d);
        wrong_type(path(key), "a number", *e);
    }

    bool boolean(std::string_view key) const {
        auto e = find(key);
        if (!e) return false;
        bool b = false;
        if (e->get_bool().get(b) == simdjson::SUCCESS) return b;
        std::string_view s;  // the SES guide documents headersTruncated as a string
        if (e->get_string().get(s) == simdjson::SUCCESS && (s == "true" || s == "false")) return s == "true";
        wrong_type(path(key), "a boolean", *e);
    }

    std::optional<Fields> child(std::string_view key) const {
        auto e = find(key);
        if (!e) return std::nullopt;
        object o;
        if (e->get_object().get(o) != simdjson::SUCCESS) wrong_type(path(key), "an object", *e);
        return Fields(o, this, key);
    }

    // `why` is appended to the "missing" error, e.g. " (Bounce events carry it)".
    Fields required_child(std::string_view key, std::string_view event_type = {}) const {
        auto c = child(key);
        if (!c) {
            throw Malformed{path(key), event_type.empty()
                                           ? std::string("missing")
                                           : "missing (" + std::string(event_type) + " events carry it)"};
        }
        return *c;
    }

    // Calls f(element, index) for each element; absent or null is an empty array. Errors about
    // an element name it with element_path(key, index).
    template <typename F>
    void each(std::string_view key, F&& f) const {
        auto e = find(key);
        if (!e) return;
        array a;
        if (e->get_array().get(a) != simdjson::SUCCESS) wrong_type(path(key), "an array", *e);
        std::size_t i = 0;
        for (element item : a) f(item, i++);
    }
    std::string element_path(std::string_view key, std::size_t i) const { return index_path(path(key), i); }

    void texts_into(std::string_view key, std::vector<std::string>& out) const {
        auto e = find(key);
        if (!e) {
            out.clear();
            return;
        }
        // A lone string where an array is documented is accepted as a one-element array.
        std::string_view s;
        if (e->get_string().get(s) == simdjson::SUCCESS) {
            out.resize(1);
            assign(out[0], s);
            return;
        }
        array a;
        if (e->get_array().get(a) != simdjson::SUCCESS) wrong_type(path(key), "an array", *e);
        out.resize(a.size());
        std::size_t i = 0;
        for (element item : a) {
            if (item.get_string().get(s) != simdjson::SUCCESS) wrong_type(element_path(key, i), "a string", item);
            assign(out[i++], s);
        }
    }

    // The number of elements of an array (0 when absent or not an array), for reserving.
    std::size_t count(std::string_view key) const {
        auto e = find(key);
        array a;
        if (!e || e->get_array().get(a) != simdjson::SUCCESS) return 0;
        return a.size();
    }

    // Resizes `out` to the array's length and calls f(const Fields&, out[i]) for each element
    // of an array of objects, in order; absent or null is an empty array.
    template <typename T, typename F>
    void objects_into(std::string_view key, std::vector<T>& out, F&& f) const {
        out.resize(count(key));
        each(key, [&](element item, std::size_t i) {
            object o;
            if (item.get_object().get(o) != simdjson::SUCCESS) wrong_type(element_path(key, i), "an object", item);
            f(Fields(o, this, key, i), out[i]);
        });
    }

    // An object of name -> string[] (mail.tags, click.linkTags).
    void tags_into(std::string_view key, core::Tags& out) const {
        auto c = child(key);
        if (!c) {
            out.clear();
            return;
        }
        out.resize(c->m_obj.size());
        std::size_t n = 0;
        for (auto field : c->m_obj) {
            auto& [name, values] = out[n++];
            assign(name, field.key);
            std::string_view s;
            array a;
            if (field.value.get_string().get(s) == simdjson::SUCCESS) {
                values.resize(1);
                assign(values[0], s);
            } else if (field.value.get_array().get(a) == simdjson::SUCCESS) {
                values.resize(a.size());
                std::size_t i = 0;
                for (element v : a) {
                    if (v.get_string().get(s) != simdjson::SUCCESS) {
                        wrong_type(index_path(c->path(field.key), i), "a string", v);
                    }
                    assign(values[i++], s);
                }
            } else if (!field.value.is_null()) {
                wrong_type(c->path(field.key), "an array of strings", field.value);
            } else {
                values.clear();
            }
        }
    }

private:
    void text_of(std::string_view key, const std::optional<element>& e, std::string& out) const {
        if (!e) {
            out.clear();
            return;
        }
        std::string_view s;
        if (e->get_string().get(s) != simdjson::SUCCESS) wrong_type(path(key), "a string", *e);
        assign(out, s);
    }

    object m_obj;
    const Fields* m_parent = nullptr;
    std::string_view m_key;  // the whole path for a root
    std::size_t m_index = k_no_index;
};

void parse_mail(const Fields& f, core::MailInfo& m) {
    f.required_text_into("messageId", m.message_id);
    // Seen in the SES notification example: a leading space in the message id.
    while (!m.message_id.empty() && (m.message_id.front() == ' ' || m.message_id.back() == ' ')) {
        if (m.message_id.front() == ' ')
            m.message_id.erase(0, 1);
        else
            m.message_id.pop_back();
    }
    if (m.message_id.empty()) throw Malformed{f.path("messageId"), "empty"};
    auto timestamp = f.time("timestamp");
    if (!timestamp) throw Malformed{f.path("timestamp"), "missing"};
    m.timestamp = *timestamp;
    f.text_into("source", m.source);
    f.text_into("sourceArn", m.source_arn);
    f.text_into("sourceIp", m.source_ip);
    f.text_into("sendingAccountId", m.sending_account_id);
    f.text_into("callerIdentity", m.caller_identity);
    f.texts_into("destination", m.destination);
    m.headers_truncated = f.boolean("headersTruncated");
    f.objects_into("headers", m.headers, [](const Fields& h, core::Header& out) {
        h.text_into("name", out.name);
        h.text_into("value", out.value);
    });
    auto& c = m.common_headers;
    if (auto ch = f.child("commonHeaders")) {
        ch->texts_into("from", c.from);
        ch->texts_into("to", c.to);
        ch->texts_into("cc", c.cc);
        ch->texts_into("bcc", c.bcc);
        ch->texts_into("replyTo", c.reply_to);
        ch->text_into("sender", c.sender);
        ch->text_into("returnPath", c.return_path);
        ch->text_into("date", c.date);
        ch->text_into("messageId", c.message_id);
        ch->text_into("subject", c.subject);
    } else {
        c = core::CommonHeaders{};
    }
    f.tags_into("tags", m.tags);
}

void parse_preferences(const std::optional<Fields>& f, core::TopicPreferences& p) {
    if (!f) {
        p.unsubscribe_all = false;
        p.topics.clear();
        return;
    }
    p.unsubscribe_all = f->boolean("unsubscribeAll");
    f->objects_into("topicSubscriptionStatus", p.topics, [](const Fields& t, core::TopicPreference& out) {
        t.text_into("topicName", out.topic_name);
        t.text_into("subscriptionStatus", out.subscription_status);
    });
}

// The detail of type T in `detail`, reusing the one there when it already holds a T (its
// strings keep their storage): every field of it must then be assigned by the caller.
template <typename T>
T& reuse(core::EventDetail& detail) {
    if (auto* d = std::get_if<T>(&detail)) return *d;
    return detail.emplace<T>();
}

// Fills ev.detail and ev.occurred_at from the type's object.
void parse_detail(const Fields& root, SesEvent& ev) {
    using core::EventType;
    const std::string_view why = ev.type_name.empty() ? std::string_view("event") : std::string_view(ev.type_name);
    const util::UnixMillis mail_time = ev.mail.timestamp;
    ev.occurred_at = mail_time;
    auto stamp = [&](const Fields& f) { ev.occurred_at = f.time("timestamp").value_or(mail_time); };
    switch (ev.type) {
        case EventType::send: reuse<core::Send>(ev.detail); return;
        case EventType::reject: {
            auto& r = reuse<core::Reject>(ev.detail);
            if (auto f = root.child("reject"))
                f->text_into("reason", r.reason);
            else
                r.reason.clear();
            return;
        }
        case EventType::bounce: {
            const Fields f = root.required_child("bounce", why);
            auto& b = reuse<core::Bounce>(ev.detail);
            f.required_text_into("bounceType", b.bounce_type);
            f.text_into("bounceSubType", b.bounce_subtype);
            if (!f.find("bouncedRecipients")) throw Malformed{f.path("bouncedRecipients"), "missing"};
            f.objects_into("bouncedRecipients", b.recipients, [](const Fields& r, core::BouncedRecipient& out) {
                r.required_text_into("emailAddress", out.address);
                r.text_into("action", out.action);
                r.text_into("status", out.status);
                r.text_into("diagnosticCode", out.diagnostic_code);
            });
            f.text_into("feedbackId", b.feedback_id);
            f.text_into("reportingMTA", b.reporting_mta);
            f.text_into("remoteMtaIp", b.remote_mta_ip);
            stamp(f);
            b.timestamp = ev.occurred_at;
            return;
        }
        case EventType::complaint: {
            const Fields f = root.required_child("complaint", why);
            auto& c = reuse<core::Complaint>(ev.detail);
            if (!f.find("complainedRecipients")) throw Malformed{f.path("complainedRecipients"), "missing"};
            f.objects_into("complainedRecipients", c.recipients,
                           [](const Fields& r, std::string& out) { r.required_text_into("emailAddress", out); });
            f.text_into("feedbackId", c.feedback_id);
            f.text_into("complaintSubType", c.complaint_subtype);
            f.text_into("complaintFeedbackType", c.feedback_type);
            f.text_into("userAgent", c.user_agent);
            c.arrival_date = f.time("arrivalDate");
            stamp(f);
            c.timestamp = ev.occurred_at;
            return;
        }
        case EventType::delivery: {
            const Fields f = root.required_child("delivery", why);
            auto& d = reuse<core::Delivery>(ev.detail);
            if (!f.find("recipients")) throw Malformed{f.path("recipients"), "missing"};
            f.texts_into("recipients", d.recipients);
            d.processing_time_millis = f.integer("processingTimeMillis");
            f.text_into("smtpResponse", d.smtp_response);
            f.text_into("reportingMTA", d.reporting_mta);
            f.text_into("remoteMtaIp", d.remote_mta_ip);
            stamp(f);
            d.timestamp = ev.occurred_at;
            return;
        }
        case EventType::delivery_delay: {
            const Fields f = root.required_child("deliveryDelay", why);
            auto& d = reuse<core::DeliveryDelay>(ev.detail);
            f.text_into("delayType", d.delay_type);
            if (!f.find("delayedRecipients")) throw Malformed{f.path("delayedRecipients"), "missing"};
            f.objects_into("delayedRecipients", d.recipients, [](const Fields& r, core::DelayedRecipient& out) {
                r.required_text_into("emailAddress", out.address);
                r.text_into("status", out.status);
                r.text_into("diagnosticCode", out.diagnostic_code);
            });
            d.expiration_time = f.time("expirationTime");
            f.text_into("reportingMTA", d.reporting_mta);
            stamp(f);
            d.timestamp = ev.occurred_at;
            return;
        }
        case EventType::open: {
            const Fields f = root.required_child("open", why);
            auto& o = reuse<core::Open>(ev.detail);
            f.text_into("ipAddress", o.ip_address);
            f.text_into("userAgent", o.user_agent);
            stamp(f);
            o.timestamp = ev.occurred_at;
            return;
        }
        case EventType::click: {
            const Fields f = root.required_child("click", why);
            auto& c = reuse<core::Click>(ev.detail);
            f.text_into("ipAddress", c.ip_address);
            f.text_into("userAgent", c.user_agent);
            f.text_into("link", c.link);
            f.tags_into("linkTags", c.link_tags);
            stamp(f);
            c.timestamp = ev.occurred_at;
            return;
        }
        case EventType::rendering_failure: {
            // The type is "Rendering Failure" but the object key is "failure".
            const Fields f = root.required_child("failure", why);
            auto& r = reuse<core::RenderingFailure>(ev.detail);
            f.text_into("templateName", r.template_name);
            f.text_into("errorMessage", r.error_message);
            return;
        }
        case EventType::subscription: {
            const Fields f = root.required_child("subscription", why);
            auto& s = reuse<core::Subscription>(ev.detail);
            f.text_into("contactList", s.contact_list);
            f.text_into("source", s.source);
            parse_preferences(f.child("newTopicPreferences"), s.new_preferences);
            parse_preferences(f.child("oldTopicPreferences"), s.old_preferences);
            stamp(f);
            s.timestamp = ev.occurred_at;
            return;
        }
        case EventType::unknown: reuse<core::UnknownEvent>(ev.detail); return;
    }
}

// A copy of `text` followed by SIMDJSON_PADDING readable bytes, in a buffer kept across
// documents: given unpadded input, the DOM parser allocates a padded copy of every document.
std::string_view padded_copy(std::string& buffer, std::string_view text) {
    if (buffer.size() < text.size() + simdjson::SIMDJSON_PADDING)
        buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(buffer.data(), text.data(), text.size());
    return {buffer.data(), text.size()};
}

}  // namespace

struct EventParser::Impl {
    explicit Impl(std::size_t max) : max_bytes(max) {}
    std::size_t max_bytes;
    simdjson::dom::parser outer;
    simdjson::dom::parser inner;
    std::string outer_input, inner_input;  // padded copies, see padded_copy()
};

EventParser::EventParser(std::size_t max_document_bytes) : m_impl(std::make_unique<Impl>(max_document_bytes)) {}
EventParser::~EventParser() = default;

util::Result<core::SesEvent> EventParser::parse(std::string_view document) {
    core::SesEvent ev;
    MAILTRACK_TRY(parse_into(document, ev));
    return ev;
}

util::Result<void> EventParser::parse_into(std::string_view document, core::SesEvent& ev) {
    Impl& s = *m_impl;
    if (document.size() > s.max_bytes) {
        return util::fail(ErrorKind::invalid_input, "document is " + std::to_string(document.size()) +
                                                        " bytes, over the limit of " + std::to_string(s.max_bytes));
    }
    element root;
    const std::string_view outer_input = padded_copy(s.outer_input, document);
    if (auto err = s.outer.parse(outer_input.data(), outer_input.size(), false).get(root); err != simdjson::SUCCESS) {
        return util::fail(ErrorKind::invalid_input, std::string("not valid JSON: ") + simdjson::error_message(err));
    }
    object root_obj;
    if (root.get_object().get(root_obj) != simdjson::SUCCESS) {
        return util::fail(ErrorKind::invalid_input, std::string("expected a JSON object at the top level, got ") +
                                                        std::string(type_name(root.type())));
    }
    ev.envelope = core::Envelope::raw;
    ev.sns_message_id.clear();
    std::string_view ses_json = document;
    object ses_obj = root_obj;
    std::string_view prefix;
    try {
        // One pass over the top level: an SNS envelope has Type and Message; SES JSON has
        // eventType or notificationType.
        std::optional<element> sns_type_e, message, sns_message_id;
        bool ses_keys = false;
        for (auto field : root_obj) {
            if (field.value.is_null()) continue;
            if (field.key == "Type" && !sns_type_e)
                sns_type_e = field.value;
            else if (field.key == "Message" && !message)
                message = field.value;
            else if (field.key == "MessageId" && !sns_message_id)
                sns_message_id = field.value;
            else if (field.key == "eventType" || field.key == "notificationType")
                ses_keys = true;
        }
        if (sns_type_e && message && !ses_keys) {
            std::string_view sns_type;
            if (sns_type_e->get_string().get(sns_type) != simdjson::SUCCESS)
                wrong_type("Type", "a string", *sns_type_e);
            if (sns_type != "Notification") {
                return util::fail(
                    ErrorKind::unsupported,
                    "SNS message of Type \"" + std::string(sns_type) + "\" is not an SES event" +
                        (sns_type == "SubscriptionConfirmation" ? " (confirm the subscription instead)" : ""));
            }
            ev.envelope = core::Envelope::sns;
            if (sns_message_id) {
                std::string_view id;
                if (sns_message_id->get_string().get(id) != simdjson::SUCCESS) {
                    wrong_type("MessageId", "a string", *sns_message_id);
                }
                assign(ev.sns_message_id, id);
            }
            std::string_view text;
            if (message->get_string().get(text) != simdjson::SUCCESS) wrong_type("Message", "a string", *message);
            element inner_root;
            const std::string_view inner_input = padded_copy(s.inner_input, text);
            if (auto err = s.inner.parse(inner_input.data(), inner_input.size(), false).get(inner_root);
                err != simdjson::SUCCESS) {
                return util::fail(ErrorKind::invalid_input,
                                  std::string("SNS Message is not JSON: ") + simdjson::error_message(err));
            }
            if (inner_root.get_object().get(ses_obj) != simdjson::SUCCESS) {
                return util::fail(ErrorKind::invalid_input, std::string("SNS Message: expected a JSON object, got ") +
                                                                std::string(type_name(inner_root.type())));
            }
            ses_json = text;
            prefix = "Message";
        }
        const Fields f(ses_obj, prefix);
        if (f.find("eventType")) {
            ev.format = core::SesFormat::event_publishing;
            f.text_into("eventType", ev.type_name);
        } else if (f.find("notificationType")) {
            ev.format = core::SesFormat::notification;
            f.text_into("notificationType", ev.type_name);
        } else {
            return util::fail(ErrorKind::invalid_input,
                              (prefix.empty() ? std::string() : std::string(prefix) + ": ") +
                                  "neither eventType nor notificationType present: not an SES event");
        }
        ev.type = core::event_type_from_ses(ev.type_name);
        parse_mail(f.required_child("mail"), ev.mail);
        parse_detail(f, ev);
    } catch (const Malformed& m) {
        return util::fail(ErrorKind::invalid_input,
                          (m.path.empty() ? std::string("document") : m.path) + ": " + m.what);
    }
    // Minified straight into the event: no intermediate buffer.
    ev.raw_json.resize(ses_json.size());
    std::size_t minified_size = 0;
    if (simdjson::minify(ses_json.data(), ses_json.size(), ev.raw_json.data(), minified_size) != simdjson::SUCCESS) {
        return util::fail(ErrorKind::invalid_input, "SES JSON could not be minified");
    }
    ev.raw_json.resize(minified_size);
    ev.id = core::EventId::of_json(ev.raw_json);
    return {};
}

}  // namespace mailtrack::ses
