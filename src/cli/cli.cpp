#include "mailtrack/cli/cli.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/ingest.hpp"
#include "mailtrack/app/redis_store.hpp"
#include "mailtrack/app/sending.hpp"
#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/app/suppression_sync.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/core/address.hpp"
#include "mailtrack/core/reputation.hpp"
#include "mailtrack/util/log.hpp"
#include "mailtrack/util/time.hpp"

#include "queue_commands.hpp"
#include "table.hpp"

extern char** environ;

namespace mailtrack::cli {
namespace {

using nlohmann::json;
using util::format_timestamp;

constexpr int k_exit_ok = 0;
constexpr int k_exit_failure = 1;
constexpr int k_exit_partial = 2;

struct GlobalOptions {
    std::string config_file;
    std::vector<std::string> overrides;
    std::string db;
    std::string log_level;
    std::string log_format;
    bool json = false;
};

std::vector<std::pair<std::string, std::string>> environment() {
    std::vector<std::pair<std::string, std::string>> out;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view entry(*e);
        if (entry.rfind("MAILTRACK_", 0) != 0) continue;
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return out;
}

// Thrown to leave a command with a message and exit code; caught in run().
struct CommandError {
    std::string message;
    int code = k_exit_failure;
};

config::Config load_config(const GlobalOptions& g) {
    std::optional<std::string> file;
    if (!g.config_file.empty())
        file = g.config_file;
    else if (const char* f = std::getenv("MAILTRACK_CONFIG"); f != nullptr && *f != '\0')
        file = f;
    std::vector<std::string> overrides = g.overrides;
    if (!g.db.empty()) overrides.push_back("store.sqlite_path=" + g.db);
    if (!g.log_level.empty()) overrides.push_back("log.level=" + g.log_level);
    if (!g.log_format.empty()) overrides.push_back("log.format=" + g.log_format);
    auto c = config::Config::load(file, environment(), overrides);
    if (!c) throw CommandError{c.error().describe()};
    util::log::Level level{};
    util::log::Format format{};
    if (!util::log::parse_level(c->text("log.level"), level)) {
        throw CommandError{"configuration: log.level must be debug, info, warn, error or off"};
    }
    if (!util::log::parse_format(c->text("log.format"), format)) {
        throw CommandError{"configuration: log.format must be text or json"};
    }
    util::log::configure(level, format);
    return std::move(*c);
}

// The configured store; with redis.url set, behind Redis (status cache, shared idempotency keys).
std::unique_ptr<store::Store> open_store(const config::Config& c) {
    auto s = app::open_store(c);
    if (!s) throw CommandError{s.error().describe()};
    static const util::SystemClock clock;
    auto shared = app::share_through_redis(std::move(*s), c, aws::process_environment(), clock);
    if (!shared) throw CommandError{shared.error().describe()};
    return std::move(*shared);
}

std::optional<app::RedisSettings> redis_settings(const config::Config& c) {
    auto r = app::redis_settings(c, aws::process_environment());
    if (!r) throw CommandError{r.error().describe()};
    return std::move(*r);
}

std::string when(const std::optional<util::UnixMillis>& t) {
    return t ? format_timestamp(*t) : std::string();
}

json opt_time(const std::optional<util::UnixMillis>& t) {
    return t ? json(format_timestamp(*t)) : json(nullptr);
}

json engagement_json(const core::Engagement& e) {
    return {{"opens", e.opens},
            {"first_open_at", opt_time(e.first_open_at)},
            {"last_open_at", opt_time(e.last_open_at)},
            {"clicks", e.clicks},
            {"first_click_at", opt_time(e.first_click_at)},
            {"last_click_at", opt_time(e.last_click_at)},
            {"subscription_changes", e.subscription_changes},
            {"unsubscribed_at", opt_time(e.unsubscribed_at)}};
}

json recipient_json(const core::RecipientState& r) {
    json j = {{"message_id", r.message_id},
              {"address", r.address},
              {"status", std::string(core::to_string(r.status.status))},
              {"status_at", format_timestamp(r.status.at)},
              {"soft_bounces", r.soft_bounces},
              {"event_count", r.event_count},
              {"engagement", engagement_json(r.engagement)}};
    if (r.delivery) {
        j["delivery"] = {{"at", format_timestamp(r.delivery->at)},
                         {"smtp_response", r.delivery->smtp_response},
                         {"reporting_mta", r.delivery->reporting_mta},
                         {"processing_time_millis", r.delivery->processing_time_millis}};
    }
    if (r.bounce) {
        j["bounce"] = {{"at", format_timestamp(r.bounce->at)}, {"type", r.bounce->bounce_type},
                       {"subtype", r.bounce->bounce_subtype},  {"action", r.bounce->action},
                       {"status", r.bounce->status_code},      {"diagnostic_code", r.bounce->diagnostic_code}};
    }
    if (r.complaint) {
        j["complaint"] = {{"at", format_timestamp(r.complaint->at)},
                          {"feedback_type", r.complaint->feedback_type},
                          {"subtype", r.complaint->complaint_subtype},
                          {"user_agent", r.complaint->user_agent}};
    }
    if (r.delay) {
        j["delay"] = {{"at", format_timestamp(r.delay->at)},
                      {"type", r.delay->delay_type},
                      {"status", r.delay->status_code},
                      {"diagnostic_code", r.delay->diagnostic_code},
                      {"expiration_time", opt_time(r.delay->expiration_time)}};
    }
    if (r.failure) {
        j["failure"] = {{"at", format_timestamp(r.failure->at)},
                        {"reason", r.failure->reason},
                        {"template", r.failure->template_name}};
    }
    return j;
}

// The facts worth a glance in a table cell.
std::string recipient_detail(const core::RecipientState& r) {
    using core::RecipientStatus;
    switch (r.status.status) {
        case RecipientStatus::bounced:
        case RecipientStatus::soft_bounced:
            if (r.bounce) {
                std::string d = r.bounce->bounce_type + "/" + r.bounce->bounce_subtype;
                if (!r.bounce->diagnostic_code.empty()) d += " " + r.bounce->diagnostic_code.substr(0, 60);
                return d;
            }
            break;
        case RecipientStatus::complained:
            if (r.complaint)
                return "feedback: " + (r.complaint->feedback_type.empty() ? "-" : r.complaint->feedback_type);
            break;
        case RecipientStatus::delivery_delayed:
            if (r.delay)
                return r.delay->delay_type +
                       (r.delay->expiration_time ? " until " + when(r.delay->expiration_time) : "");
            break;
        case RecipientStatus::rejected:
        case RecipientStatus::rendering_failed:
            if (r.failure) return r.failure->reason.substr(0, 70);
            break;
        case RecipientStatus::delivered:
            if (r.delivery) return r.delivery->smtp_response.substr(0, 60);
            break;
        default: break;
    }
    return {};
}

std::string read_input(const std::string& path) {
    if (path == "-") {
        return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CommandError{"cannot read " + path + ": " + std::strerror(errno)};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int cmd_ingest(const GlobalOptions& g, const std::vector<std::string>& inputs) {
    const auto c = load_config(g);
    auto store = open_store(c);
    app::Ingestor ingestor(*store, static_cast<std::size_t>(c.integer("ingest.batch_size")),
                           static_cast<std::size_t>(c.integer("ingest.max_document_bytes")));
    const std::vector<std::string> sources = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
    for (const auto& path : sources) {
        const std::string text = read_input(path);
        if (auto r = ingestor.add_input(text, path == "-" ? "stdin" : path); !r)
            throw CommandError{r.error().describe()};
    }
    if (auto r = ingestor.flush(); !r) throw CommandError{r.error().describe()};
    const auto& rep = ingestor.report();
    if (g.json) {
        json rejected = json::array();
        for (const auto& x : rep.rejections) rejected.push_back({{"origin", x.origin}, {"reason", x.reason}});
        std::cout << json{{"documents", rep.documents}, {"applied", rep.applied},   {"duplicates", rep.duplicates},
                          {"unknown", rep.unknown},     {"rejected", rep.rejected}, {"rejections", rejected}}
                         .dump()
                  << "\n";
    } else {
        std::cout << fmt::format("applied {}  duplicates {}  unknown {}  rejected {}  ({} documents, {} batches)\n",
                                 rep.applied, rep.duplicates, rep.unknown, rep.rejected, rep.documents, rep.batches);
        for (const auto& x : rep.rejections) std::cout << "rejected " << x.origin << ": " << x.reason << "\n";
    }
    return rep.rejected > 0 ? k_exit_partial : k_exit_ok;
}

int cmd_status(const GlobalOptions& g, const std::string& message_id, bool raw) {
    const auto c = load_config(g);
    auto store = open_store(c);
    auto view = store->message(message_id, raw);  // without --raw it may come from the Redis cache
    if (!view) throw CommandError{view.error().describe()};
    if (!*view) throw CommandError{"no message with id " + message_id + " in " + c.text("store.sqlite_path")};
    const auto& v = **view;
    const auto& m = v.message;
    if (g.json) {
        json recipients = json::array();
        for (const auto& r : v.recipients) recipients.push_back(recipient_json(r));
        json events = json::array();
        for (const auto& e : v.events) {
            json ev = {{"id", e.id.hex()},
                       {"type", std::string(core::to_string(e.type))},
                       {"ses_type", e.type_name},
                       {"timestamp", format_timestamp(e.occurred_at)}};
            if (raw) ev["raw"] = json::parse(e.raw_json, nullptr, false);
            events.push_back(std::move(ev));
        }
        std::cout << json{{"message_id", m.message_id},
                          {"status", std::string(core::to_string(m.status.status))},
                          {"mail_timestamp", opt_time(m.mail_timestamp)},
                          {"source", m.source},
                          {"subject", m.subject},
                          {"send_id", m.send_id},
                          {"configuration_set", m.configuration_set},
                          {"recipient_count", m.recipient_count},
                          {"event_count", m.event_count},
                          {"unknown_events", m.unknown_events},
                          {"engagement", engagement_json(m.engagement)},
                          {"recipients", recipients},
                          {"events", events}}
                         .dump(2)
                  << "\n";
        return k_exit_ok;
    }
    std::cout << fmt::format("message   {}\nstatus    {}\nsent      {}\nfrom      {}\nsubject   {}\n", m.message_id,
                             core::to_string(m.status.status), when(m.mail_timestamp), m.source, m.subject);
    if (!m.send_id.empty()) std::cout << "send id   " << m.send_id << "\n";
    std::cout << fmt::format("opens     {}   clicks {}   events {}\n\n", m.engagement.opens, m.engagement.clicks,
                             m.event_count);
    Table rt({"RECIPIENT", "STATUS", "SINCE", "DETAIL"});
    for (const auto& r : v.recipients) {
        rt.add({r.address, std::string(core::to_string(r.status.status)), format_timestamp(r.status.at),
                recipient_detail(r)});
    }
    std::cout << rt.render() << "\n";
    Table et({"TIME", "EVENT", "ID"});
    for (const auto& e : v.events) {
        et.add({format_timestamp(e.occurred_at), e.type_name, e.id.hex().substr(0, 12)});
    }
    std::cout << et.render();
    if (raw) {
        for (const auto& e : v.events) std::cout << e.raw_json << "\n";
    }
    return k_exit_ok;
}

// One send by its send id: the send record and, once SES accepted it, each recipient's status
// from the event path (recipients left out of the SES call are listed with why).
int cmd_status_send(const GlobalOptions& g, const std::string& send_id) {
    const auto c = load_config(g);
    auto store = open_store(c);
    auto found = store->send(send_id);
    if (!found) throw CommandError{found.error().describe()};
    if (!*found) throw CommandError{"no send with id " + send_id + " in " + c.text("store.sqlite_path")};
    const store::SendRecord& s = **found;
    std::vector<core::RecipientState> states;
    if (!s.ses_message_id.empty()) {
        auto view = store->message(s.ses_message_id, false);
        if (!view) throw CommandError{view.error().describe()};
        if (*view) states = (*view)->recipients;
    }
    const auto state_of = [&](const std::string& address) -> const core::RecipientState* {
        for (const auto& r : states) {
            if (r.address == address) return &r;
        }
        return nullptr;
    };
    if (g.json) {
        json recipients = json::array();
        for (const auto& r : s.recipients) {
            json x = {{"address", r.address}, {"role", std::string(store::to_string(r.role))}};
            if (!r.skipped.empty()) {
                x["status"] = "skipped";
                x["skipped"] = r.skipped;
            } else if (const auto* st = state_of(r.address)) {
                x = recipient_json(*st);
                x["role"] = std::string(store::to_string(r.role));
            } else {
                x["status"] = s.status == store::SendStatus::sent ? "sent" : std::string(store::to_string(s.status));
            }
            recipients.push_back(std::move(x));
        }
        std::cout << json{{"send_id", s.send_id},
                          {"status", std::string(store::to_string(s.status))},
                          {"ses_message_id", s.ses_message_id},
                          {"linked_by_event", s.linked_by_event},
                          {"idempotency_key", s.idempotency_key},
                          {"created_at", format_timestamp(s.created_at)},
                          {"updated_at", format_timestamp(s.updated_at)},
                          {"attempts", s.attempts},
                          {"from", s.from},
                          {"subject", s.subject},
                          {"template", s.template_name},
                          {"configuration_set", s.configuration_set},
                          {"error_code", s.error_code},
                          {"error_message", s.error_message},
                          {"recipients", recipients}}
                         .dump(2)
                  << "\n";
        return k_exit_ok;
    }
    std::cout << fmt::format("send      {}\nstatus    {}{}\nmessage   {}\ncreated   {}\nfrom      {}\n", s.send_id,
                             store::to_string(s.status), s.linked_by_event ? "  (message id found by an event)" : "",
                             s.ses_message_id.empty() ? "-" : s.ses_message_id, format_timestamp(s.created_at), s.from);
    if (!s.subject.empty()) std::cout << "subject   " << s.subject << "\n";
    if (!s.template_name.empty()) std::cout << "template  " << s.template_name << "\n";
    if (!s.idempotency_key.empty()) std::cout << "key       " << s.idempotency_key << "\n";
    if (!s.error_code.empty()) std::cout << "error     " << s.error_code << ": " << s.error_message << "\n";
    std::cout << "\n";
    Table t({"RECIPIENT", "ROLE", "STATUS", "SINCE", "DETAIL"});
    for (const auto& r : s.recipients) {
        const std::string role(store::to_string(r.role));
        if (!r.skipped.empty()) {
            t.add({r.address, role, "skipped", "", r.skipped});
        } else if (const auto* st = state_of(r.address)) {
            t.add({r.address, role, std::string(core::to_string(st->status.status)), format_timestamp(st->status.at),
                   recipient_detail(*st)});
        } else {
            t.add({r.address, role, std::string(store::to_string(s.status)), "", ""});
        }
    }
    std::cout << t.render();
    return k_exit_ok;
}

int cmd_list(const GlobalOptions& g, const std::string& recipient, const std::string& status, const std::string& since,
             std::size_t limit) {
    const auto c = load_config(g);
    store::RecipientFilter f;
    f.limit = limit;
    if (!recipient.empty()) f.address = core::normalize_address(recipient);
    if (!status.empty()) {
        f.status = core::parse_status(status);
        if (!f.status) {
            throw CommandError{"--status " + status +
                                   ": unknown status (one of queued, sent, delivery_delayed, "
                                   "soft_bounced, delivered, rendering_failed, rejected, bounced, complained)",
                               k_exit_partial};
        }
    }
    if (!since.empty()) {
        util::SystemClock clock;
        f.since = util::parse_since(since, clock.now_millis());
        if (!f.since)
            throw CommandError{"--since " + since + ": expected an ISO 8601 time or a duration like 24h or 7d",
                               k_exit_partial};
    }
    auto store = open_store(c);
    auto rows = store->recipients(f);
    if (!rows) throw CommandError{rows.error().describe()};
    if (g.json) {
        json out = json::array();
        for (const auto& r : *rows) out.push_back(recipient_json(r));
        std::cout << out.dump() << "\n";
        return k_exit_ok;
    }
    Table t({"MESSAGE", "RECIPIENT", "STATUS", "SINCE", "DETAIL"});
    for (const auto& r : *rows) {
        t.add({r.message_id, r.address, std::string(core::to_string(r.status.status)), format_timestamp(r.status.at),
               recipient_detail(r)});
    }
    std::cout << t.render();
    return k_exit_ok;
}

int cmd_stats(const GlobalOptions& g, const std::string& since) {
    const auto c = load_config(g);
    std::optional<util::UnixMillis> from;
    if (!since.empty()) {
        util::SystemClock clock;
        from = util::parse_since(since, clock.now_millis());
        if (!from)
            throw CommandError{"--since " + since + ": expected an ISO 8601 time or a duration like 24h or 7d",
                               k_exit_partial};
    }
    auto store = open_store(c);
    auto counts = store->counts(from);
    if (!counts) throw CommandError{counts.error().describe()};
    const auto& n = *counts;
    const double bounce_rate = core::rate(n.hard_bounced, n.sent);
    const double complaint_rate = core::rate(n.complained, n.sent);
    const auto bounce_verdict = core::verdict(bounce_rate, core::k_bounce_warning, core::k_bounce_at_risk);
    const auto complaint_verdict = core::verdict(complaint_rate, core::k_complaint_warning, core::k_complaint_at_risk);
    if (g.json) {
        json by_status = json::object();
        for (int i = 0; i < core::k_status_count; ++i) {
            by_status[std::string(core::to_string(static_cast<core::RecipientStatus>(i)))] = n.by_status[i];
        }
        std::cout << json{{"messages", n.messages},
                          {"recipients", n.recipients},
                          {"sent", n.sent},
                          {"delivered", n.delivered},
                          {"bounced", n.hard_bounced},
                          {"complained", n.complained},
                          {"opens", n.opens},
                          {"clicks", n.clicks},
                          {"by_status", by_status},
                          {"bounce_rate", bounce_rate},
                          {"bounce_verdict", std::string(core::to_string(bounce_verdict))},
                          {"complaint_rate", complaint_rate},
                          {"complaint_verdict", std::string(core::to_string(complaint_verdict))}}
                         .dump()
                  << "\n";
        return k_exit_ok;
    }
    std::cout << fmt::format(
        "messages {}  recipients {}\nsent {}  delivered {}  bounced {}  complained {}  opens {}  clicks {}\n",
        n.messages, n.recipients, n.sent, n.delivered, n.hard_bounced, n.complained, n.opens, n.clicks);
    std::cout << fmt::format("bounce rate    {:6.2f}%  {}  (SES: warning at 5%, at risk at 10%)\n", bounce_rate * 100,
                             core::to_string(bounce_verdict));
    std::cout << fmt::format("complaint rate {:6.3f}%  {}  (SES: warning at 0.1%, at risk at 0.5%)\n",
                             complaint_rate * 100, core::to_string(complaint_verdict));
    Table t({"STATUS", "RECIPIENTS"});
    for (int i = 0; i < core::k_status_count; ++i) {
        t.add({std::string(core::to_string(static_cast<core::RecipientStatus>(i))), std::to_string(n.by_status[i])});
    }
    std::cout << "\n" << t.render();
    return k_exit_ok;
}

std::unique_ptr<app::AwsServices> open_aws(const config::Config& c) {
    auto s = app::make_aws_services(c, aws::process_environment());
    if (!s) throw CommandError{s.error().describe()};
    return std::move(*s);
}

// One line per fact, then one cheap read per service with a verdict. Never prints a secret.
int cmd_aws_check(const GlobalOptions& g) {
    const auto c = load_config(g);
    auto s = open_aws(c);
    json out = json::object();
    auto line = [&](const std::string& label, const std::string& value) {
        if (!g.json) std::cout << fmt::format("{:<14}{}\n", label, value);
    };
    line("region", s->region.value + "  (" + s->region.source + ")");
    out["region"] = {{"value", s->region.value}, {"source", s->region.source}};
    auto creds = s->credentials->credentials();
    if (creds) {
        std::string key =
            creds->access_key_id.substr(0, 4) + "..." +
            (creds->access_key_id.size() > 8 ? creds->access_key_id.substr(creds->access_key_id.size() - 4) : "");
        line("credentials", creds->source + "  (key " + key + (creds->session_token.empty() ? "" : ", session token") +
                                (creds->expiration ? ", expires " + format_timestamp(*creds->expiration) : "") + ")");
        out["credentials"] = {{"ok", true}, {"source", creds->source}};
    } else {
        line("credentials", "FAIL  " + creds.error().describe());
        out["credentials"] = {{"ok", false}, {"error", creds.error().describe()}};
    }
    line("sqs endpoint", s->sqs_endpoint.value + "  (" + s->sqs_endpoint.source + ")");
    line("sns endpoint", s->sns_endpoint.value + "  (" + s->sns_endpoint.source + ")");
    line("ses endpoint", s->sesv2_endpoint.value + "  (" + s->sesv2_endpoint.source + ")");
    out["endpoints"] = {
        {"sqs", s->sqs_endpoint.value}, {"sns", s->sns_endpoint.value}, {"sesv2", s->sesv2_endpoint.value}};

    bool all_ok = static_cast<bool>(creds);
    json checks = json::array();
    auto verdict = [&](const std::string& name, const std::string& what, bool ok, const std::string& detail) {
        all_ok = all_ok && ok;
        line(name, std::string(ok ? "OK    " : "FAIL  ") + what + (detail.empty() ? "" : "  " + detail));
        checks.push_back({{"check", name}, {"ok", ok}, {"what", what}, {"detail", detail}});
    };
    if (creds) {
        const auto queues = c.list("worker.queue_urls");
        if (queues.empty()) verdict("sqs", "GetQueueAttributes", false, "worker.queue_urls is not set");
        for (const auto& queue : queues) {
            auto a = s->sqs->get_queue_attributes(queue, {"ApproximateNumberOfMessages", "QueueArn"});
            verdict("sqs", "GetQueueAttributes " + queue, static_cast<bool>(a),
                    a ? "messages " + (*a)["ApproximateNumberOfMessages"] : a.error().describe());
        }
        auto acct = s->ses->get_account();
        verdict("ses", "GetAccount", static_cast<bool>(acct),
                acct ? fmt::format("max send rate {}/s, {} of {} sent in 24 h, sending {}", acct->max_send_rate,
                                   acct->sent_last_24_hours, acct->max_24_hour_send,
                                   acct->sending_enabled ? "enabled" : "DISABLED")
                     : acct.error().describe());
        std::string topic = c.text("sns.events_topic_arn");
        if (topic.empty()) topic = c.text("sns.alerts_topic_arn");
        if (topic.empty()) {
            verdict("sns", "GetTopicAttributes", false, "sns.events_topic_arn / sns.alerts_topic_arn not set");
        } else {
            auto t = s->sns->get_topic_attributes(topic);
            verdict("sns", "GetTopicAttributes " + topic, static_cast<bool>(t),
                    t ? "subscriptions " + (*t)["SubscriptionsConfirmed"] : t.error().describe());
        }
    }
    if (g.json) {
        out["checks"] = checks;
        out["ok"] = all_ok;
        std::cout << out.dump() << "\n";
    } else {
        std::cout << (all_ok ? "all checks passed\n" : "some checks failed\n");
    }
    return all_ok ? k_exit_ok : k_exit_failure;
}

int cmd_notify(const GlobalOptions& g, std::string topic, const std::string& subject, const std::string& message) {
    const auto c = load_config(g);
    if (topic.empty()) topic = c.text("sns.alerts_topic_arn");
    if (topic.empty()) throw CommandError{"notify: no --topic-arn and sns.alerts_topic_arn is not set"};
    auto s = open_aws(c);
    auto r = s->sns->publish({topic, message, subject, "", {}, "", ""});
    if (!r) throw CommandError{"notify: " + aws::to_util_error(r.error()).describe()};
    if (g.json)
        std::cout << json{{"message_id", r->message_id}, {"topic_arn", topic}}.dump() << "\n";
    else
        std::cout << "published " << r->message_id << " to " << topic << "\n";
    return k_exit_ok;
}

int cmd_config_show(const GlobalOptions& g) {
    const auto c = load_config(g);
    std::cout << (g.json ? c.show_json() + "\n" : c.show());
    return k_exit_ok;
}

// ---- sending -------------------------------------------------------------------------------

struct SendOptions {
    std::string from;
    std::vector<std::string> to, cc, bcc, reply_to;
    std::string subject, text, html, text_file, html_file;
    std::vector<std::string> attach, headers, tags;
    std::string template_name, template_data, configuration_set, idempotency_key;
    std::string list_contact_list, list_topic;
    bool force = false;
    bool sandbox_events = false, sandbox_engagement = false;
};

// --sandbox-events / --sandbox-engagement are shorthands for the sending.* settings.
GlobalOptions with_sandbox_flags(const GlobalOptions& g, bool events, bool engagement) {
    GlobalOptions out = g;
    if (events) out.overrides.push_back("sending.sandbox_events=true");
    if (engagement) out.overrides.push_back("sending.sandbox_engagement=true");
    return out;
}

void enable_sandbox_if_asked(app::Sending& sending, app::AwsServices& aws, const config::Config& c) {
    if (!c.boolean("sending.sandbox_events")) return;
    if (auto r = app::enable_sandbox_events(sending, aws, c); !r)
        throw CommandError{r.error().describe(), k_exit_partial};
}

// The content type of an attachment from its file name; "FILE;type=a/b" overrides it.
std::string content_type_for(const std::string& name) {
    static const std::pair<const char*, const char*> k_types[] = {
        {".txt", "text/plain"},
        {".csv", "text/csv"},
        {".html", "text/html"},
        {".htm", "text/html"},
        {".json", "application/json"},
        {".pdf", "application/pdf"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".svg", "image/svg+xml"},
        {".zip", "application/zip"},
        {".gz", "application/gzip"},
        {".xml", "application/xml"},
        {".ics", "text/calendar"},
        {".doc", "application/msword"},
        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    };
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const auto& [ext, type] : k_types) {
        const std::string_view e(ext);
        if (lower.size() > e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return type;
    }
    return "application/octet-stream";
}

std::pair<std::string, std::string> split_pair(const std::string& text, char sep, const std::string& what) {
    const auto at = text.find(sep);
    if (at == std::string::npos || at == 0)
        throw CommandError{what + " " + text + ": expected NAME" + sep + "VALUE", k_exit_partial};
    std::string value = text.substr(at + 1);
    if (sep == ':' && !value.empty() && value.front() == ' ') value.erase(0, 1);
    return {text.substr(0, at), value};
}

int cmd_send(const GlobalOptions& given, const SendOptions& o) {
    const GlobalOptions g = with_sandbox_flags(given, o.sandbox_events, o.sandbox_engagement);
    const auto c = load_config(g);
    sender::SendRequest r;
    r.from = o.from.empty() ? c.text("ses.from") : o.from;
    if (r.from.empty()) throw CommandError{"send: no --from and ses.from is not set", k_exit_partial};
    r.to = o.to;
    r.cc = o.cc;
    r.bcc = o.bcc;
    r.reply_to = o.reply_to;
    r.subject = o.subject;
    r.text = o.text_file.empty() ? o.text : read_input(o.text_file);
    r.html = o.html_file.empty() ? o.html : read_input(o.html_file);
    for (const std::string& spec : o.attach) {
        std::string path = spec, type;
        if (const auto at = spec.find(";type="); at != std::string::npos) {
            path = spec.substr(0, at);
            type = spec.substr(at + 6);
        }
        const auto slash = path.find_last_of('/');
        const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
        r.attachments.push_back({name, type.empty() ? content_type_for(name) : type, read_input(path)});
    }
    for (const std::string& h : o.headers) r.headers.push_back(split_pair(h, ':', "--header"));
    for (const std::string& t : o.tags) r.tags.push_back(split_pair(t, '=', "--tag"));
    r.template_name = o.template_name;
    r.template_data = o.template_data;
    if (!r.template_data.empty() && !json::accept(r.template_data)) {
        throw CommandError{"--template-data is not valid JSON", k_exit_partial};
    }
    r.configuration_set = o.configuration_set.empty() ? c.text("ses.configuration_set") : o.configuration_set;
    r.list_contact_list = o.list_contact_list;
    r.list_topic = o.list_topic;
    r.idempotency_key = o.idempotency_key;
    r.force = o.force;

    auto store = open_store(c);
    auto aws = open_aws(c);
    const auto seed = static_cast<std::uint64_t>(aws->clock.now_millis()) ^
                      (static_cast<std::uint64_t>(::getpid()) << 32) ^ std::random_device{}();
    auto options = app::sender_options(c);
    if (!options) throw CommandError{options.error().describe(), k_exit_partial};
    auto sending = app::make_sending(*store, *aws, seed, *options, redis_settings(c));
    enable_sandbox_if_asked(sending, *aws, c);
    auto result = sending.sender->send(r);
    if (!result) {
        const auto& e = result.error();
        if (g.json) {
            json out = {{"ok", false}, {"error", e.message}};
            if (!e.send_id.empty()) out["send_id"] = e.send_id;
            if (e.aws) out["aws_error_code"] = e.aws->code;
            if (!e.suppressed.empty()) {
                json list = json::array();
                for (const auto& x : e.suppressed)
                    list.push_back({{"address", x.address}, {"reason", core::to_string(x.reason)}});
                out["suppressed"] = list;
            }
            std::cout << out.dump() << "\n";
        }
        throw CommandError{"send: " + e.message};
    }
    for (const auto& w : result->warnings) std::cerr << "mailtrack: warning: " << w << "\n";
    if (g.json) {
        json skipped = json::array();
        for (const auto& x : result->skipped) {
            skipped.push_back({{"address", x.address}, {"reason", core::to_string(x.reason)}, {"detail", x.detail}});
        }
        std::cout << json{{"ok", true},
                          {"send_id", result->send_id},
                          {"ses_message_id", result->ses_message_id},
                          {"duplicate", result->duplicate},
                          {"skipped", skipped},
                          {"warnings", result->warnings}}
                         .dump()
                  << "\n";
    } else {
        std::cout << "send id         " << result->send_id << "\n"
                  << "SES message id  " << result->ses_message_id
                  << (result->duplicate ? "  (already sent: not sent again)" : "") << "\n";
        for (const auto& x : result->skipped) {
            std::cout << "skipped         " << x.address << "  (suppressed: " << core::to_string(x.reason)
                      << (x.detail.empty() ? "" : ", " + x.detail) << "; --force sends anyway)\n";
        }
    }
    return k_exit_ok;
}

// ---- bulk template sends -----------------------------------------------------------------

struct SendBulkOptions {
    std::string from, template_name, recipients, configuration_set;
    std::vector<std::string> tags;
    bool force = false;
    bool sandbox_events = false, sandbox_engagement = false;
};

// Progress on stderr: a redrawn bar with rate and ETA on a terminal, a plain line at most every
// 5 s (and at the end) otherwise.
class BulkProgressReport {
public:
    BulkProgressReport(const util::Clock& clock, bool quiet)
        : m_clock(clock),
          m_tty(!quiet && ::isatty(STDERR_FILENO) == 1),
          m_quiet(quiet),
          m_start(clock.steady_now()),
          m_last(m_start) {}
    void operator()(std::size_t done, std::size_t total) {
        if (m_quiet) return;
        const auto now = m_clock.steady_now();
        const double secs = std::chrono::duration<double>(now - m_start).count();
        const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
        const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
        if (m_tty) {
            constexpr int k_width = 30;
            const int filled = total ? static_cast<int>(k_width * done / total) : k_width;
            std::cerr << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
                      << std::string(static_cast<std::size_t>(k_width - filled), ' ') << "] " << done << "/" << total
                      << fmt::format("  {:.1f}/s  ETA {:.0f}s ", rate, eta) << (done == total ? "\n" : "")
                      << std::flush;
        } else if (done == total || now - m_last >= std::chrono::seconds(5)) {
            m_last = now;
            std::cerr << fmt::format("send-bulk: {}/{} rows, {:.1f}/s, ETA {:.0f}s\n", done, total, rate, eta);
        }
    }

private:
    const util::Clock& m_clock;
    bool m_tty, m_quiet;
    std::chrono::steady_clock::time_point m_start, m_last;
};

int cmd_send_bulk(const GlobalOptions& given, const SendBulkOptions& o) {
    const GlobalOptions g = with_sandbox_flags(given, o.sandbox_events, o.sandbox_engagement);
    const auto c = load_config(g);
    sender::BulkRequest r;
    r.from = o.from.empty() ? c.text("ses.from") : o.from;
    if (r.from.empty()) throw CommandError{"send-bulk: no --from and ses.from is not set", k_exit_partial};
    r.template_name = o.template_name;
    r.configuration_set = o.configuration_set.empty() ? c.text("ses.configuration_set") : o.configuration_set;
    for (const auto& t : o.tags) r.tags.push_back(split_pair(t, '=', "--tag"));
    r.force = o.force;
    const std::string text = read_input(o.recipients);
    r.file_key = sender::bulk_file_key(text);
    auto csv = sender::parse_bulk_csv(text);
    r.rows = std::move(csv.rows);
    for (const auto& e : csv.errors) {
        if (!g.json) std::cerr << o.recipients << ":" << e.line << ": " << e.message << "\n";
    }

    auto store = open_store(c);
    auto aws = open_aws(c);
    const auto seed = static_cast<std::uint64_t>(aws->clock.now_millis()) ^
                      (static_cast<std::uint64_t>(::getpid()) << 32) ^ std::random_device{}();
    auto options = app::sender_options(c);
    if (!options) throw CommandError{options.error().describe(), k_exit_partial};
    auto sending = app::make_sending(*store, *aws, seed, *options, redis_settings(c));
    enable_sandbox_if_asked(sending, *aws, c);
    BulkProgressReport progress(aws->clock, g.json);
    const auto results = sending.sender->send_bulk(r, std::ref(progress));

    std::size_t counts[5] = {};
    json rows = json::array();
    for (const auto& x : results) {
        ++counts[static_cast<int>(x.outcome)];
        if (x.outcome == sender::BulkOutcome::sent && !x.detail.empty()) {
            std::cerr << "mailtrack: warning: " << o.recipients << ":" << x.line << ": " << x.detail << "\n";
        }
        if (x.outcome != sender::BulkOutcome::sent && x.outcome != sender::BulkOutcome::already_sent) {
            rows.push_back({{"line", x.line},
                            {"address", x.address},
                            {"outcome", sender::to_string(x.outcome)},
                            {"detail", x.detail},
                            {"send_id", x.send_id}});
        }
    }
    const auto n = [&](sender::BulkOutcome k) { return counts[static_cast<int>(k)]; };
    const bool clean =
        csv.errors.empty() && n(sender::BulkOutcome::failed) == 0 && n(sender::BulkOutcome::in_doubt) == 0;
    if (g.json) {
        json bad = json::array();
        for (const auto& e : csv.errors) bad.push_back({{"line", e.line}, {"error", e.message}});
        std::cout << json{{"ok", clean},
                          {"sent", n(sender::BulkOutcome::sent)},
                          {"already_sent", n(sender::BulkOutcome::already_sent)},
                          {"suppressed", n(sender::BulkOutcome::suppressed)},
                          {"failed", n(sender::BulkOutcome::failed)},
                          {"in_doubt", n(sender::BulkOutcome::in_doubt)},
                          {"bad_rows", bad},
                          {"rows", rows}}
                         .dump()
                  << "\n";
    } else {
        std::cout << "sent " << n(sender::BulkOutcome::sent) << ", already sent "
                  << n(sender::BulkOutcome::already_sent) << ", suppressed " << n(sender::BulkOutcome::suppressed)
                  << ", failed " << n(sender::BulkOutcome::failed) << ", in doubt " << n(sender::BulkOutcome::in_doubt)
                  << ", bad rows " << csv.errors.size() << "\n";
        for (const auto& x : rows) {
            std::cout << o.recipients << ":" << x["line"].get<std::size_t>() << ": " << x["address"].get<std::string>()
                      << " " << x["outcome"].get<std::string>() << ": " << x["detail"].get<std::string>() << "\n";
        }
    }
    return clean ? k_exit_ok : k_exit_partial;
}

// ---- the suppression list ----------------------------------------------------------------

json suppression_json(const core::Suppression& s) {
    return {{"address", s.address},
            {"reason", core::to_string(s.reason)},
            {"since", format_timestamp(s.since)},
            {"detail", s.detail},
            {"expires_at", opt_time(s.expires_at)}};
}

core::Suppression manual_entry(const std::string& address, const std::string& reason, const std::string& detail,
                               const std::string& expires, util::UnixMillis now) {
    core::Suppression s;
    s.address = core::normalize_address(address);
    if (!core::is_plausible_address(s.address))
        throw CommandError{"not an email address: \"" + address + "\"", k_exit_partial};
    const auto parsed = core::parse_suppression_reason(reason.empty() ? "manual" : reason);
    if (!parsed)
        throw CommandError{"unknown reason \"" + reason + "\" (manual, soft_bounce_policy, bounce, complaint)",
                           k_exit_partial};
    s.reason = *parsed;
    s.since = now;
    s.detail = detail;
    if (!expires.empty()) {
        // "30d" means 30 days from now; an ISO time is taken as is.
        if (auto ago = util::parse_since(expires, now); ago && !util::parse_timestamp(expires))
            s.expires_at = now + (now - *ago);
        else if (auto at = util::parse_timestamp(expires))
            s.expires_at = *at;
        else
            throw CommandError{"--expires " + expires + ": expected an ISO 8601 time or a duration like 30d",
                               k_exit_partial};
    }
    return s;
}

int cmd_suppress_add(const GlobalOptions& g, const std::vector<std::string>& addresses, const std::string& reason,
                     const std::string& detail, const std::string& expires) {
    const auto c = load_config(g);
    auto store = open_store(c);
    const util::SystemClock clock;
    for (const auto& a : addresses) {
        const auto entry = manual_entry(a, reason, detail, expires, clock.now_millis());
        if (auto r = store->suppress(entry); !r) throw CommandError{r.error().describe()};
        if (!g.json) std::cout << "suppressed " << entry.address << "\n";
    }
    if (g.json) std::cout << json{{"suppressed", addresses.size()}}.dump() << "\n";
    return k_exit_ok;
}

int cmd_suppress_remove(const GlobalOptions& g, const std::vector<std::string>& addresses) {
    const auto c = load_config(g);
    auto store = open_store(c);
    std::size_t removed = 0;
    for (const auto& a : addresses) {
        const std::string n = core::normalize_address(a);
        auto r = store->unsuppress(n);
        if (!r) throw CommandError{r.error().describe()};
        if (*r) ++removed;
        if (!g.json) std::cout << (*r ? "removed " : "not on the list: ") << n << "\n";
    }
    if (g.json) std::cout << json{{"removed", removed}}.dump() << "\n";
    return removed == addresses.size() ? k_exit_ok : k_exit_failure;
}

int cmd_suppress_list(const GlobalOptions& g) {
    const auto c = load_config(g);
    auto store = open_store(c);
    auto list = store->suppressions();
    if (!list) throw CommandError{list.error().describe()};
    if (g.json) {
        json out = json::array();
        for (const auto& s : *list) out.push_back(suppression_json(s));
        std::cout << out.dump() << "\n";
        return k_exit_ok;
    }
    Table t({"ADDRESS", "REASON", "SINCE", "EXPIRES", "DETAIL"});
    for (const auto& s : *list) {
        t.add({s.address, std::string(core::to_string(s.reason)), format_timestamp(s.since), when(s.expires_at),
               s.detail});
    }
    std::cout << t.render();
    return k_exit_ok;
}

// CSV fields, with RFC 4180 quotes.
std::vector<std::string> csv_fields(std::string_view line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char ch = line[i];
        if (quoted) {
            if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                out.back() += '"';
                ++i;
            } else if (ch == '"') {
                quoted = false;
            } else {
                out.back() += ch;
            }
        } else if (ch == '"') {
            quoted = true;
        } else if (ch == ',') {
            out.emplace_back();
        } else if (ch != '\r') {
            out.back() += ch;
        }
    }
    return out;
}

std::string csv_field(const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char ch : v) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
}

// Import: CSV "address[,reason[,detail[,expires_at]]]" (a header row starting with "address" is
// skipped), or one address per line. Bad lines are reported by number and do not stop the rest.
int cmd_suppress_import(const GlobalOptions& g, const std::string& path, const std::string& default_reason) {
    const auto c = load_config(g);
    auto store = open_store(c);
    const util::SystemClock clock;
    const std::string text = read_input(path);
    std::size_t line_no = 0, imported = 0;
    json bad = json::array();
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        ++line_no;
        if (line.empty() || line == "\r" || line.front() == '#') continue;
        auto f = csv_fields(line);
        if (line_no == 1 && f[0] == "address") continue;
        try {
            auto entry = manual_entry(f[0], f.size() > 1 && !f[1].empty() ? f[1] : default_reason,
                                      f.size() > 2 ? f[2] : "", f.size() > 3 ? f[3] : "", clock.now_millis());
            if (auto r = store->suppress(entry); !r) throw CommandError{r.error().describe()};
            ++imported;
        } catch (const CommandError& e) {
            if (e.code != k_exit_partial) throw;
            bad.push_back({{"line", line_no}, {"error", e.message}});
            if (!g.json) std::cerr << path << ":" << line_no << ": " << e.message << "\n";
        }
    }
    if (g.json)
        std::cout << json{{"imported", imported}, {"bad", bad}}.dump() << "\n";
    else
        std::cout << "imported " << imported << ", bad lines " << bad.size() << "\n";
    return bad.empty() ? k_exit_ok : k_exit_failure;
}

// Reconciles with SES's account-level suppression list (app::sync_suppressions).
int cmd_suppress_sync(const GlobalOptions& g, bool prune, bool dry_run) {
    const auto c = load_config(g);
    auto store = open_store(c);
    auto aws = open_aws(c);
    auto r = app::sync_suppressions(*store, *aws->ses, aws->clock, {prune, dry_run});
    if (!r) throw CommandError{"suppress sync: " + r.error().describe()};
    if (g.json) {
        std::cout << json{{"pulled", r->pulled},
                          {"pushed", r->pushed},
                          {"pruned", r->pruned},
                          {"errors", r->errors},
                          {"dry_run", dry_run}}
                         .dump()
                  << "\n";
    } else {
        const char* verb = dry_run ? "would be " : "";
        for (const auto& a : r->pulled) std::cout << verb << "added here from SES  " << a << "\n";
        for (const auto& a : r->pushed) std::cout << verb << "put on SES           " << a << "\n";
        for (const auto& a : r->pruned) std::cout << verb << "deleted from SES     " << a << "\n";
        for (const auto& e : r->errors) std::cerr << "suppress sync: " << e << "\n";
        std::cout << (dry_run ? "dry run: " : "") << "pulled " << r->pulled.size() << ", pushed " << r->pushed.size()
                  << ", pruned " << r->pruned.size() << ", errors " << r->errors.size() << "\n";
    }
    return r->errors.empty() ? k_exit_ok : k_exit_partial;
}

int cmd_suppress_export(const GlobalOptions& g, const std::string& path) {
    const auto c = load_config(g);
    auto store = open_store(c);
    auto list = store->suppressions();
    if (!list) throw CommandError{list.error().describe()};
    std::ostringstream out;
    out << "address,reason,detail,expires_at,since\n";
    for (const auto& s : *list) {
        out << csv_field(s.address) << "," << core::to_string(s.reason) << "," << csv_field(s.detail) << ","
            << when(s.expires_at) << "," << format_timestamp(s.since) << "\n";
    }
    if (path.empty() || path == "-") {
        std::cout << out.str();
    } else {
        std::ofstream f(path, std::ios::binary);
        if (!(f << out.str())) throw CommandError{"cannot write " + path};
        std::cerr << "exported " << list->size() << " addresses to " << path << "\n";
    }
    return k_exit_ok;
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App cli{"mailtrack: send email through Amazon SES and know what became of every message"};
    cli.require_subcommand(1);
    GlobalOptions g;
    cli.add_option("--config", g.config_file, "TOML configuration file (or MAILTRACK_CONFIG)");
    cli.add_option("--set", g.overrides, "override a setting: section.key=value (repeatable)");
    cli.add_option("--db", g.db, "SQLite database file (store.sqlite_path)");
    cli.add_option("--log-level", g.log_level, "debug, info, warn, error, off");
    cli.add_option("--log-format", g.log_format, "text or json");
    auto add_json = [&](CLI::App* sub) { sub->add_flag("--json", g.json, "machine-readable output"); };
    // Global options may also follow the subcommand.
    auto add_common = [&](CLI::App* sub) {
        add_json(sub);
        sub->add_option("--db", g.db, "SQLite database file (store.sqlite_path)");
        sub->add_option("--set", g.overrides, "override a setting: section.key=value (repeatable)");
        sub->add_option("--config", g.config_file, "TOML configuration file");
    };

    std::function<int()> action;

    std::vector<std::string> inputs;
    auto* ingest = cli.add_subcommand("ingest", "apply SES event documents (JSON or NDJSON; SNS-wrapped or raw)");
    add_common(ingest);
    ingest->add_option("inputs", inputs, "files to read; - for standard input");
    ingest->callback([&] { action = [&] { return cmd_ingest(g, inputs); }; });

    std::string message_id;
    bool raw = false;
    auto* status = cli.add_subcommand("status", "one message: recipients, statuses and the event timeline");
    add_common(status);
    std::string status_send_id;
    status->add_option("message_id", message_id, "the SES message id");
    status->add_option("--send", status_send_id, "show a send by its send id instead (what `send` printed)");
    status->add_flag("--raw", raw, "also print each event's raw SES JSON");
    status->callback([&] {
        if (message_id.empty() == status_send_id.empty()) {
            throw CLI::ValidationError("status", "give a MESSAGE_ID or --send SEND_ID (one of them)");
        }
        action = [&] {
            return status_send_id.empty() ? cmd_status(g, message_id, raw) : cmd_status_send(g, status_send_id);
        };
    });

    std::string recipient, status_filter, since;
    std::size_t limit = 1000;
    auto* list = cli.add_subcommand("list", "recipients by address, status or time");
    add_common(list);
    list->add_option("--recipient", recipient, "only this address");
    list->add_option("--status", status_filter, "only this status");
    list->add_option("--since", since, "only recipients with events since (ISO time, or 24h, 7d ...)");
    list->add_option("--limit", limit, "at most this many rows")->capture_default_str();
    list->callback([&] { action = [&] { return cmd_list(g, recipient, status_filter, since, limit); }; });

    std::string stats_since;
    auto* stats = cli.add_subcommand("stats", "delivery counts, bounce and complaint rates against SES thresholds");
    add_common(stats);
    stats->add_option("--since", stats_since, "only messages sent since (ISO time, or 24h, 7d ...)");
    stats->callback([&] { action = [&] { return cmd_stats(g, stats_since); }; });

    std::int64_t stats_interval = -1;
    WorkerRun worker_run;
    auto* worker_cmd = cli.add_subcommand("worker", "consume SES events from SQS into the store until SIGTERM/SIGINT");
    add_common(worker_cmd);
    worker_cmd->add_option("--stats-interval", stats_interval,
                           "print a one-line summary every N seconds (default worker.stats_interval_s; 0: never)");
    worker_cmd->add_option("--metrics-file", worker_run.metrics_file,
                           "rewrite this file with the metrics in Prometheus text format every second and at exit "
                           "(e.g. for node_exporter's textfile collector)");
    worker_cmd
        ->add_option("--stop-after", worker_run.stop_after,
                     "stop gracefully once N messages have been deleted (one-shot drains, benchmarks)")
        ->check(CLI::PositiveNumber);
    worker_cmd->callback([&] {
        action = [&] {
            worker_run.stats_interval_s = stats_interval;
            return cmd_worker(load_config(g), worker_run);
        };
    });

    app::PipelineSpec setup_spec;
    auto* setup =
        cli.add_subcommand("setup", "create (idempotently) the SNS events topic, SQS queue, DLQ and subscription");
    add_common(setup);
    setup->add_option("--topic-name", setup_spec.topic_name, "SNS topic name")->capture_default_str();
    setup->add_option("--queue-name", setup_spec.queue_name, "SQS queue name")->capture_default_str();
    setup->add_option("--dlq-name", setup_spec.dlq_name, "dead-letter queue name")->capture_default_str();
    setup->add_flag("--raw", setup_spec.raw_delivery, "raw message delivery (no SNS envelope)");
    setup->callback([&] {
        action = [&] {
            const auto c = load_config(g);
            setup_spec.max_receive_count = static_cast<int>(c.integer("worker.max_receive_count"));
            setup_spec.visibility_timeout_s = static_cast<int>(c.integer("worker.visibility_timeout_s"));
            return cmd_setup(c, setup_spec, g.json);
        };
    });

    std::string dlq_url, dlq_target;
    std::size_t dlq_limit = 100;
    bool dlq_apply = false;
    auto* dlq = cli.add_subcommand("dlq", "the dead-letter queue");
    dlq->require_subcommand(1);
    auto* dlq_inspect =
        dlq->add_subcommand("inspect", "show dead letters with the parse error of each (nothing deleted)");
    add_common(dlq_inspect);
    dlq_inspect->add_option("--queue-url", dlq_url, "dead-letter queue (default worker.dlq_url)");
    dlq_inspect->add_option("--limit", dlq_limit, "at most this many")->capture_default_str();
    dlq_inspect->callback(
        [&] { action = [&] { return cmd_dlq_inspect(load_config(g), dlq_url, dlq_limit, g.json); }; });
    auto* dlq_redrive = dlq->add_subcommand("redrive", "move dead letters back into the main queue");
    add_common(dlq_redrive);
    dlq_redrive->add_option("--queue-url", dlq_url, "dead-letter queue (default worker.dlq_url)");
    dlq_redrive->add_option("--to", dlq_target, "target queue (default the first of worker.queue_urls)");
    dlq_redrive->add_option("--limit", dlq_limit, "at most this many")->capture_default_str();
    dlq_redrive
        ->add_flag("--apply", dlq_apply,
                   "apply the dead letters straight to the store instead of moving them to the main queue; "
                   "those that still do not parse stay (exit status 2)")
        ->excludes("--to");
    dlq_redrive->callback([&] {
        action = [&] {
            if (dlq_apply) return cmd_dlq_apply(load_config(g), dlq_url, dlq_limit, g.json);
            return cmd_dlq_redrive(load_config(g), dlq_url, dlq_target, dlq_limit, g.json);
        };
    });

    auto* cfg = cli.add_subcommand("config", "configuration");
    cfg->require_subcommand(1);
    auto* show = cfg->add_subcommand("show", "print the effective configuration, secrets masked");
    add_common(show);
    show->callback([&] { action = [&] { return cmd_config_show(g); }; });

    auto* aws_cmd = cli.add_subcommand("aws", "AWS connectivity");
    aws_cmd->require_subcommand(1);
    auto* check =
        aws_cmd->add_subcommand("check", "region, credential source, endpoints, and one cheap read per service");
    add_common(check);
    check->callback([&] { action = [&] { return cmd_aws_check(g); }; });

    std::string topic_arn, notify_subject, notify_message;
    auto* notify = cli.add_subcommand("notify", "publish a message to an SNS topic (default sns.alerts_topic_arn)");
    add_common(notify);
    notify->add_option("--topic-arn", topic_arn, "topic ARN (default: the sns.alerts_topic_arn setting)");
    notify->add_option("--subject", notify_subject, "subject (email subscribers see it)");
    notify->add_option("--message", notify_message, "message text")->required();
    notify->callback([&] { action = [&] { return cmd_notify(g, topic_arn, notify_subject, notify_message); }; });

    SendOptions send_opts;
    auto* send = cli.add_subcommand("send", "send one email through SES, tracked from the first byte");
    add_common(send);
    send->add_option("--from", send_opts.from, "From address (default: ses.from)");
    send->add_option("--to", send_opts.to, "To address (repeatable)");
    send->add_option("--cc", send_opts.cc, "Cc address (repeatable)");
    send->add_option("--bcc", send_opts.bcc, "Bcc address (repeatable; never in a header)");
    send->add_option("--reply-to", send_opts.reply_to, "Reply-To address (repeatable)");
    send->add_option("--subject", send_opts.subject, "subject (UTF-8)");
    send->add_option("--text", send_opts.text, "plain text body");
    send->add_option("--text-file", send_opts.text_file, "plain text body from a file");
    send->add_option("--html", send_opts.html, "HTML body");
    send->add_option("--html-file", send_opts.html_file, "HTML body from a file");
    send->add_option("--attach", send_opts.attach, "attach FILE, or FILE;type=a/b (repeatable)");
    send->add_option("--header", send_opts.headers, "custom header \"Name: value\" (repeatable)");
    send->add_option("--template", send_opts.template_name, "SES template name (instead of subject and bodies)");
    send->add_option("--template-data", send_opts.template_data, "template data, a JSON object");
    send->add_option("--configuration-set", send_opts.configuration_set,
                     "SES configuration set (default: ses.configuration_set)");
    send->add_option("--tag", send_opts.tags, "SES message tag k=v (repeatable)");
    send->add_option("--list-contact-list", send_opts.list_contact_list, "SES list management: contact list");
    send->add_option("--list-topic", send_opts.list_topic, "SES list management: topic");
    send->add_option("--idempotency-key", send_opts.idempotency_key, "a retry with the same key never sends twice");
    send->add_flag("--force", send_opts.force, "send to suppressed addresses too");
    send->add_flag("--sandbox-events", send_opts.sandbox_events,
                   "publish the SES mailbox simulator's events to sns.events_topic_arn (sending.sandbox_events)");
    send->add_flag("--sandbox-engagement", send_opts.sandbox_engagement,
                   "with --sandbox-events, also Open and Click events (sending.sandbox_engagement)");
    send->callback([&] { action = [&] { return cmd_send(g, send_opts); }; });

    SendBulkOptions bulk_opts;
    auto* bulk = cli.add_subcommand("send-bulk", "send an SES template to every row of a CSV (resumable)");
    add_common(bulk);
    bulk->add_option("--template", bulk_opts.template_name, "SES template name")->required();
    bulk->add_option("--recipients", bulk_opts.recipients, "CSV: address,template data JSON,tags (k=v;k=v)")
        ->required();
    bulk->add_option("--from", bulk_opts.from, "From address (default: ses.from)");
    bulk->add_option("--configuration-set", bulk_opts.configuration_set,
                     "SES configuration set (default: ses.configuration_set)");
    bulk->add_option("--tag", bulk_opts.tags, "SES message tag k=v on every row (repeatable)");
    bulk->add_flag("--force", bulk_opts.force, "send to suppressed addresses too");
    bulk->add_flag("--sandbox-events", bulk_opts.sandbox_events,
                   "publish the SES mailbox simulator's events to sns.events_topic_arn (sending.sandbox_events)");
    bulk->add_flag("--sandbox-engagement", bulk_opts.sandbox_engagement,
                   "with --sandbox-events, also Open and Click events (sending.sandbox_engagement)");
    bulk->callback([&] { action = [&] { return cmd_send_bulk(g, bulk_opts); }; });

    std::vector<std::string> sup_addresses;
    std::string sup_reason, sup_detail, sup_expires, sup_file;
    auto* suppress = cli.add_subcommand("suppress", "the suppression list");
    suppress->require_subcommand(1);
    auto* sup_add = suppress->add_subcommand("add", "add addresses (or strengthen their entry)");
    add_common(sup_add);
    sup_add->add_option("addresses", sup_addresses, "addresses")->required();
    sup_add->add_option("--reason", sup_reason, "manual (default), soft_bounce_policy, bounce, complaint");
    sup_add->add_option("--detail", sup_detail, "a note kept with the entry");
    sup_add->add_option("--expires", sup_expires, "expiry: an ISO time or a duration from now like 30d");
    sup_add->callback(
        [&] { action = [&] { return cmd_suppress_add(g, sup_addresses, sup_reason, sup_detail, sup_expires); }; });
    auto* sup_remove = suppress->add_subcommand("remove", "remove addresses");
    add_common(sup_remove);
    sup_remove->add_option("addresses", sup_addresses, "addresses")->required();
    sup_remove->callback([&] { action = [&] { return cmd_suppress_remove(g, sup_addresses); }; });
    auto* sup_list = suppress->add_subcommand("list", "list the suppression list");
    add_common(sup_list);
    sup_list->callback([&] { action = [&] { return cmd_suppress_list(g); }; });
    auto* sup_import =
        suppress->add_subcommand("import", "import CSV address[,reason[,detail[,expires_at]]] or one address per line");
    add_common(sup_import);
    sup_import->add_option("file", sup_file, "file; - for standard input")->required();
    sup_import->add_option("--reason", sup_reason, "reason for lines that name none (default manual)");
    sup_import->callback([&] { action = [&] { return cmd_suppress_import(g, sup_file, sup_reason); }; });
    auto* sup_export = suppress->add_subcommand("export", "export the list as CSV");
    add_common(sup_export);
    sup_export->add_option("file", sup_file, "file (default: standard output)");
    sup_export->callback([&] { action = [&] { return cmd_suppress_export(g, sup_file); }; });
    bool sync_prune = false, sync_dry_run = false;
    auto* sup_sync = suppress->add_subcommand("sync", "reconcile with SES's account-level suppression list, both ways");
    add_common(sup_sync);
    sup_sync->add_flag("--prune", sync_prune,
                       "also delete from SES the entries not on our list (ours is the authority)");
    sup_sync->add_flag("--dry-run", sync_dry_run, "show what would change, change nothing");
    sup_sync->callback([&] { action = [&] { return cmd_suppress_sync(g, sync_prune, sync_dry_run); }; });

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return cli.exit(e) == 0 ? k_exit_ok : k_exit_partial;
    }
    try {
        return action ? action() : k_exit_partial;
    } catch (const CommandError& e) {
        std::cerr << "mailtrack: " << e.message << "\n";
        return e.code;
    } catch (const std::exception& e) {
        std::cerr << "mailtrack: unexpected error: " << e.what() << "\n";
        return k_exit_failure;
    }
}

}  // namespace mailtrack::cli
