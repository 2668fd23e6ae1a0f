// Sandbox events against what SES's mailbox simulator really sent (tests/testdata/ses-simulator-observed,
// real captures), field by field, and through our own parser.

#include "mailtrack/sender/sandbox_events.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "mailtrack/core/state.hpp"
#include "mailtrack/mime/mime.hpp"
#include "mailtrack/ses/event_parser.hpp"

namespace mailtrack::sender {
namespace {

using nlohmann::json;

json load(const std::string& name) {
    std::ifstream in(std::string(MAILTRACK_TESTDATA) + "/ses-simulator-observed/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

AcceptedMail mail_to(std::vector<std::string> to) {
    AcceptedMail m;
    m.send_id = "snd_0000000000001abcdef0123456789";
    m.ses_message_id = "0100018264c6505e-66ca92ab-0593-41de-8df9-38b09a02a206-000000";
    m.timestamp = 1700000000123;
    m.source = "Sender <sender@example.com>";
    m.destination = to;
    m.header_to = to;
    mime::Message msg;
    msg.from = m.source;
    msg.to = to;
    msg.subject = "Grüße ✓";
    msg.text = "hello";
    msg.html = "<p><a href=\"https://example.com/x\">x</a></p>";
    msg.date = m.timestamp;
    auto raw = mime::build_mime(msg);
    EXPECT_TRUE(raw);
    m.headers = top_level_headers(raw ? *raw : std::string());
    m.subject = msg.subject;
    m.html = msg.html;
    m.configuration_set = "cs";
    m.tags = {{"campaign", "welcome"}, {std::string(core::k_send_id_tag), m.send_id}};
    return m;
}

std::vector<json> records(const AcceptedMail& m, bool engagement = false) {
    SandboxOptions o;
    o.engagement = engagement;
    o.account_id = "123456789012";
    std::vector<json> out;
    for (const auto& r : sandbox_event_records(m, o)) out.push_back(json::parse(r));
    return out;
}

std::vector<std::string> types(const std::vector<json>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.at("eventType").get<std::string>());
    return out;
}

const json& find(const std::vector<json>& rs, const std::string& type, std::size_t nth = 0) {
    for (const auto& r : rs) {
        if (r.at("eventType") == type && nth-- == 0) return r;
    }
    static const json none;
    ADD_FAILURE() << "no " << type << " record";
    return none;
}

// Every key of `observed` is in `ours` with the same JSON type (recursively; arrays by their first
// element). Keys only we have must be in `extra_allowed` (by path).
void expect_same_shape(const json& observed, const json& ours, const std::string& path,
                       const std::set<std::string>& extra_allowed = {}) {
    ASSERT_EQ(observed.type_name(), std::string(ours.type_name())) << path;
    if (observed.is_object()) {
        for (const auto& [key, value] : observed.items()) {
            ASSERT_TRUE(ours.contains(key)) << path << "." << key << " missing";
            expect_same_shape(value, ours.at(key), path + "." + key, extra_allowed);
        }
        for (const auto& [key, value] : ours.items()) {
            EXPECT_TRUE(observed.contains(key) || extra_allowed.count(path + "." + key))
                << path << "." << key << " is not in the observed record";
        }
    } else if (observed.is_array() && !observed.empty()) {
        ASSERT_FALSE(ours.empty()) << path;
        expect_same_shape(observed.front(), ours.front(), path + "[]", extra_allowed);
    }
}

struct Observed {
    std::string file, address, type, key;
};

class SandboxShape : public ::testing::TestWithParam<Observed> {};

TEST_P(SandboxShape, MatchesTheRealSimulatorRecordFieldByField) {
    const Observed& p = GetParam();
    const json observed = load(p.file);
    ASSERT_EQ(observed.at("notificationType"), p.type);
    const auto ours_all = records(mail_to({p.address}));
    const json& ours = find(ours_all, p.type);
    ASSERT_FALSE(ours.is_null());
    // Event publishing says eventType and adds mail.tags; everything else as observed.
    const std::set<std::string> extra = {"$.eventType", "$.mail.tags", "$.mail.commonHeaders.date"};
    json observed_as_event = observed;
    observed_as_event.erase("notificationType");
    json ours_without_type = ours;
    ours_without_type.erase("eventType");
    expect_same_shape(observed_as_event, ours_without_type, "$", extra);

    // The values that carry meaning, as the simulator sends them.
    if (p.key == "bounce") {
        const json& b = ours.at("bounce");
        const json& ob = observed.at("bounce");
        EXPECT_EQ(b.at("bounceType"), ob.at("bounceType"));
        EXPECT_EQ(b.at("bounceSubType"), ob.at("bounceSubType"));
        const json& r = b.at("bouncedRecipients").at(0);
        const json& orr = ob.at("bouncedRecipients").at(0);
        EXPECT_EQ(r.size(), orr.size());
        EXPECT_EQ(r.at("emailAddress"), p.address);
        if (orr.contains("status")) {
            EXPECT_EQ(r.at("status"), orr.at("status"));
            EXPECT_EQ(r.at("action"), orr.at("action"));
            EXPECT_EQ(r.at("diagnosticCode"), orr.at("diagnosticCode"));  // the address is the simulator's
        }
    } else if (p.key == "complaint") {
        const json& c = ours.at("complaint");
        const json& oc = observed.at("complaint");
        EXPECT_TRUE(c.at("complaintSubType").is_null());
        EXPECT_EQ(c.at("userAgent"), oc.at("userAgent"));
        EXPECT_EQ(c.at("complaintFeedbackType"), oc.at("complaintFeedbackType"));
        EXPECT_EQ(c.at("complainedRecipients"), oc.at("complainedRecipients"));
    } else {
        EXPECT_EQ(ours.at("delivery").at("smtpResponse"), observed.at("delivery").at("smtpResponse"));
        EXPECT_EQ(ours.at("delivery").at("recipients"), observed.at("delivery").at("recipients"));
    }
}

INSTANTIATE_TEST_SUITE_P(Simulator, SandboxShape,
                         ::testing::Values(Observed{"delivery-notification-success-from-simulator.verbatim.json",
                                                    "success@simulator.amazonses.com", "Delivery", "delivery"},
                                           Observed{"bounce-notification-from-simulator.verbatim.json",
                                                    "bounce@simulator.amazonses.com", "Bounce", "bounce"},
                                           Observed{"delivery-notification-ooto-from-simulator.verbatim.json",
                                                    "ooto@simulator.amazonses.com", "Delivery", "delivery"},
                                           Observed{"ooto-bounce-notification-from-simulator.verbatim.json",
                                                    "ooto@simulator.amazonses.com", "Bounce", "bounce"},
                                           Observed{"delivery-notification-complaint-from-simulator.verbatim.json",
                                                    "complaint@simulator.amazonses.com", "Delivery", "delivery"},
                                           Observed{"complaint-notification-from-simulator.verbatim.json",
                                                    "complaint@simulator.amazonses.com", "Complaint", "complaint"},
                                           Observed{"suppressionlist-bounce-notification-from-simulator.verbatim.json",
                                                    "suppressionlist@simulator.amazonses.com", "Bounce", "bounce"}),
                         [](const ::testing::TestParamInfo<Observed>& param_info) {
                             std::string name = param_info.param.file.substr(0, param_info.param.file.find("-from-"));
                             for (char& c : name) {
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             }
                             return name;
                         });

TEST(SandboxEvents, EachAddressKindGetsTheSimulatorsSequence) {
    const std::map<std::string, std::vector<std::string>> expected = {
        {"success@simulator.amazonses.com", {"Send", "Delivery"}},
        {"bounce@simulator.amazonses.com", {"Send", "Bounce"}},
        {"ooto@simulator.amazonses.com", {"Send", "Delivery", "Bounce"}},
        {"complaint@simulator.amazonses.com", {"Send", "Delivery", "Complaint"}},
        {"suppressionlist@simulator.amazonses.com", {"Send", "Bounce"}},
        {"bounce+label-7@simulator.amazonses.com", {"Send", "Bounce"}},
        {"anyone@example.org", {"Send", "Delivery"}}};
    for (const auto& [address, sequence] : expected) EXPECT_EQ(types(records(mail_to({address}))), sequence) << address;
    EXPECT_EQ(find(records(mail_to({"ooto@simulator.amazonses.com"})), "Bounce").at("bounce").at("bounceType"),
              "Transient");
}

TEST(SandboxEvents, OneSendPerMessageAndEachRecipientItsOwnFate) {
    const auto rs =
        records(mail_to({"success@simulator.amazonses.com", "bounce@simulator.amazonses.com", "x@example.org"}));
    EXPECT_EQ(types(rs), (std::vector<std::string>{"Send", "Delivery", "Bounce", "Delivery"}));
    EXPECT_EQ(find(rs, "Send").at("send"), json::object());
    EXPECT_EQ(find(rs, "Send").at("mail").at("destination").size(), 3u);
    EXPECT_EQ(find(rs, "Delivery", 1).at("delivery").at("recipients"), json::array({"x@example.org"}));
}

TEST(SandboxEvents, MailObjectCarriesTheRealIdTagsAndHeaders) {
    const AcceptedMail m = mail_to({"success@simulator.amazonses.com"});
    const auto rs = records(m);
    const json& mail = find(rs, "Delivery").at("mail");
    EXPECT_EQ(mail.at("messageId"), m.ses_message_id);
    EXPECT_EQ(mail.at("timestamp"), "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(mail.at("source"), m.source);
    EXPECT_EQ(mail.at("sendingAccountId"), "123456789012");
    EXPECT_EQ(mail.at("sourceArn"), "arn:aws:ses:us-east-1:123456789012:identity/example.com");
    EXPECT_EQ(mail.at("tags").at(std::string(core::k_send_id_tag)), json::array({m.send_id}));
    EXPECT_EQ(mail.at("tags").at("campaign"), json::array({"welcome"}));
    EXPECT_EQ(mail.at("tags").at("ses:configuration-set"), json::array({"cs"}));
    EXPECT_EQ(mail.at("commonHeaders").at("subject"), "Grüße ✓");  // decoded, as SES gives it
    bool encoded_subject = false, mime_version = false;
    for (const auto& h : mail.at("headers")) {
        if (h.at("name") == "Subject") encoded_subject = h.at("value").get<std::string>().starts_with("=?");
        if (h.at("name") == "MIME-Version") mime_version = h.at("value") == "1.0";
    }
    EXPECT_TRUE(encoded_subject);  // headers are as on the wire
    EXPECT_TRUE(mime_version);
    // Deterministic: the same send gives the same records (a re-publish is a duplicate downstream).
    EXPECT_EQ(sandbox_event_records(m, {}), sandbox_event_records(m, {}));
}

TEST(SandboxEvents, EngagementAddsOpenAndClickForDeliveredRecipients) {
    const auto rs = records(mail_to({"success@simulator.amazonses.com", "bounce@simulator.amazonses.com"}), true);
    EXPECT_EQ(types(rs), (std::vector<std::string>{"Send", "Delivery", "Open", "Click", "Bounce"}));
    EXPECT_EQ(find(rs, "Click").at("click").at("link"), "https://example.com/x");
}

TEST(SandboxEvents, OurParserReadsEveryRecordWithItsSendId) {
    const AcceptedMail m =
        mail_to({"success@simulator.amazonses.com", "bounce@simulator.amazonses.com", "ooto@simulator.amazonses.com",
                 "complaint@simulator.amazonses.com", "suppressionlist@simulator.amazonses.com", "a@example.org"});
    ses::EventParser parser;
    SandboxOptions o;
    o.engagement = true;
    const auto rs = sandbox_event_records(m, o);
    ASSERT_EQ(rs.size(), 17u);
    for (const std::string& r : rs) {
        auto e = parser.parse(r);
        ASSERT_TRUE(e) << e.error().describe() << "\n" << r;
        EXPECT_NE(e->type, core::EventType::unknown) << r;
        EXPECT_EQ(e->format, core::SesFormat::event_publishing);
        EXPECT_EQ(e->mail.message_id, m.ses_message_id);
        EXPECT_EQ(e->mail.tag(core::k_send_id_tag), m.send_id);
        EXPECT_EQ(e->mail.destination.size(), 6u);
    }
}

TEST(SandboxEvents, SimulatorKindsLabelsAndCase) {
    EXPECT_EQ(simulator_kind("success@simulator.amazonses.com"), SimulatorKind::success);
    EXPECT_EQ(simulator_kind("bounce+x1@SIMULATOR.amazonses.com"), SimulatorKind::bounce);
    EXPECT_EQ(simulator_kind("Name <ooto@simulator.amazonses.com>"), SimulatorKind::ooto);
    EXPECT_EQ(simulator_kind("complaint@simulator.amazonses.com.evil.org"), SimulatorKind::other);
    EXPECT_EQ(simulator_kind("bounce@example.com"), SimulatorKind::other);
    EXPECT_EQ(simulator_kind("nobody@simulator.amazonses.com"), SimulatorKind::other);
}

TEST(SandboxEvents, HelpersReadArnsAndHeaderSections) {
    const auto where = arn_region_account("arn:aws:sns:eu-west-1:000000000000:mailtrack-ses-events");
    ASSERT_TRUE(where);
    EXPECT_EQ(where->first, "eu-west-1");
    EXPECT_EQ(where->second, "000000000000");
    EXPECT_FALSE(arn_region_account("not-an-arn"));
    const auto h = top_level_headers("From: a@b.c\r\nSubject: one\r\n two\r\nX-A:b\r\n\r\nBody: no\r\n");
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[1].second, "one two");
    EXPECT_EQ(h[2], (std::pair<std::string, std::string>{"X-A", "b"}));
}

}  // namespace
}  // namespace mailtrack::sender
