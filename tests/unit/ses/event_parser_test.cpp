#include "mailtrack/ses/event_parser.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <type_traits>
#include <variant>

#include "mailtrack/util/time.hpp"

#include "event_factory.hpp"

namespace mailtrack::ses {
namespace {

using core::EventType;

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(MAILTRACK_TESTDATA) + "/events/" + name + ".json");
    EXPECT_TRUE(in) << name;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

core::SesEvent parse_ok(EventParser& p, const std::string& doc) {
    auto r = p.parse(doc);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().describe());
    return r ? std::move(*r) : core::SesEvent{};
}

constexpr const char* k_mid = "0100018a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000";

struct Case {
    const char* name;
    EventType type;
    core::SesFormat format;
};

class EveryType : public ::testing::TestWithParam<Case> {};

TEST_P(EveryType, ParsesRawAndWrappedToTheSameEvent) {
    EventParser p;
    const std::string raw_doc = fixture(GetParam().name);
    const core::SesEvent raw = parse_ok(p, raw_doc);
    EXPECT_EQ(raw.type, GetParam().type);
    EXPECT_EQ(raw.format, GetParam().format);
    EXPECT_EQ(raw.envelope, core::Envelope::raw);
    EXPECT_EQ(raw.mail.message_id, k_mid);

    const core::SesEvent wrapped = parse_ok(p, testing::sns_wrap(raw_doc, "sns-1"));
    EXPECT_EQ(wrapped.envelope, core::Envelope::sns);
    EXPECT_EQ(wrapped.sns_message_id, "sns-1");
    EXPECT_EQ(wrapped.type, raw.type);
    // Identity is the SES JSON's, not the envelope's: both forms are the same event.
    EXPECT_EQ(wrapped.id, raw.id);
    EXPECT_EQ(wrapped.raw_json, raw.raw_json);
    EXPECT_EQ(wrapped.occurred_at, raw.occurred_at);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, EveryType,
    ::testing::Values(Case{"send", EventType::send, core::SesFormat::event_publishing},
                      Case{"reject", EventType::reject, core::SesFormat::event_publishing},
                      Case{"bounce-permanent", EventType::bounce, core::SesFormat::event_publishing},
                      Case{"bounce-transient", EventType::bounce, core::SesFormat::event_publishing},
                      Case{"bounce-undetermined", EventType::bounce, core::SesFormat::event_publishing},
                      Case{"complaint", EventType::complaint, core::SesFormat::event_publishing},
                      Case{"delivery", EventType::delivery, core::SesFormat::event_publishing},
                      Case{"delivery-delay", EventType::delivery_delay, core::SesFormat::event_publishing},
                      Case{"open", EventType::open, core::SesFormat::event_publishing},
                      Case{"click", EventType::click, core::SesFormat::event_publishing},
                      Case{"rendering-failure", EventType::rendering_failure, core::SesFormat::event_publishing},
                      Case{"subscription", EventType::subscription, core::SesFormat::event_publishing},
                      Case{"unknown-type", EventType::unknown, core::SesFormat::event_publishing},
                      Case{"notification-bounce", EventType::bounce, core::SesFormat::notification},
                      Case{"notification-complaint", EventType::complaint, core::SesFormat::notification},
                      Case{"notification-delivery", EventType::delivery, core::SesFormat::notification}),
    [](const auto& pi) {
        std::string n = pi.param.name;
        for (auto& c : n) c = c == '-' ? '_' : c;
        return n;
    });

TEST(EventParser, MailObject) {
    EventParser p;
    const auto ev = parse_ok(p, fixture("send"));
    EXPECT_EQ(ev.mail.source, "Sender Name <sender@example.com>");
    EXPECT_EQ(ev.mail.source_arn, "arn:aws:ses:us-east-1:123456789012:identity/example.com");
    EXPECT_EQ(ev.mail.sending_account_id, "123456789012");
    ASSERT_EQ(ev.mail.destination.size(), 2u);
    EXPECT_EQ(ev.mail.destination[1], "Other.Person@EXAMPLE.org");
    EXPECT_FALSE(ev.mail.headers_truncated);
    ASSERT_EQ(ev.mail.headers.size(), 4u);
    EXPECT_EQ(ev.mail.headers[2].name, "Subject");
    EXPECT_EQ(ev.mail.common_headers.subject, "Échantillon ✓");
    EXPECT_EQ(ev.mail.tag("mailtrack-send-id"), "snd-0001");
    EXPECT_EQ(ev.mail.tag("ses:configuration-set"), "mailtrack-events");
    bool found = false;
    for (const auto& [k, v] : ev.mail.tags) {
        if (k == "campaign") {
            found = true;
            EXPECT_EQ(v, (std::vector<std::string>{"welcome", "nov"}));
        }
    }
    EXPECT_TRUE(found);
    EXPECT_EQ(ev.occurred_at, *util::parse_timestamp("2026-11-20T10:00:00.123Z"));
}

TEST(EventParser, BounceDetail) {
    EventParser p;
    const auto ev = parse_ok(p, fixture("bounce-permanent"));
    const auto& b = std::get<core::Bounce>(ev.detail);
    EXPECT_EQ(b.bounce_type, "Permanent");
    EXPECT_EQ(b.bounce_subtype, "General");
    ASSERT_EQ(b.recipients.size(), 1u);
    EXPECT_EQ(b.recipients[0].address, "recipient@example.com");
    EXPECT_EQ(b.recipients[0].action, "failed");
    EXPECT_EQ(b.recipients[0].status, "5.1.1");
    EXPECT_EQ(b.recipients[0].diagnostic_code, "smtp; 550 5.1.1 user unknown");
    EXPECT_EQ(b.reporting_mta, "dsn; a8-70.smtp-out.amazonses.com");
    EXPECT_EQ(ev.occurred_at, *util::parse_timestamp("2026-11-20T10:00:05.000Z"));
}

TEST(EventParser, ComplaintDetailWithNullSubtypeAndOffsetArrivalDate) {
    EventParser p;
    const auto ev = parse_ok(p, fixture("complaint"));
    const auto& c = std::get<core::Complaint>(ev.detail);
    EXPECT_EQ(c.feedback_type, "abuse");
    EXPECT_EQ(c.complaint_subtype, "");
    EXPECT_EQ(c.user_agent, "Mozilla/5.0 (Feedback Loop)");
    ASSERT_TRUE(c.arrival_date.has_value());
    EXPECT_EQ(*c.arrival_date, *util::parse_timestamp("2026-11-20T10:59:59.000Z"));
}

TEST(EventParser, DeliveryDelayAndClickAndSubscriptionDetails) {
    EventParser p;
    const auto d = parse_ok(p, fixture("delivery-delay"));
    const auto& dd = std::get<core::DeliveryDelay>(d.detail);
    EXPECT_EQ(dd.delay_type, "TransientCommunicationFailure");
    ASSERT_TRUE(dd.expiration_time);
    ASSERT_EQ(dd.recipients.size(), 1u);
    EXPECT_EQ(dd.recipients[0].status, "4.4.1");

    const auto c = parse_ok(p, fixture("click"));
    const auto& click = std::get<core::Click>(c.detail);
    EXPECT_EQ(click.link, "https://example.com/welcome?x=1");
    ASSERT_EQ(click.link_tags.size(), 2u);
    EXPECT_EQ(click.link_tags[0].first, "samplekey0");

    const auto s = parse_ok(p, fixture("subscription"));
    const auto& sub = std::get<core::Subscription>(s.detail);
    EXPECT_TRUE(sub.new_preferences.unsubscribe_all);
    EXPECT_FALSE(sub.old_preferences.unsubscribe_all);
    ASSERT_EQ(sub.new_preferences.topics.size(), 1u);
    EXPECT_EQ(sub.new_preferences.topics[0].subscription_status, "OptOut");

    const auto rf = parse_ok(p, fixture("rendering-failure"));
    EXPECT_EQ(std::get<core::RenderingFailure>(rf.detail).template_name, "MyTemplate");
}

TEST(EventParser, NotificationQuirks) {
    EventParser p;
    // "2018-10-08T14:05:45 +0000"-style timestamps and a leading space in messageId.
    const auto ev = parse_ok(p, fixture("notification-complaint"));
    EXPECT_EQ(ev.mail.message_id, k_mid);
    EXPECT_EQ(ev.mail.timestamp, *util::parse_timestamp("2026-11-20T10:00:00Z"));
    EXPECT_TRUE(ev.mail.tags.empty());
}

TEST(EventParser, UnknownTypeKeepsItsName) {
    EventParser p;
    const auto ev = parse_ok(p, fixture("unknown-type"));
    EXPECT_EQ(ev.type, EventType::unknown);
    EXPECT_EQ(ev.type_name, "FutureThing");
}

TEST(EventParser, WrappedFixturesAsSnsDeliversThem) {
    EventParser p;
    EXPECT_EQ(parse_ok(p, fixture("sns-delivery")).type, EventType::delivery);
    EXPECT_EQ(parse_ok(p, fixture("sns-notification-bounce")).format, core::SesFormat::notification);
}

TEST(EventParser, IdentityIgnoresWhitespaceButNotContent) {
    EventParser p;
    const auto pretty = parse_ok(p, fixture("delivery"));
    std::string compact = pretty.raw_json;
    const auto again = parse_ok(p, compact);
    EXPECT_EQ(pretty.id, again.id);
    std::string changed = compact;
    changed.replace(changed.find("250 2.6.0"), 3, "251");
    EXPECT_NE(parse_ok(p, changed).id, pretty.id);
}

struct BadCase {
    const char* name;
    std::string document;
    util::ErrorKind kind;
    const char* message_part;
};

class Malformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(Malformed, GivesATypedErrorNamingTheProblem) {
    EventParser p(64 * 1024);
    auto r = p.parse(GetParam().document);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, GetParam().kind);
    EXPECT_NE(r.error().message.find(GetParam().message_part), std::string::npos) << r.error().message;
}

std::string delivery_with(const std::string& from, const std::string& to) {
    std::ifstream in(std::string(MAILTRACK_TESTDATA) + "/events/delivery.json");
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    const auto at = s.find(from);
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, Malformed,
    ::testing::Values(
        BadCase{"truncated", R"({"eventType":"Send","mail":{"messageId":"x")", util::ErrorKind::invalid_input,
                "not valid JSON"},
        BadCase{"not_an_object", "[1,2]", util::ErrorKind::invalid_input, "expected a JSON object"},
        BadCase{"not_ses", R"({"hello":"world"})", util::ErrorKind::invalid_input,
                "neither eventType nor notificationType"},
        BadCase{"missing_mail", R"({"eventType":"Send","send":{}})", util::ErrorKind::invalid_input, "mail: missing"},
        BadCase{"missing_message_id", R"({"eventType":"Send","mail":{"timestamp":"2026-01-01T00:00:00Z"},"send":{}})",
                util::ErrorKind::invalid_input, "mail.messageId: missing"},
        BadCase{"bad_timestamp", R"({"eventType":"Send","mail":{"messageId":"m","timestamp":"yesterday"},"send":{}})",
                util::ErrorKind::invalid_input, "mail.timestamp: \"yesterday\" is not an ISO 8601 timestamp"},
        BadCase{"wrong_type_recipient",
                delivery_with("\"recipients\": [\n      \"recipient@example.com\"", "\"recipients\": [42"),
                util::ErrorKind::invalid_input, "delivery.recipients[0]: expected a string, got number"},
        BadCase{"wrong_type_destination", delivery_with("\"destination\": [", "\"destination\": {\"a\":1}, \"x\": ["),
                util::ErrorKind::invalid_input, "mail.destination: expected an array, got object"},
        BadCase{"missing_detail",
                R"({"eventType":"Bounce","mail":{"messageId":"m","timestamp":"2026-01-01T00:00:00Z"}})",
                util::ErrorKind::invalid_input, "bounce: missing"},
        BadCase{"message_not_json", R"({"Type":"Notification","MessageId":"1","Message":"hello there"})",
                util::ErrorKind::invalid_input, "SNS Message is not JSON"},
        BadCase{"message_not_string", R"({"Type":"Notification","MessageId":"1","Message":{"eventType":"Send"}})",
                util::ErrorKind::invalid_input, "Message: expected a string"},
        BadCase{
            "nested_error_path",
            R"({"Type":"Notification","Message":"{\"eventType\":\"Bounce\",\"mail\":{\"messageId\":\"m\",\"timestamp\":\"2026-01-01T00:00:00Z\"},\"bounce\":{\"bounceType\":\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":\"a@b.c\"},{}]}}"})",
            util::ErrorKind::invalid_input, "Message.bounce.bouncedRecipients[1].emailAddress: missing"},
        BadCase{
            "subscription_confirmation",
            R"({"Type":"SubscriptionConfirmation","MessageId":"1","Token":"t","Message":"You have chosen to subscribe"})",
            util::ErrorKind::unsupported, "SubscriptionConfirmation"},
        BadCase{"huge", std::string(70 * 1024, ' ') + "{}", util::ErrorKind::invalid_input, "over the limit"}),
    [](const auto& pi) { return std::string(pi.param.name); });

TEST(EventParser, ParserIsReusableAfterErrors) {
    EventParser p;
    EXPECT_FALSE(p.parse("{").has_value());
    EXPECT_TRUE(p.parse(fixture("send")).has_value());
    EXPECT_FALSE(p.parse("").has_value());
    EXPECT_TRUE(p.parse(testing::sns_wrap(fixture("open"), "x")).has_value());
}

// Every field of an event, spelled out: parse_into must leave nothing of an earlier event.
std::string describe(const core::SesEvent& ev) {
    std::ostringstream o;
    auto list = [&o](const std::vector<std::string>& v) {
        o << "[";
        for (const auto& x : v) o << x << ";";
        o << "]";
    };
    auto tags = [&](const core::Tags& t) {
        for (const auto& [k, v] : t) {
            o << k << "=";
            list(v);
        }
        o << "|";
    };
    const auto& m = ev.mail;
    o << ev.id.hex() << "|" << static_cast<int>(ev.type) << "|" << ev.type_name << "|" << static_cast<int>(ev.format)
      << "|" << static_cast<int>(ev.envelope) << "|" << ev.sns_message_id << "|" << ev.occurred_at << "|" << ev.raw_json
      << "|" << m.message_id << "|" << m.timestamp << "|" << m.source << "|" << m.source_arn << "|" << m.source_ip
      << "|" << m.sending_account_id << "|" << m.caller_identity << "|" << m.headers_truncated << "|";
    list(m.destination);
    for (const auto& h : m.headers) o << h.name << ":" << h.value << ";";
    const auto& c = m.common_headers;
    list(c.from), list(c.to), list(c.cc), list(c.bcc), list(c.reply_to);
    o << c.sender << "|" << c.return_path << "|" << c.date << "|" << c.message_id << "|" << c.subject << "|";
    tags(m.tags);
    o << "detail " << ev.detail.index() << ":";
    std::visit(
        [&](const auto& d) {
            using D = std::decay_t<decltype(d)>;
            if constexpr (std::is_same_v<D, core::Reject>) o << d.reason;
            if constexpr (std::is_same_v<D, core::Bounce>) {
                o << d.bounce_type << d.bounce_subtype << d.timestamp << d.feedback_id << d.reporting_mta
                  << d.remote_mta_ip;
                for (const auto& r : d.recipients) o << r.address << r.action << r.status << r.diagnostic_code << ";";
            }
            if constexpr (std::is_same_v<D, core::Complaint>) {
                list(d.recipients);
                o << d.timestamp << d.feedback_id << d.complaint_subtype << d.feedback_type << d.user_agent
                  << d.arrival_date.value_or(-1);
            }
            if constexpr (std::is_same_v<D, core::Delivery>) {
                list(d.recipients);
                o << d.timestamp << d.processing_time_millis << d.smtp_response << d.reporting_mta << d.remote_mta_ip;
            }
            if constexpr (std::is_same_v<D, core::DeliveryDelay>) {
                o << d.delay_type << d.expiration_time.value_or(-1) << d.timestamp << d.reporting_mta;
                for (const auto& r : d.recipients) o << r.address << r.status << r.diagnostic_code << ";";
            }
            if constexpr (std::is_same_v<D, core::Open>) o << d.timestamp << d.ip_address << d.user_agent;
            if constexpr (std::is_same_v<D, core::Click>) {
                o << d.timestamp << d.ip_address << d.user_agent << d.link;
                tags(d.link_tags);
            }
            if constexpr (std::is_same_v<D, core::RenderingFailure>) o << d.template_name << d.error_message;
            if constexpr (std::is_same_v<D, core::Subscription>) {
                o << d.contact_list << d.source << d.timestamp;
                for (const auto* p : {&d.new_preferences, &d.old_preferences}) {
                    o << p->unsubscribe_all;
                    for (const auto& t : p->topics) o << t.topic_name << t.subscription_status << ";";
                }
            }
        },
        ev.detail);
    return o.str();
}

TEST(EventParser, ParseIntoAReusedEventLeavesNothingOfTheLastOne) {
    std::vector<std::string> docs;
    for (const char* name : {"send", "reject", "bounce-permanent", "bounce-transient", "complaint", "delivery",
                             "delivery-delay", "open", "click", "rendering-failure", "subscription", "unknown-type",
                             "notification-bounce", "notification-complaint", "notification-delivery"}) {
        docs.push_back(fixture(name));
        docs.push_back(testing::sns_wrap(docs.back(), std::string("sns-") + name));
    }
    for (auto& d : testing::realistic_stream(20, 7, true)) docs.push_back(std::move(d));
    for (auto& d : testing::realistic_stream(10, 8, false)) docs.push_back(std::move(d));
    EventParser fresh, reusing;
    for (const bool reversed : {false, true}) {
        core::SesEvent ev;
        for (std::size_t i = 0; i < docs.size(); ++i) {
            const std::string& doc = docs[reversed ? docs.size() - 1 - i : i];
            const core::SesEvent expected = parse_ok(fresh, doc);
            ASSERT_TRUE(reusing.parse_into(doc, ev).has_value());
            EXPECT_EQ(describe(ev), describe(expected)) << doc;
            // An error in between leaves the event unusable, but the next parse whole.
            EXPECT_FALSE(
                reusing
                    .parse_into(
                        R"({"eventType":"Bounce","mail":{"messageId":"m","timestamp":"2026-01-01T00:00:00Z"},"bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@b.c"},{}]}})",
                        ev)
                    .has_value());
        }
    }
}

}  // namespace
}  // namespace mailtrack::ses
