#include "mailtrack/aws/sesv2.hpp"

#include <cmath>

#include "mailtrack/aws/sigv4.hpp"

#include "json_util.hpp"

namespace mailtrack::aws {
namespace {

using detail::str;
using nlohmann::json;

json destination_json(const EmailDestination& d) {
    json j = json::object();
    if (!d.to.empty()) j["ToAddresses"] = d.to;
    if (!d.cc.empty()) j["CcAddresses"] = d.cc;
    if (!d.bcc.empty()) j["BccAddresses"] = d.bcc;
    return j;
}

json tags_json(const std::vector<std::pair<std::string, std::string>>& tags) {
    json a = json::array();
    for (const auto& [k, v] : tags) a.push_back({{"Name", k}, {"Value", v}});
    return a;
}

json content_json(const EmailContent& content) {
    if (const auto* s = std::get_if<SimpleEmail>(&content)) {
        json body = json::object();
        if (!s->text.empty()) body["Text"] = {{"Data", s->text}, {"Charset", s->charset}};
        if (!s->html.empty()) body["Html"] = {{"Data", s->html}, {"Charset", s->charset}};
        json simple = {{"Subject", {{"Data", s->subject}, {"Charset", s->charset}}}, {"Body", body}};
        if (!s->headers.empty()) {
            json h = json::array();
            for (const auto& [k, v] : s->headers) h.push_back({{"Name", k}, {"Value", v}});
            simple["Headers"] = h;
        }
        if (!s->attachments.empty()) {
            json a = json::array();
            for (const auto& att : s->attachments) {
                json x = {{"FileName", att.file_name}, {"RawContent", detail::base64_encode(att.content)}};
                if (!att.content_type.empty()) x["ContentType"] = att.content_type;
                if (!att.disposition.empty()) x["ContentDisposition"] = att.disposition;
                if (!att.content_id.empty()) x["ContentId"] = att.content_id;
                a.push_back(std::move(x));
            }
            simple["Attachments"] = a;
        }
        return {{"Simple", simple}};
    }
    if (const auto* r = std::get_if<RawEmail>(&content)) {
        return {{"Raw", {{"Data", detail::base64_encode(r->mime)}}}};
    }
    const auto& t = std::get<TemplateEmail>(content);
    return {{"Template", {{"TemplateName", t.template_name}, {"TemplateData", t.template_data}}}};
}

util::UnixMillis seconds_to_millis(const json& v) {
    if (v.is_number()) return static_cast<util::UnixMillis>(std::llround(v.get<double>() * 1000.0));
    return 0;
}

SuppressedDestination suppressed_from(const json& j) {
    SuppressedDestination d{str(j, "EmailAddress"), str(j, "Reason"), 0, {}, {}};
    if (const auto it = j.find("LastUpdateTime"); it != j.end()) d.last_update_time = seconds_to_millis(*it);
    if (const auto it = j.find("Attributes"); it != j.end() && it->is_object()) {
        d.message_id = str(*it, "MessageId");
        d.feedback_id = str(*it, "FeedbackId");
    }
    return d;
}

}  // namespace

std::string send_email_body(const SendEmailRequest& r) {
    json j = {{"FromEmailAddress", r.from},
              {"Destination", destination_json(r.destination)},
              {"Content", content_json(r.content)}};
    if (!r.reply_to.empty()) j["ReplyToAddresses"] = r.reply_to;
    if (!r.configuration_set.empty()) j["ConfigurationSetName"] = r.configuration_set;
    if (!r.tags.empty()) j["EmailTags"] = tags_json(r.tags);
    if (!r.list_contact_list.empty()) {
        json l = {{"ContactListName", r.list_contact_list}};
        if (!r.list_topic.empty()) l["TopicName"] = r.list_topic;
        j["ListManagementOptions"] = l;
    }
    if (!r.feedback_forwarding_address.empty()) j["FeedbackForwardingEmailAddress"] = r.feedback_forwarding_address;
    return j.dump();
}

SesV2Client::SesV2Client(ClientContext context, ServiceEndpoint endpoint) : m_client(context, std::move(endpoint)) {}

Result<std::string> SesV2Client::call(std::string method, std::string path, std::string query, std::string body,
                                      bool idempotent) {
    Call c;
    c.idempotent = idempotent;
    c.method = std::move(method);
    c.path = std::move(path);
    c.query = std::move(query);
    if (!body.empty()) c.headers.push_back({"Content-Type", "application/json"});
    c.body = std::move(body);
    c.parse_error = parse_rest_json_error;
    MAILTRACK_TRY_ASSIGN(auto r, m_client.send(c));
    return std::move(r.body);
}

Result<std::string> SesV2Client::send_email(const SendEmailRequest& request) {
    MAILTRACK_TRY_ASSIGN(auto r, call("POST", "/v2/email/outbound-emails", "", send_email_body(request), false));
    MAILTRACK_TRY_ASSIGN(auto j, detail::parse_json_body(r, "SendEmail"));
    std::string id = str(j, "MessageId");
    if (id.empty()) return fail(ErrorKind::parse, "SendEmail: response has no MessageId");
    return id;
}

Result<std::vector<BulkEmailResult>> SesV2Client::send_bulk_email(const SendBulkEmailRequest& r) {
    json entries = json::array();
    for (const auto& e : r.entries) {
        json x = {{"Destination", destination_json(e.destination)}};
        if (!e.replacement_tags.empty()) x["ReplacementTags"] = tags_json(e.replacement_tags);
        if (!e.replacement_template_data.empty()) {
            x["ReplacementEmailContent"] = {
                {"ReplacementTemplate", {{"ReplacementTemplateData", e.replacement_template_data}}}};
        }
        entries.push_back(std::move(x));
    }
    json j = {
        {"FromEmailAddress", r.from},
        {"DefaultContent",
         {{"Template",
           {{"TemplateName", r.default_template.template_name}, {"TemplateData", r.default_template.template_data}}}}},
        {"BulkEmailEntries", entries}};
    if (!r.reply_to.empty()) j["ReplyToAddresses"] = r.reply_to;
    if (!r.default_tags.empty()) j["DefaultEmailTags"] = tags_json(r.default_tags);
    if (!r.configuration_set.empty()) j["ConfigurationSetName"] = r.configuration_set;
    MAILTRACK_TRY_ASSIGN(auto body, call("POST", "/v2/email/outbound-bulk-emails", "", j.dump(), false));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(body, "SendBulkEmail"));
    std::vector<BulkEmailResult> out;
    const auto it = p.find("BulkEmailEntryResults");
    if (it == p.end() || !it->is_array()) return fail(ErrorKind::parse, "SendBulkEmail: no BulkEmailEntryResults");
    for (const auto& x : *it) out.push_back({str(x, "Status"), str(x, "Error"), str(x, "MessageId")});
    return out;
}

Result<SesAccount> SesV2Client::get_account() {
    MAILTRACK_TRY_ASSIGN(auto body, call("GET", "/v2/email/account", "", ""));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(body, "GetAccount"));
    SesAccount a;
    const json q = p.value("SendQuota", json::object());
    a.max_24_hour_send = q.value("Max24HourSend", 0.0);
    a.max_send_rate = q.value("MaxSendRate", 0.0);
    a.sent_last_24_hours = q.value("SentLast24Hours", 0.0);
    a.sending_enabled = p.value("SendingEnabled", false);
    a.production_access_enabled = p.value("ProductionAccessEnabled", false);
    a.enforcement_status = str(p, "EnforcementStatus");
    return a;
}

Result<void> SesV2Client::put_suppressed_destination(const std::string& email_address, const std::string& reason) {
    MAILTRACK_TRY(call("PUT", "/v2/email/suppression/addresses", "",
                       json{{"EmailAddress", email_address}, {"Reason", reason}}.dump()));
    return {};
}

Result<SuppressedDestination> SesV2Client::get_suppressed_destination(const std::string& email_address) {
    MAILTRACK_TRY_ASSIGN(auto body,
                         call("GET", "/v2/email/suppression/addresses/" + uri_encode(email_address, false), "", ""));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(body, "GetSuppressedDestination"));
    const auto it = p.find("SuppressedDestination");
    if (it == p.end() || !it->is_object())
        return fail(ErrorKind::parse, "GetSuppressedDestination: no SuppressedDestination");
    return suppressed_from(*it);
}

Result<void> SesV2Client::delete_suppressed_destination(const std::string& email_address) {
    MAILTRACK_TRY(call("DELETE", "/v2/email/suppression/addresses/" + uri_encode(email_address, false), "", ""));
    return {};
}

Result<SuppressedPage> SesV2Client::list_suppressed_destinations(const ListSuppressedRequest& r) {
    std::string q;
    auto add = [&](std::string_view k, const std::string& v) {
        if (!q.empty()) q.push_back('&');
        q += k;
        q.push_back('=');
        q += uri_encode(v, false);
    };
    // REST-JSON timestamps in a query string are ISO 8601 (botocore's default for querystring).
    auto iso = [](util::UnixMillis ms) {
        const std::string d = amz_date(ms);  // YYYYMMDDTHHMMSSZ
        return d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2) + "T" + d.substr(9, 2) + ":" +
               d.substr(11, 2) + ":" + d.substr(13, 2) + "Z";
    };
    for (const auto& reason : r.reasons) add("Reason", reason);
    if (r.start) add("StartDate", iso(*r.start));
    if (r.end) add("EndDate", iso(*r.end));
    if (!r.next_token.empty()) add("NextToken", r.next_token);
    if (r.page_size > 0) add("PageSize", std::to_string(r.page_size));
    MAILTRACK_TRY_ASSIGN(auto body, call("GET", "/v2/email/suppression/addresses", q, ""));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(body, "ListSuppressedDestinations"));
    SuppressedPage page;
    if (const auto it = p.find("SuppressedDestinationSummaries"); it != p.end() && it->is_array()) {
        for (const auto& x : *it) page.destinations.push_back(suppressed_from(x));
    }
    page.next_token = str(p, "NextToken");
    return page;
}

Result<std::vector<SuppressedDestination>> SesV2Client::list_all_suppressed_destinations(
    ListSuppressedRequest request) {
    std::vector<SuppressedDestination> all;
    for (int pages = 0; pages < 100000; ++pages) {
        MAILTRACK_TRY_ASSIGN(auto page, list_suppressed_destinations(request));
        all.insert(all.end(), page.destinations.begin(), page.destinations.end());
        if (page.next_token.empty()) return all;
        if (page.next_token == request.next_token) {
            return fail(ErrorKind::parse, "ListSuppressedDestinations: NextToken did not advance");
        }
        request.next_token = page.next_token;
    }
    return fail(ErrorKind::parse, "ListSuppressedDestinations: too many pages");
}

}  // namespace mailtrack::aws
