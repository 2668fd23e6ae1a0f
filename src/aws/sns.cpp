#include "mailtrack/aws/sns.hpp"

#include <pugixml.hpp>

#include "mailtrack/aws/sigv4.hpp"

namespace mailtrack::aws {
namespace {

class Form {
public:
    explicit Form(std::string_view action) {
        add("Action", action);
        add("Version", "2010-03-31");
    }
    void add(std::string_view key, std::string_view value) {
        if (!m_body.empty()) m_body.push_back('&');
        m_body += key;
        m_body.push_back('=');
        m_body += form_encode(value);
    }
    void add_if(std::string_view key, std::string_view value) {
        if (!value.empty()) add(key, value);
    }
    void add_attributes(const MessageAttributes& attrs, const std::string& prefix) {
        int n = 1;
        for (const auto& [name, a] : attrs) {
            const std::string p = prefix + "MessageAttributes.entry." + std::to_string(n++) + ".";
            add(p + "Name", name);
            add(p + "Value.DataType", a.data_type);
            if (a.data_type.rfind("Binary", 0) == 0)
                add(p + "Value.BinaryValue", a.binary_value);
            else
                add(p + "Value.StringValue", a.string_value);
        }
    }
    void add_map(const std::string& prefix, const std::map<std::string, std::string>& m) {
        int n = 1;
        for (const auto& [k, v] : m) {
            const std::string p = prefix + ".entry." + std::to_string(n++) + ".";
            add(p + "key", k);
            add(p + "value", v);
        }
    }
    const std::string& body() const { return m_body; }

private:
    std::string m_body;
};

struct Parsed {
    pugi::xml_document doc;
    pugi::xml_node result;
};

Result<std::string> post(AwsClient& client, const Form& form) {
    Call c;
    c.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    c.body = form.body();
    c.parse_error = parse_query_error;
    MAILTRACK_TRY_ASSIGN(auto r, client.send(c));
    return std::move(r.body);
}

// Finds <{action}Response><{action}Result> in the XML body.
Result<void> parse_result(const std::string& body, std::string_view action, Parsed& out) {
    if (!out.doc.load_buffer(body.data(), body.size())) {
        return fail(ErrorKind::parse, std::string(action) + ": response is not XML");
    }
    const std::string response = std::string(action) + "Response";
    const std::string result = std::string(action) + "Result";
    out.result = out.doc.child(response.c_str()).child(result.c_str());
    if (!out.result) return fail(ErrorKind::parse, std::string(action) + ": response has no " + result);
    return {};
}

std::map<std::string, std::string> entries(const pugi::xml_node& attributes) {
    std::map<std::string, std::string> out;
    for (const auto& e : attributes.children("entry")) out[e.child_value("key")] = e.child_value("value");
    return out;
}

}  // namespace

std::string form_encode(std::string_view value) {
    std::string out = uri_encode(value, false);
    std::string spaced;
    spaced.reserve(out.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out.compare(i, 3, "%20") == 0) {
            spaced.push_back('+');
            i += 2;
        } else {
            spaced.push_back(out[i]);
        }
    }
    return spaced;
}

SnsClient::SnsClient(ClientContext context, ServiceEndpoint endpoint) : m_client(context, std::move(endpoint)) {}

Result<Published> SnsClient::publish(const PublishRequest& req) {
    Form f("Publish");
    f.add("TopicArn", req.topic_arn);
    f.add("Message", req.message);
    f.add_if("Subject", req.subject);
    f.add_if("MessageStructure", req.message_structure);
    f.add_attributes(req.attributes, "");
    f.add_if("MessageDeduplicationId", req.message_deduplication_id);
    f.add_if("MessageGroupId", req.message_group_id);
    MAILTRACK_TRY_ASSIGN(auto body, post(m_client, f));
    Parsed p;
    MAILTRACK_TRY(parse_result(body, "Publish", p));
    Published out{"", p.result.child_value("MessageId"), p.result.child_value("SequenceNumber")};
    if (out.message_id.empty()) return fail(ErrorKind::parse, "Publish: response has no MessageId");
    return out;
}

Result<PublishBatchOutcome> SnsClient::publish_batch(const std::string& topic_arn,
                                                     const std::vector<PublishEntry>& batch) {
    Form f("PublishBatch");
    f.add("TopicArn", topic_arn);
    int n = 1;
    for (const auto& e : batch) {
        const std::string p = "PublishBatchRequestEntries.member." + std::to_string(n++) + ".";
        f.add(p + "Id", e.id);
        f.add(p + "Message", e.message);
        f.add_if(p + "Subject", e.subject);
        f.add_attributes(e.attributes, p);
        f.add_if(p + "MessageDeduplicationId", e.message_deduplication_id);
        f.add_if(p + "MessageGroupId", e.message_group_id);
    }
    MAILTRACK_TRY_ASSIGN(auto body, post(m_client, f));
    Parsed p;
    MAILTRACK_TRY(parse_result(body, "PublishBatch", p));
    PublishBatchOutcome out;
    for (const auto& m : p.result.child("Successful").children("member")) {
        out.successful.push_back({m.child_value("Id"), m.child_value("MessageId"), m.child_value("SequenceNumber")});
    }
    for (const auto& m : p.result.child("Failed").children("member")) {
        out.failed.push_back({m.child_value("Id"), m.child_value("Code"), m.child_value("Message"),
                              std::string_view(m.child_value("SenderFault")) == "true"});
    }
    return out;
}

Result<std::string> SnsClient::create_topic(const std::string& name,
                                            const std::map<std::string, std::string>& attributes,
                                            const std::vector<std::pair<std::string, std::string>>& tags) {
    Form f("CreateTopic");
    f.add("Name", name);
    f.add_map("Attributes", attributes);
    int n = 1;
    for (const auto& [k, v] : tags) {
        const std::string p = "Tags.member." + std::to_string(n++) + ".";
        f.add(p + "Key", k);
        f.add(p + "Value", v);
    }
    MAILTRACK_TRY_ASSIGN(auto body, post(m_client, f));
    Parsed p;
    MAILTRACK_TRY(parse_result(body, "CreateTopic", p));
    std::string arn = p.result.child_value("TopicArn");
    if (arn.empty()) return fail(ErrorKind::parse, "CreateTopic: response has no TopicArn");
    return arn;
}

Result<std::map<std::string, std::string>> SnsClient::get_topic_attributes(const std::string& topic_arn) {
    Form f("GetTopicAttributes");
    f.add("TopicArn", topic_arn);
    MAILTRACK_TRY_ASSIGN(auto body, post(m_client, f));
    Parsed p;
    MAILTRACK_TRY(parse_result(body, "GetTopicAttributes", p));
    return entries(p.result.child("Attributes"));
}

Result<std::string> SnsClient::subscribe(const std::string& topic_arn, const std::string& protocol,
                                         const std::string& endpoint,
                                         const std::map<std::string, std::string>& attributes) {
    Form f("Subscribe");
    f.add("TopicArn", topic_arn);
    f.add("Protocol", protocol);
    f.add("Endpoint", endpoint);
    f.add_map("Attributes", attributes);
    f.add("ReturnSubscriptionArn", "true");
    MAILTRACK_TRY_ASSIGN(auto body, post(m_client, f));
    Parsed p;
    MAILTRACK_TRY(parse_result(body, "Subscribe", p));
    std::string arn = p.result.child_value("SubscriptionArn");
    if (arn.empty()) return fail(ErrorKind::parse, "Subscribe: response has no SubscriptionArn");
    return arn;
}

Result<void> SnsClient::set_subscription_attributes(const std::string& subscription_arn, const std::string& name,
                                                    const std::string& value) {
    Form f("SetSubscriptionAttributes");
    f.add("SubscriptionArn", subscription_arn);
    f.add("AttributeName", name);
    f.add("AttributeValue", value);
    MAILTRACK_TRY(post(m_client, f));
    return {};
}

}  // namespace mailtrack::aws
