#include "mailtrack/ses/event_parser.hpp"

#include <simdjson.h>

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
    throw Malformed{path, std::string("expected ") + std::string(expected) + ", got " + std::string(type_name(e.type()))};
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

    std::string text(std::string_view key) const { return text_of(key, find(key)); }

    std::string required_text(std::string_view key) const {
        auto e = find(key);
        if (!e) throw Malformed{path(key), "missing"};
        return text_of(key, e);
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
            throw Malformed{path(key), event_type.empty() ? std::string("missing")
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

    std::vector<std::string> texts(std::string_view key) const {
        std::vector<std::string> out;
        auto e = find(key);
        if (!e) return out;
        // A lone string where an array is documented is accepted as a one-element array.
        std::string_view s;
        if (e->get_string().get(s) == simdjson::SUCCESS) {
            out.emplace_back(s);
            return out;
        }
        array a;
        if (e->get_array().get(a) != simdjson::SUCCESS) wrong_type(path(key), "an array", *e);
        out.reserve(a.size());
        std::size_t i = 0;
        for (element item : a) {
            if (item.get_string().get(s) != simdjson::SUCCESS) wrong_type(element_path(key, i), "a string", item);
            out.emplace_back(s);
            ++i;
        }
        return out;
    }

    std::vector<Fields> objects(std::string_view key) const {
        std::vector<Fields> out;
        each(key, [&](element item, std::size_t i) {
            object o;
            if (item.get_object().get(o) != simdjson::SUCCESS) wrong_type(element_path(key, i), "an object", item);
            out.emplace_back(o, this, key, i);
        });
        return out;
    }

    // An object of name -> string[] (mail.tags, click.linkTags).
    core::Tags tags(std::string_view key) const {
        core::Tags out;
        auto c = child(key);
        if (!c) return out;
        for (auto field : c->m_obj) {
            std::vector<std::string> values;
            std::string_view s;
            array a;
            if (field.value.get_string().get(s) == simdjson::SUCCESS) {
                values.emplace_back(s);
            } else if (field.value.get_array().get(a) == simdjson::SUCCESS) {
                values.reserve(a.size());
                std::size_t i = 0;
                for (element v : a) {
                    if (v.get_string().get(s) != simdjson::SUCCESS) {
                        wrong_type(index_path(c->path(field.key), i), "a string", v);
                    }
                    values.emplace_back(s);
                    ++i;
                }
            } else if (!field.value.is_null()) {
                wrong_type(c->path(field.key), "an array of strings", field.value);
            }
            out.emplace_back(std::string(field.key), std::move(values));
        }
        return out;
    }

private:
    std::string text_of(std::string_view key, const std::optional<element>& e) const {
        if (!e) return {};
        std::string_view s;
        if (e->get_string().get(s) != simdjson::SUCCESS) wrong_type(path(key), "a string", *e);
        return std::string(s);
    }

    object m_obj;
    const Fields* m_parent = nullptr;
    std::string_view m_key;  // the whole path for a root
    std::size_t m_index = k_no_index;
};

core::MailInfo parse_mail(const Fields& f) {
    core::MailInfo m;
    m.message_id = f.required_text("messageId");
    // Seen in the SES notification example: a leading space in the message id.
    while (!m.message_id.empty() && (m.message_id.front() == ' ' || m.message_id.back() == ' ')) {
        if (m.message_id.front() == ' ') m.message_id.erase(0, 1);
        else m.message_id.pop_back();
    }
    if (m.message_id.empty()) throw Malformed{f.path("messageId"), "empty"};
    auto timestamp = f.time("timestamp");
    if (!timestamp) throw Malformed{f.path("timestamp"), "missing"};
    m.timestamp = *timestamp;
    m.source = f.text("source");
    m.source_arn = f.text("sourceArn");
    m.source_ip = f.text("sourceIp");
    m.sending_account_id = f.text("sendingAccountId");
    m.caller_identity = f.text("callerIdentity");
    m.destination = f.texts("destination");
    m.headers_truncated = f.boolean("headersTruncated");
    const std::vector<Fields> headers = f.objects("headers");
    m.headers.reserve(headers.size());
    for (const Fields& h : headers) m.headers.push_back({h.text("name"), h.text("value")});
    if (auto ch = f.child("commonHeaders")) {
        auto& c = m.common_headers;
        c.from = ch->texts("from");
        c.to = ch->texts("to");
        c.cc = ch->texts("cc");
        c.bcc = ch->texts("bcc");
        c.reply_to = ch->texts("replyTo");
        c.sender = ch->text("sender");
        c.return_path = ch->text("returnPath");
        c.date = ch->text("date");
        c.message_id = ch->text("messageId");
        c.subject = ch->text("subject");
    }
    m.tags = f.tags("tags");
    return m;
}

core::TopicPreferences parse_preferences(const std::optional<Fields>& f) {
    core::TopicPreferences p;
    if (!f) return p;
    p.unsubscribe_all = f->boolean("unsubscribeAll");
    for (const Fields& t : f->objects("topicSubscriptionStatus")) {
        p.topics.push_back({t.text("topicName"), t.text("subscriptionStatus")});
    }
    return p;
}

// Fills ev.detail and ev.occurred_at from the type's object.
void parse_detail(const Fields& root, SesEvent& ev) {
    using core::EventType;
    const std::string_view why = ev.type_name.empty() ? std::string_view("event") : std::string_view(ev.type_name);
    const util::UnixMillis mail_time = ev.mail.timestamp;
    ev.occurred_at = mail_time;
    auto stamp = [&](const Fields& f) { ev.occurred_at = f.time("timestamp").value_or(mail_time); };
    switch (ev.type) {
        case EventType::send:
            ev.detail = core::Send{};
            return;
        case EventType::reject: {
            core::Reject r;
            if (auto f = root.child("reject")) r.reason = f->text("reason");
            ev.detail = std::move(r);
            return;
        }
        case EventType::bounce: {
            const Fields f = root.required_child("bounce", why);
            core::Bounce b;
            b.bounce_type = f.required_text("bounceType");
            b.bounce_subtype = f.text("bounceSubType");
            if (!f.find("bouncedRecipients")) throw Malformed{f.path("bouncedRecipients"), "missing"};
            for (const Fields& r : f.objects("bouncedRecipients")) {
                b.recipients.push_back(
                    {r.required_text("emailAddress"), r.text("action"), r.text("status"), r.text("diagnosticCode")});
            }
            b.feedback_id = f.text("feedbackId");
            b.reporting_mta = f.text("reportingMTA");
            b.remote_mta_ip = f.text("remoteMtaIp");
            stamp(f);
            b.timestamp = ev.occurred_at;
            ev.detail = std::move(b);
            return;
        }
        case EventType::complaint: {
            const Fields f = root.required_child("complaint", why);
            core::Complaint c;
            if (!f.find("complainedRecipients")) throw Malformed{f.path("complainedRecipients"), "missing"};
            for (const Fields& r : f.objects("complainedRecipients")) c.recipients.push_back(r.required_text("emailAddress"));
            c.feedback_id = f.text("feedbackId");
            c.complaint_subtype = f.text("complaintSubType");
            c.feedback_type = f.text("complaintFeedbackType");
            c.user_agent = f.text("userAgent");
            c.arrival_date = f.time("arrivalDate");
            stamp(f);
            c.timestamp = ev.occurred_at;
            ev.detail = std::move(c);
            return;
        }
        case EventType::delivery: {
            const Fields f = root.required_child("delivery", why);
            core::Delivery d;
            if (!f.find("recipients")) throw Malformed{f.path("recipients"), "missing"};
            d.recipients = f.texts("recipients");
            d.processing_time_millis = f.integer("processingTimeMillis");
            d.smtp_response = f.text("smtpResponse");
            d.reporting_mta = f.text("reportingMTA");
            d.remote_mta_ip = f.text("remoteMtaIp");
            stamp(f);
            d.timestamp = ev.occurred_at;
            ev.detail = std::move(d);
            return;
        }
        case EventType::delivery_delay: {
            const Fields f = root.required_child("deliveryDelay", why);
            core::DeliveryDelay d;
            d.delay_type = f.text("delayType");
            if (!f.find("delayedRecipients")) throw Malformed{f.path("delayedRecipients"), "missing"};
            for (const Fields& r : f.objects("delayedRecipients")) {
                d.recipients.push_back({r.required_text("emailAddress"), r.text("status"), r.text("diagnosticCode")});
            }
            d.expiration_time = f.time("expirationTime");
            d.reporting_mta = f.text("reportingMTA");
            stamp(f);
            d.timestamp = ev.occurred_at;
            ev.detail = std::move(d);
            return;
        }
        case EventType::open: {
            const Fields f = root.required_child("open", why);
            core::Open o{0, f.text("ipAddress"), f.text("userAgent")};
            stamp(f);
            o.timestamp = ev.occurred_at;
            ev.detail = std::move(o);
            return;
        }
        case EventType::click: {
            const Fields f = root.required_child("click", why);
            core::Click c{0, f.text("ipAddress"), f.text("userAgent"), f.text("link"), f.tags("linkTags")};
            stamp(f);
            c.timestamp = ev.occurred_at;
            ev.detail = std::move(c);
            return;
        }
        case EventType::rendering_failure: {
            // The type is "Rendering Failure" but the object key is "failure".
            const Fields f = root.required_child("failure", why);
            ev.detail = core::RenderingFailure{f.text("templateName"), f.text("errorMessage")};
            return;
        }
        case EventType::subscription: {
            const Fields f = root.required_child("subscription", why);
            core::Subscription s;
            s.contact_list = f.text("contactList");
            s.source = f.text("source");
            s.new_preferences = parse_preferences(f.child("newTopicPreferences"));
            s.old_preferences = parse_preferences(f.child("oldTopicPreferences"));
            stamp(f);
            s.timestamp = ev.occurred_at;
            ev.detail = std::move(s);
            return;
        }
        case EventType::unknown:
            ev.detail = core::UnknownEvent{};
            return;
    }
}

}  // namespace

struct EventParser::Impl {
    explicit Impl(std::size_t max) : max_bytes(max) {}
    std::size_t max_bytes;
    simdjson::dom::parser outer;
    simdjson::dom::parser inner;
};

EventParser::EventParser(std::size_t max_document_bytes)
    : m_impl(std::make_unique<Impl>(max_document_bytes)) {}
EventParser::~EventParser() = default;

util::Result<core::SesEvent> EventParser::parse(std::string_view document) {
    Impl& s = *m_impl;
    if (document.size() > s.max_bytes) {
        return util::fail(ErrorKind::invalid_input, "document is " + std::to_string(document.size()) +
                                                        " bytes, over the limit of " + std::to_string(s.max_bytes));
    }
    element root;
    if (auto err = s.outer.parse(document.data(), document.size()).get(root); err != simdjson::SUCCESS) {
        return util::fail(ErrorKind::invalid_input, std::string("not valid JSON: ") + simdjson::error_message(err));
    }
    object root_obj;
    if (root.get_object().get(root_obj) != simdjson::SUCCESS) {
        return util::fail(ErrorKind::invalid_input,
                          std::string("expected a JSON object at the top level, got ") + std::string(type_name(root.type())));
    }
    SesEvent ev;
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
            if (field.key == "Type" && !sns_type_e) sns_type_e = field.value;
            else if (field.key == "Message" && !message) message = field.value;
            else if (field.key == "MessageId" && !sns_message_id) sns_message_id = field.value;
            else if (field.key == "eventType" || field.key == "notificationType") ses_keys = true;
        }
        if (sns_type_e && message && !ses_keys) {
            std::string_view sns_type;
            if (sns_type_e->get_string().get(sns_type) != simdjson::SUCCESS) wrong_type("Type", "a string", *sns_type_e);
            if (sns_type != "Notification") {
                return util::fail(ErrorKind::unsupported,
                                  "SNS message of Type \"" + std::string(sns_type) + "\" is not an SES event" +
                                      (sns_type == "SubscriptionConfirmation" ? " (confirm the subscription instead)" : ""));
            }
            ev.envelope = core::Envelope::sns;
            if (sns_message_id) {
                std::string_view id;
                if (sns_message_id->get_string().get(id) != simdjson::SUCCESS) {
                    wrong_type("MessageId", "a string", *sns_message_id);
                }
                ev.sns_message_id = id;
            }
            std::string_view text;
            if (message->get_string().get(text) != simdjson::SUCCESS) wrong_type("Message", "a string", *message);
            element inner_root;
            if (auto err = s.inner.parse(text.data(), text.size()).get(inner_root); err != simdjson::SUCCESS) {
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
            ev.type_name = f.text("eventType");
        } else if (f.find("notificationType")) {
            ev.format = core::SesFormat::notification;
            ev.type_name = f.text("notificationType");
        } else {
            return util::fail(ErrorKind::invalid_input,
                              (prefix.empty() ? std::string() : std::string(prefix) + ": ") +
                                  "neither eventType nor notificationType present: not an SES event");
        }
        ev.type = core::event_type_from_ses(ev.type_name);
        ev.mail = parse_mail(f.required_child("mail"));
        parse_detail(f, ev);
    } catch (const Malformed& m) {
        return util::fail(ErrorKind::invalid_input, (m.path.empty() ? std::string("document") : m.path) + ": " + m.what);
    }
    // Minified straight into the event: no intermediate buffer.
    ev.raw_json.resize(ses_json.size());
    std::size_t minified_size = 0;
    if (simdjson::minify(ses_json.data(), ses_json.size(), ev.raw_json.data(), minified_size) != simdjson::SUCCESS) {
        return util::fail(ErrorKind::invalid_input, "SES JSON could not be minified");
    }
    ev.raw_json.resize(minified_size);
    ev.id = core::EventId::of_json(ev.raw_json);
    return ev;
}

}  // namespace mailtrack::ses
