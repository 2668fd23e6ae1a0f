#include "mailtrack/aws/sqs.hpp"

#include <simdjson.h>

#include <charconv>

#include "mailtrack/util/json_escape.hpp"

#include "json_util.hpp"

namespace mailtrack::aws {
namespace {

using detail::str;
using nlohmann::json;

std::optional<std::int64_t> to_int(const std::map<std::string, std::string>& m, const char* key) {
    const auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    std::int64_t v = 0;
    const auto& s = it->second;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

json attributes_json(const MessageAttributes& attrs) {
    json out = json::object();
    for (const auto& [name, a] : attrs) {
        json v = {{"DataType", a.data_type}};
        if (a.data_type.rfind("Binary", 0) == 0)
            v["BinaryValue"] = a.binary_value;
        else
            v["StringValue"] = a.string_value;
        out[name] = std::move(v);
    }
    return out;
}

std::map<std::string, std::string> string_map(const json& j) {
    std::map<std::string, std::string> out;
    if (!j.is_object()) return out;
    for (const auto& [k, v] : j.items()) {
        if (v.is_string()) out[k] = v.get<std::string>();
    }
    return out;
}

void add_send_fields(json& j, const std::optional<int>& delay, const MessageAttributes& attrs, const std::string& group,
                     const std::string& dedup) {
    if (delay) j["DelaySeconds"] = *delay;
    if (!attrs.empty()) j["MessageAttributes"] = attributes_json(attrs);
    if (!group.empty()) j["MessageGroupId"] = group;
    if (!dedup.empty()) j["MessageDeduplicationId"] = dedup;
}

// ReceiveMessage answers carry the message bodies (SES events of 2-3 KB, JSON-escaped): they
// are parsed with simdjson, which is several times faster here than a general-purpose DOM and
// reuses one parser per thread.
Result<std::string> string_field(simdjson::dom::object o, std::string_view key, bool required) {
    simdjson::dom::element e;
    if (o.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) {
        if (required) return fail(ErrorKind::parse, "ReceiveMessage: a message has no " + std::string(key));
        return std::string();
    }
    std::string_view v;
    if (e.get_string().get(v) != simdjson::SUCCESS) {
        return fail(ErrorKind::parse, "ReceiveMessage: a message's " + std::string(key) + " is not a string");
    }
    return std::string(v);
}

}  // namespace

Result<BatchOutcome> parse_batch_outcome(std::string_view body, std::string_view operation) {
    BatchOutcome o;
    if (body.empty()) return o;
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::object top;
    if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(top) != simdjson::SUCCESS) {
        return fail(ErrorKind::parse, std::string(operation) + ": response is not a JSON object");
    }
    auto text = [](simdjson::dom::object x, std::string_view key) {
        std::string_view v;
        return x.at_key(key).get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
    };
    simdjson::dom::array list;
    if (top.at_key("Successful").get_array().get(list) == simdjson::SUCCESS) {
        for (simdjson::dom::element e : list) {
            simdjson::dom::object x;
            if (e.get_object().get(x) == simdjson::SUCCESS) o.successful.push_back(text(x, "Id"));
        }
    }
    if (top.at_key("Failed").get_array().get(list) == simdjson::SUCCESS) {
        for (simdjson::dom::element e : list) {
            simdjson::dom::object x;
            if (e.get_object().get(x) != simdjson::SUCCESS) continue;
            bool sender_fault = false;
            if (x.at_key("SenderFault").get_bool().get(sender_fault) != simdjson::SUCCESS) sender_fault = false;
            o.failed.push_back({text(x, "Id"), text(x, "Code"), text(x, "Message"), sender_fault});
        }
    }
    return o;
}

Result<std::vector<SqsMessage>> parse_receive_message_response(std::string_view body) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (const auto err = parser.parse(body.data(), body.size()).get(doc); err != simdjson::SUCCESS) {
        return fail(ErrorKind::parse,
                    std::string("ReceiveMessage: the answer is not JSON: ") + simdjson::error_message(err));
    }
    std::vector<SqsMessage> out;
    simdjson::dom::element messages;
    if (doc.at_key("Messages").get(messages) != simdjson::SUCCESS || messages.is_null()) return out;
    simdjson::dom::array list;
    if (messages.get_array().get(list) != simdjson::SUCCESS) {
        return fail(ErrorKind::parse, "ReceiveMessage: Messages is not an array");
    }
    out.reserve(list.size());
    for (simdjson::dom::element item : list) {
        simdjson::dom::object m;
        if (item.get_object().get(m) != simdjson::SUCCESS)
            return fail(ErrorKind::parse, "ReceiveMessage: a message is not an object");
        SqsMessage msg;
        auto id = string_field(m, "MessageId", false);
        auto handle = string_field(m, "ReceiptHandle", true);
        auto text = string_field(m, "Body", false);
        auto md5 = string_field(m, "MD5OfBody", false);
        for (auto* r : {&id, &handle, &text, &md5}) {
            if (!*r) return util::Unexpected(std::move(*r).error());
        }
        if (handle->empty()) return fail(ErrorKind::parse, "ReceiveMessage: a message has no ReceiptHandle");
        msg.message_id = std::move(*id);
        msg.receipt_handle = std::move(*handle);
        msg.body = std::move(*text);
        msg.md5_of_body = std::move(*md5);
        simdjson::dom::object attrs;
        if (m.at_key("Attributes").get_object().get(attrs) == simdjson::SUCCESS) {
            for (auto field : attrs) {
                std::string_view v;
                if (field.value.get_string().get(v) == simdjson::SUCCESS) msg.attributes.emplace(field.key, v);
            }
        }
        simdjson::dom::object user;
        if (m.at_key("MessageAttributes").get_object().get(user) == simdjson::SUCCESS) {
            for (auto field : user) {
                simdjson::dom::object a;
                if (field.value.get_object().get(a) != simdjson::SUCCESS) continue;
                auto type = string_field(a, "DataType", false);
                auto text_value = string_field(a, "StringValue", false);
                auto binary_value = string_field(a, "BinaryValue", false);
                msg.message_attributes[std::string(field.key)] =
                    MessageAttribute{type ? *type : std::string(), text_value ? *text_value : std::string(),
                                     binary_value ? *binary_value : std::string()};
            }
        }
        out.push_back(std::move(msg));
    }
    return out;
}

std::optional<std::int64_t> SqsMessage::receive_count() const {
    return to_int(attributes, "ApproximateReceiveCount");
}
std::optional<std::int64_t> SqsMessage::sent_timestamp() const {
    return to_int(attributes, "SentTimestamp");
}

SqsClient::SqsClient(ClientContext context, ServiceEndpoint endpoint) : m_client(context, std::move(endpoint)) {}

Result<std::string> SqsClient::call(std::string_view operation, const std::string& body,
                                    std::chrono::milliseconds timeout, CancelFlag* cancel) {
    Call c;
    c.headers = {{"Content-Type", "application/x-amz-json-1.0"},
                 {"X-Amz-Target", "AmazonSQS." + std::string(operation)},
                 {"x-amzn-query-mode", "true"}};  // ask for x-amzn-query-error codes, as botocore does
    c.body = body;
    c.timeout = timeout;
    c.cancel = cancel;
    c.parse_error = parse_json_error;
    MAILTRACK_TRY_ASSIGN(auto r, m_client.send(c));
    return std::move(r.body);
}

Result<std::vector<SqsMessage>> SqsClient::receive_message(const ReceiveMessageRequest& req) {
    // The worker's hot path: written directly rather than through a JSON DOM.
    std::string body = "{\"QueueUrl\":";
    util::append_json_string(body, req.queue_url);
    body += ",\"MaxNumberOfMessages\":" + std::to_string(req.max_messages);
    body += ",\"WaitTimeSeconds\":" + std::to_string(req.wait_seconds);
    if (req.visibility_timeout) body += ",\"VisibilityTimeout\":" + std::to_string(*req.visibility_timeout);
    auto names = [&](const char* key, const std::vector<std::string>& list) {
        if (list.empty()) return;
        body += ",\"";
        body += key;
        body += "\":[";
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (i > 0) body.push_back(',');
            util::append_json_string(body, list[i]);
        }
        body.push_back(']');
    };
    names("MessageSystemAttributeNames", req.system_attribute_names);
    names("MessageAttributeNames", req.message_attribute_names);
    body.push_back('}');
    // The long poll holds the request open for up to wait_seconds: allow that plus a margin.
    const auto timeout =
        req.wait_seconds > 0 ? std::chrono::milliseconds((req.wait_seconds + 10) * 1000) : std::chrono::milliseconds(0);
    MAILTRACK_TRY_ASSIGN(auto answer, call("ReceiveMessage", body, timeout, req.cancel));
    return parse_receive_message_response(answer);
}

Result<void> SqsClient::delete_message(const std::string& queue_url, const std::string& receipt_handle) {
    MAILTRACK_TRY(call("DeleteMessage", json{{"QueueUrl", queue_url}, {"ReceiptHandle", receipt_handle}}.dump()));
    return {};
}

Result<BatchOutcome> SqsClient::delete_message_batch(const std::string& queue_url,
                                                     const std::vector<DeleteEntry>& entries) {
    // The worker's hot path: written directly rather than through a JSON DOM.
    std::string body = "{\"QueueUrl\":";
    util::append_json_string(body, queue_url);
    body += ",\"Entries\":[";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        body += i > 0 ? ",{\"Id\":" : "{\"Id\":";
        util::append_json_string(body, entries[i].id);
        body += ",\"ReceiptHandle\":";
        util::append_json_string(body, entries[i].receipt_handle);
        body.push_back('}');
    }
    body += "]}";
    MAILTRACK_TRY_ASSIGN(auto r, call("DeleteMessageBatch", body));
    return parse_batch_outcome(r, "DeleteMessageBatch");
}

Result<void> SqsClient::change_message_visibility(const std::string& queue_url, const std::string& receipt_handle,
                                                  int visibility_timeout) {
    auto r =
        call("ChangeMessageVisibility",
             json{{"QueueUrl", queue_url}, {"ReceiptHandle", receipt_handle}, {"VisibilityTimeout", visibility_timeout}}
                 .dump());
    if (!r) return util::Unexpected(std::move(r).error());
    return {};
}

Result<BatchOutcome> SqsClient::change_message_visibility_batch(const std::string& queue_url,
                                                                const std::vector<VisibilityEntry>& entries) {
    json e = json::array();
    for (const auto& x : entries) {
        e.push_back({{"Id", x.id}, {"ReceiptHandle", x.receipt_handle}, {"VisibilityTimeout", x.visibility_timeout}});
    }
    MAILTRACK_TRY_ASSIGN(auto r,
                         call("ChangeMessageVisibilityBatch", json{{"QueueUrl", queue_url}, {"Entries", e}}.dump()));
    return parse_batch_outcome(r, "ChangeMessageVisibilityBatch");
}

Result<SentMessage> SqsClient::send_message(const SendMessageRequest& req) {
    json j = {{"QueueUrl", req.queue_url}, {"MessageBody", req.body}};
    add_send_fields(j, req.delay_seconds, req.attributes, req.message_group_id, req.message_deduplication_id);
    MAILTRACK_TRY_ASSIGN(auto r, call("SendMessage", j.dump()));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(r, "SendMessage"));
    SentMessage m{"", str(p, "MessageId"), str(p, "MD5OfMessageBody"), str(p, "SequenceNumber")};
    if (m.message_id.empty()) return fail(ErrorKind::parse, "SendMessage: response has no MessageId");
    return m;
}

Result<SendBatchOutcome> SqsClient::send_message_batch(const std::string& queue_url,
                                                       const std::vector<SendEntry>& entries) {
    json e = json::array();
    for (const auto& x : entries) {
        json item = {{"Id", x.id}, {"MessageBody", x.body}};
        add_send_fields(item, x.delay_seconds, x.attributes, x.message_group_id, x.message_deduplication_id);
        e.push_back(std::move(item));
    }
    MAILTRACK_TRY_ASSIGN(auto r, call("SendMessageBatch", json{{"QueueUrl", queue_url}, {"Entries", e}}.dump()));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(r, "SendMessageBatch"));
    SendBatchOutcome o;
    if (const auto it = p.find("Successful"); it != p.end() && it->is_array()) {
        for (const auto& s : *it) {
            o.successful.push_back(
                {str(s, "Id"), str(s, "MessageId"), str(s, "MD5OfMessageBody"), str(s, "SequenceNumber")});
        }
    }
    // The Failed entries are read as for every other batch answer.
    MAILTRACK_TRY_ASSIGN(auto outcome, parse_batch_outcome(r, "SendMessageBatch"));
    o.failed = std::move(outcome.failed);
    return o;
}

Result<std::string> SqsClient::get_queue_url(const std::string& queue_name) {
    MAILTRACK_TRY_ASSIGN(auto r, call("GetQueueUrl", json{{"QueueName", queue_name}}.dump()));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(r, "GetQueueUrl"));
    std::string url = str(p, "QueueUrl");
    if (url.empty()) return fail(ErrorKind::parse, "GetQueueUrl: response has no QueueUrl");
    return url;
}

Result<std::map<std::string, std::string>> SqsClient::get_queue_attributes(const std::string& queue_url,
                                                                           const std::vector<std::string>& names) {
    MAILTRACK_TRY_ASSIGN(auto r,
                         call("GetQueueAttributes", json{{"QueueUrl", queue_url}, {"AttributeNames", names}}.dump()));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(r, "GetQueueAttributes"));
    return string_map(p.value("Attributes", json::object()));
}

Result<std::string> SqsClient::create_queue(const std::string& queue_name,
                                            const std::map<std::string, std::string>& attributes) {
    json j = {{"QueueName", queue_name}};
    if (!attributes.empty()) j["Attributes"] = attributes;
    MAILTRACK_TRY_ASSIGN(auto r, call("CreateQueue", j.dump()));
    MAILTRACK_TRY_ASSIGN(auto p, detail::parse_json_body(r, "CreateQueue"));
    std::string url = str(p, "QueueUrl");
    if (url.empty()) return fail(ErrorKind::parse, "CreateQueue: response has no QueueUrl");
    return url;
}

Result<void> SqsClient::set_queue_attributes(const std::string& queue_url,
                                             const std::map<std::string, std::string>& attributes) {
    MAILTRACK_TRY(call("SetQueueAttributes", json{{"QueueUrl", queue_url}, {"Attributes", attributes}}.dump()));
    return {};
}

}  // namespace mailtrack::aws
