#include "event_factory.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>

#include "mailtrack/util/time.hpp"

namespace mailtrack::testing {
namespace {

using nlohmann::json;

json mail_object(const EventSpec& s) {
    json headers = json::array();
    headers.push_back({{"name", "From"}, {"value", "Mailtrack Bench <bench@example.com>"}});
    headers.push_back({{"name", "To"}, {"value", s.destination.empty() ? "" : s.destination.front()}});
    headers.push_back({{"name", "Subject"}, {"value", "Your order #" + std::to_string(s.variant) + " has shipped"}});
    headers.push_back({{"name", "MIME-Version"}, {"value", "1.0"}});
    headers.push_back({{"name", "Content-Type"}, {"value", "multipart/alternative; boundary=\"----=_Part_1\""}});
    // Padding headers look like DKIM signatures and tracking tokens: base64 text that differs
    // per email (so the archive does not compress unrealistically well) but is the same in
    // every event of one email, as SES repeats the mail object.
    static constexpr char k_base64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::uint64_t state = std::hash<std::string>{}(s.message_id) | 1;
    std::size_t pad = s.header_bytes;
    int n = 0;
    while (pad > 0) {
        const std::size_t chunk = std::min<std::size_t>(pad, 120);
        std::string value(chunk, ' ');
        for (char& c : value) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            c = k_base64[state % 64];
        }
        headers.push_back({{"name", "X-Trace-" + std::to_string(n++)}, {"value", std::move(value)}});
        pad -= chunk;
    }
    json m = {{"timestamp", util::format_timestamp(s.mail_timestamp)},
              {"source", "Mailtrack Bench <bench@example.com>"},
              {"sourceArn", "arn:aws:ses:us-east-1:123456789012:identity/example.com"},
              {"sendingAccountId", "123456789012"},
              {"messageId", s.message_id},
              {"destination", s.destination},
              {"headersTruncated", false},
              {"headers", headers},
              {"commonHeaders",
               {{"from", {"Mailtrack Bench <bench@example.com>"}},
                {"to", s.destination},
                {"messageId", s.message_id},
                {"subject", "Your order #" + std::to_string(s.variant) + " has shipped"}}}};
    if (!s.notification_format) {
        m["tags"] = {{"ses:operation", {"SendEmail"}},
                     {"ses:configuration-set", {"mailtrack-events"}},
                     {"ses:source-ip", {"192.0.2.10"}},
                     {"ses:from-domain", {"example.com"}},
                     {"ses:caller-identity", {"mailtrack"}},
                     {"mailtrack-send-id", {s.send_id.empty() ? "snd-" + s.message_id.substr(0, 8) : s.send_id}}};
    }
    return m;
}

json recipients_objects(const std::vector<std::string>& addresses, const char* status, const char* diag) {
    json out = json::array();
    for (const auto& a : addresses) {
        json r = {{"emailAddress", a}};
        if (status != nullptr) {
            r["action"] = "failed";
            r["status"] = status;
            r["diagnosticCode"] = diag;
        }
        out.push_back(r);
    }
    return out;
}

}  // namespace

std::string ses_json(const EventSpec& s) {
    using core::EventType;
    json j;
    const std::string type_key = s.notification_format ? "notificationType" : "eventType";
    j[type_key] = std::string(core::ses_name(s.type));
    j["mail"] = mail_object(s);
    const std::string ts = util::format_timestamp(s.timestamp);
    const std::string id = std::to_string(s.variant);
    switch (s.type) {
        case EventType::send: j["send"] = json::object(); break;
        case EventType::reject: j["reject"] = {{"reason", "Bad content"}}; break;
        case EventType::bounce:
            j["bounce"] = {{"feedbackId", "bounce-" + s.message_id + "-" + id},
                           {"bounceType", s.bounce_type},
                           {"bounceSubType", s.bounce_subtype},
                           {"bouncedRecipients",
                            recipients_objects(s.affected, s.bounce_type == "Permanent" ? "5.1.1" : "4.2.2",
                                               s.bounce_type == "Permanent" ? "smtp; 550 5.1.1 user unknown"
                                                                            : "smtp; 452 4.2.2 mailbox full")},
                           {"timestamp", ts},
                           {"reportingMTA", "dsn; a8-70.smtp-out.amazonses.com"}};
            break;
        case EventType::complaint: {
            json rs = json::array();
            for (const auto& a : s.affected) rs.push_back({{"emailAddress", a}});
            j["complaint"] = {{"feedbackId", "complaint-" + s.message_id + "-" + id},
                              {"complaintSubType", nullptr},
                              {"complainedRecipients", rs},
                              {"timestamp", ts},
                              {"userAgent", "Mozilla/5.0 (Feedback Loop)"},
                              {"complaintFeedbackType", "abuse"},
                              {"arrivalDate", ts}};
            break;
        }
        case EventType::delivery:
            j["delivery"] = {{"timestamp", ts},
                             {"processingTimeMillis", 500 + s.variant % 3000},
                             {"recipients", s.affected},
                             {"smtpResponse", "250 2.6.0 Message received"},
                             {"reportingMTA", "a8-70.smtp-out.amazonses.com"},
                             {"remoteMtaIp", "203.0.113.9"}};
            break;
        case EventType::delivery_delay:
            j["deliveryDelay"] = {
                {"timestamp", ts},
                {"delayType", "TransientCommunicationFailure"},
                {"expirationTime", util::format_timestamp(s.timestamp + 12 * 3'600'000)},
                {"delayedRecipients",
                 recipients_objects(s.affected, "4.4.1", "smtp; 421 4.4.1 Unable to connect to remote host")}};
            break;
        case EventType::open:
            j["open"] = {
                {"ipAddress", "192.0.2.1"}, {"timestamp", ts}, {"userAgent", "Mozilla/5.0 (variant " + id + ")"}};
            break;
        case EventType::click:
            j["click"] = {{"ipAddress", "192.0.2.1"},
                          {"timestamp", ts},
                          {"userAgent", "Mozilla/5.0 (variant " + id + ")"},
                          {"link", "https://example.com/orders/" + id},
                          {"linkTags", {{"cta", {"track"}}}}};
            break;
        case EventType::rendering_failure:
            j["failure"] = {{"templateName", "OrderShipped"},
                            {"errorMessage", "Attribute 'order' is not present in the rendering data."}};
            break;
        case EventType::subscription:
            j["subscription"] = {
                {"contactList", "Customers"},
                {"timestamp", ts},
                {"source", "UnsubscribeHeader"},
                {"newTopicPreferences", {{"unsubscribeAll", true}, {"topicSubscriptionStatus", json::array()}}},
                {"oldTopicPreferences", {{"unsubscribeAll", false}, {"topicSubscriptionStatus", json::array()}}}};
            break;
        case EventType::unknown:
            j[type_key] = "FutureEvent";
            j["futureEvent"] = {{"timestamp", ts}};
            break;
    }
    return j.dump();
}

std::string sns_wrap(std::string_view ses, std::string_view sns_message_id) {
    json env = {
        {"Type", "Notification"},
        {"MessageId", sns_message_id},
        {"TopicArn", "arn:aws:sns:us-east-1:123456789012:mailtrack-events"},
        {"Message", ses},
        {"Timestamp", "2026-11-20T10:00:03.317Z"},
        {"SignatureVersion", "1"},
        {"Signature", std::string(344, 'S')},
        {"SigningCertURL", "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"},
        {"UnsubscribeURL",
         "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:"
         "123456789012:mailtrack-events:c9135db0-26c4-47ec-8998-413945fb5a96"}};
    return env.dump();
}

std::vector<std::string> realistic_stream(std::size_t emails, std::uint32_t seed, bool wrapped) {
    using core::EventType;
    std::mt19937 engine(seed);
    auto rng = [&engine] { return static_cast<unsigned>(engine()); };
    std::vector<std::string> out;
    out.reserve(emails * 3);
    const util::UnixMillis base = 1'795'000'000'000;
    for (std::size_t e = 0; e < emails; ++e) {
        EventSpec s;
        char id[80];
        std::snprintf(id, sizeof id, "0100018a%08zx-%08x-0000-4000-8000-%012zx-000000", e, seed, e * 7919);
        s.message_id = id;
        s.destination = {"user" + std::to_string(e) + "@example.com"};
        if (rng() % 5 == 0) s.destination.push_back("cc" + std::to_string(e) + "@example.org");
        s.mail_timestamp = base + static_cast<util::UnixMillis>(e) * 37;
        s.variant = static_cast<int>(e);
        s.header_bytes = 64 + rng() % 320;  // 2-3 KB once SNS-wrapped
        std::vector<EventSpec> events;
        EventSpec send = s;
        send.type = EventType::send;
        send.timestamp = s.mail_timestamp;
        events.push_back(send);
        const unsigned roll = rng() % 100;
        EventSpec outcome = s;
        outcome.affected = s.destination;
        outcome.timestamp = s.mail_timestamp + 1500 + static_cast<util::UnixMillis>(rng() % 3000);
        if (roll < 80) {
            outcome.type = EventType::delivery;
        } else if (roll < 88) {
            outcome.type = EventType::bounce;
            outcome.bounce_type = rng() % 3 == 0 ? "Transient" : "Permanent";
            outcome.bounce_subtype = outcome.bounce_type == "Permanent" ? "General" : "MailboxFull";
        } else if (roll < 95) {
            outcome.type = EventType::delivery_delay;
        } else {
            outcome.type = EventType::delivery;
        }
        events.push_back(outcome);
        const unsigned extra = rng() % 3;
        for (unsigned k = 0; k < extra; ++k) {
            EventSpec x = s;
            x.affected = s.destination;
            x.timestamp = outcome.timestamp + 60'000 * static_cast<util::UnixMillis>(k + 1);
            x.variant = static_cast<int>(e * 10 + k);
            const unsigned pick = rng() % 10;
            x.type = pick < 6 ? EventType::open : pick < 9 ? EventType::click : EventType::complaint;
            events.push_back(x);
        }
        // About one email in six arrives out of order.
        if (rng() % 6 == 0) std::reverse(events.begin(), events.end());
        for (std::size_t k = 0; k < events.size(); ++k) {
            std::string json_text = ses_json(events[k]);
            if (wrapped) {
                char sns_id[64];
                std::snprintf(sns_id, sizeof sns_id, "%08zx-%04zx-4000-8000-%012x", e, k, seed);
                json_text = sns_wrap(json_text, sns_id);
            }
            out.push_back(std::move(json_text));
        }
    }
    return out;
}

}  // namespace mailtrack::testing
