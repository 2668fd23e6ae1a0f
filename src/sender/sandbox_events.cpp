#include "mailtrack/sender/sandbox_events.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>

#include "mailtrack/core/address.hpp"
#include "mailtrack/util/time.hpp"

namespace mailtrack::sender {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr std::string_view k_simulator_domain = "simulator.amazonses.com";

std::uint64_t fnv1a(std::string_view text, std::uint64_t h = 14695981039346656037ULL) noexcept {
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h;
}

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64's finalizer
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// An SES-shaped id ("010001" + 10 hex digits of the time, a UUID, "-000000") that is the same
// for the same seed, so a re-publish of the same send is a duplicate downstream, not a new event.
std::string ses_id(util::UnixMillis at, std::string_view seed) {
    const std::uint64_t a = mix(fnv1a(seed)), b = mix(a), c = mix(b);
    char buf[80];
    std::snprintf(buf, sizeof buf, "0100%012llx-%08llx-%04llx-4%03llx-%04llx-%012llx-000000",
                  static_cast<unsigned long long>(at) & 0xffffffffffffULL, static_cast<unsigned long long>(a >> 32),
                  static_cast<unsigned long long>(a >> 16) & 0xffffULL, static_cast<unsigned long long>(a) & 0xfffULL,
                  0x8000ULL | (static_cast<unsigned long long>(b >> 48) & 0x3fffULL),
                  static_cast<unsigned long long>(c) & 0xffffffffffffULL);
    return buf;
}

std::string bare(std::string_view address) {
    return core::normalize_address(address);
}

std::string domain_of(std::string_view address) {
    const std::string a = bare(address);
    const auto at = a.rfind('@');
    return at == std::string::npos ? std::string() : a.substr(at + 1);
}

ordered_json mail_object(const AcceptedMail& m, const SandboxOptions& o, bool with_outgoing_ip) {
    ordered_json mail;
    mail["timestamp"] = util::format_timestamp(m.timestamp);
    mail["source"] = m.source;
    mail["sourceArn"] = "arn:aws:ses:" + o.region + ":" + o.account_id + ":identity/" + domain_of(m.source);
    mail["sourceIp"] = "127.0.0.1";
    mail["callerIdentity"] = "mailtrack";
    mail["sendingAccountId"] = o.account_id;
    mail["messageId"] = m.ses_message_id;
    mail["destination"] = m.destination;
    mail["headersTruncated"] = false;
    ordered_json headers = ordered_json::array();
    ordered_json common;
    common["from"] = ordered_json::array({m.source});
    if (!m.header_to.empty()) common["to"] = m.header_to;
    if (!m.header_cc.empty()) common["cc"] = m.header_cc;
    if (!m.reply_to.empty()) common["replyTo"] = m.reply_to;
    if (m.headers.empty()) {
        // A template send: SES renders the message, so only the addressing headers are known.
        headers.push_back({{"name", "From"}, {"value", m.source}});
        const auto joined = [](const std::vector<std::string>& list) {
            std::string out;
            for (const auto& a : list) out += (out.empty() ? "" : ", ") + a;
            return out;
        };
        if (!m.reply_to.empty()) headers.push_back({{"name", "Reply-To"}, {"value", joined(m.reply_to)}});
        if (!m.header_to.empty()) headers.push_back({{"name", "To"}, {"value", joined(m.header_to)}});
        headers.push_back({{"name", "MIME-Version"}, {"value", "1.0"}});
    } else {
        for (const auto& [name, value] : m.headers) {
            headers.push_back({{"name", name}, {"value", value}});
            if (name == "Date" || name == "date") common["date"] = value;
        }
    }
    if (m.subject) common["subject"] = *m.subject;
    mail["headers"] = std::move(headers);
    mail["commonHeaders"] = std::move(common);
    ordered_json tags;
    tags["ses:operation"] = ordered_json::array({m.operation});
    if (!m.configuration_set.empty()) tags["ses:configuration-set"] = ordered_json::array({m.configuration_set});
    tags["ses:source-ip"] = ordered_json::array({"127.0.0.1"});
    tags["ses:from-domain"] = ordered_json::array({domain_of(m.source)});
    tags["ses:caller-identity"] = ordered_json::array({"mailtrack"});
    if (with_outgoing_ip) tags["ses:outgoing-ip"] = ordered_json::array({"192.0.2.25"});
    for (const auto& [name, value] : m.tags) {
        // SES keeps one value per message tag name, as an array.
        tags[name] = ordered_json::array({value});
    }
    mail["tags"] = std::move(tags);
    return mail;
}

ordered_json record(std::string_view type, ordered_json mail, std::string_view key, ordered_json body) {
    ordered_json r;
    r["eventType"] = type;
    r["mail"] = std::move(mail);
    r[std::string(key)] = std::move(body);
    return r;
}

// The first absolute http(s) link of an HTML body (for the Click event), or empty.
std::string first_link(std::string_view html) {
    for (std::size_t at = html.find("href=\""); at != std::string_view::npos; at = html.find("href=\"", at + 1)) {
        const std::size_t start = at + 6, end = html.find('"', start);
        if (end == std::string_view::npos) break;
        const std::string_view link = html.substr(start, end - start);
        if (link.starts_with("http://") || link.starts_with("https://")) return std::string(link);
    }
    return {};
}

}  // namespace

SimulatorKind simulator_kind(std::string_view address) noexcept {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return SimulatorKind::other;
    std::string_view domain = address.substr(at + 1);
    while (!domain.empty() && (domain.back() == '>' || domain.back() == ' ')) domain.remove_suffix(1);
    if (domain.size() != k_simulator_domain.size()) return SimulatorKind::other;
    for (std::size_t i = 0; i < domain.size(); ++i) {
        const char c = domain[i] >= 'A' && domain[i] <= 'Z' ? static_cast<char>(domain[i] - 'A' + 'a') : domain[i];
        if (c != k_simulator_domain[i]) return SimulatorKind::other;
    }
    std::string_view local = address.substr(0, at);
    if (const auto lt = local.rfind('<'); lt != std::string_view::npos) local.remove_prefix(lt + 1);
    if (const auto plus = local.find('+'); plus != std::string_view::npos) local = local.substr(0, plus);  // labels
    if (local == "success") return SimulatorKind::success;
    if (local == "bounce") return SimulatorKind::bounce;
    if (local == "ooto") return SimulatorKind::ooto;
    if (local == "complaint") return SimulatorKind::complaint;
    if (local == "suppressionlist") return SimulatorKind::suppressionlist;
    return SimulatorKind::other;
}

std::string_view to_string(SimulatorKind kind) noexcept {
    switch (kind) {
        case SimulatorKind::success: return "success";
        case SimulatorKind::bounce: return "bounce";
        case SimulatorKind::ooto: return "ooto";
        case SimulatorKind::complaint: return "complaint";
        case SimulatorKind::suppressionlist: return "suppressionlist";
        case SimulatorKind::other: return "other";
    }
    return "other";
}

std::vector<std::string> sandbox_event_records(const AcceptedMail& m, const SandboxOptions& o) {
    std::vector<std::string> out;
    const util::UnixMillis t = m.timestamp;
    out.push_back(record("Send", mail_object(m, o, false), "send", ordered_json::object()).dump());
    const ordered_json mail = mail_object(m, o, true);
    const std::string link = first_link(m.html);

    for (std::size_t i = 0; i < m.destination.size(); ++i) {
        const std::string& address = m.destination[i];
        const std::string seed = m.ses_message_id + "/" + address;
        // SES takes about half a second to deliver to the simulator; spread it deterministically.
        const util::UnixMillis processing = 400 + static_cast<util::UnixMillis>(mix(fnv1a(seed)) % 200);
        const util::UnixMillis delivered_at = t + processing;
        const util::UnixMillis feedback_at = (t / 1000 + 1) * 1000;  // ISPs report whole seconds
        const SimulatorKind kind = simulator_kind(address);
        bool delivered = false;
        const auto delivery = [&] {
            ordered_json d;
            d["timestamp"] = util::format_timestamp(delivered_at);
            d["processingTimeMillis"] = processing;
            d["recipients"] = ordered_json::array({address});
            d["smtpResponse"] = "250 2.6.0 Message received";
            d["remoteMtaIp"] = "192.0.2.10";
            d["reportingMTA"] = "a48-111.smtp-out.amazonses.com";
            out.push_back(record("Delivery", mail, "delivery", std::move(d)).dump());
            delivered = true;
        };
        const auto hard_bounce = [&](std::string diagnostic) {
            ordered_json r;
            r["emailAddress"] = address;
            r["action"] = "failed";
            r["status"] = "5.1.1";
            r["diagnosticCode"] = std::move(diagnostic);
            ordered_json b;
            b["feedbackId"] = ses_id(feedback_at, seed + "/bounce");
            b["bounceType"] = "Permanent";
            b["bounceSubType"] = "General";
            b["bouncedRecipients"] = ordered_json::array({std::move(r)});
            b["timestamp"] = util::format_timestamp(feedback_at);
            b["remoteMtaIp"] = "192.0.2.10";
            b["reportingMTA"] = "dns; a48-113.smtp-out.amazonses.com";
            out.push_back(record("Bounce", mail, "bounce", std::move(b)).dump());
        };
        switch (kind) {
            case SimulatorKind::success:
            case SimulatorKind::other: delivery(); break;
            case SimulatorKind::bounce: hard_bounce("smtp; 550 5.1.1 user unknown"); break;
            case SimulatorKind::suppressionlist:
                hard_bounce("smtp; 550 5.1.1 user unknown ( blacklisted address: " + address + " )");
                break;
            case SimulatorKind::ooto: {
                delivery();
                // The auto-reply: a soft bounce that names only the address (no DSN fields).
                ordered_json b;
                b["feedbackId"] = ses_id(feedback_at, seed + "/ooto");
                b["bounceType"] = "Transient";
                b["bounceSubType"] = "General";
                b["bouncedRecipients"] = ordered_json::array({{{"emailAddress", address}}});
                b["timestamp"] = util::format_timestamp(feedback_at);
                out.push_back(record("Bounce", mail, "bounce", std::move(b)).dump());
                break;
            }
            case SimulatorKind::complaint: {
                delivery();
                ordered_json c;
                c["feedbackId"] = ses_id(feedback_at, seed + "/complaint");
                c["complaintSubType"] = nullptr;
                c["complainedRecipients"] = ordered_json::array({{{"emailAddress", address}}});
                c["timestamp"] = util::format_timestamp(feedback_at);
                c["userAgent"] = "Amazon SES Mailbox Simulator";
                c["complaintFeedbackType"] = "abuse";
                c["arrivalDate"] = util::format_timestamp(feedback_at + processing);
                out.push_back(record("Complaint", mail, "complaint", std::move(c)).dump());
                break;
            }
        }
        if (o.engagement && delivered) {
            const char* k_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
            ordered_json open;
            open["ipAddress"] = "192.0.2.200";
            open["timestamp"] = util::format_timestamp(delivered_at + 5000);
            open["userAgent"] = k_agent;
            out.push_back(record("Open", mail, "open", std::move(open)).dump());
            if (!link.empty()) {
                ordered_json click;
                click["ipAddress"] = "192.0.2.200";
                click["timestamp"] = util::format_timestamp(delivered_at + 8000);
                click["userAgent"] = k_agent;
                click["link"] = link;
                click["linkTags"] = ordered_json::object();
                out.push_back(record("Click", mail, "click", std::move(click)).dump());
            }
        }
    }
    return out;
}

std::vector<util::Result<void>> AcceptedMailObserver::on_accepted_all(std::span<const AcceptedMail> mails) {
    std::vector<util::Result<void>> out;
    out.reserve(mails.size());
    for (const AcceptedMail& m : mails) out.push_back(on_accepted(m));
    return out;
}

util::Result<void> SandboxEventPublisher::on_accepted(const AcceptedMail& mail) {
    return std::move(on_accepted_all(std::span<const AcceptedMail>(&mail, 1)).front());
}

std::vector<util::Result<void>> SandboxEventPublisher::on_accepted_all(std::span<const AcceptedMail> mails) {
    std::vector<std::string> failures(mails.size());
    std::vector<aws::PublishEntry> batch;
    std::vector<std::size_t> owner;  // batch entry -> index of its mail
    std::size_t bytes = 0;
    const auto flush = [&] {
        if (batch.empty()) return;
        const auto note = [&](std::size_t mail, const std::string& what) {
            if (failures[mail].find(what) == std::string::npos)
                failures[mail] += (failures[mail].empty() ? "" : "; ") + what;
        };
        auto r = m_sns.publish_batch(m_topic_arn, batch);
        if (!r) {
            for (const std::size_t m : owner) note(m, r.error().describe());
        } else {
            for (const auto& f : r->failed) {
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    if (batch[i].id == f.id) note(owner[i], f.code + " " + f.message);
                }
            }
        }
        batch.clear();
        owner.clear();
        bytes = 0;
    };
    for (std::size_t m = 0; m < mails.size(); ++m) {
        for (std::string& record : sandbox_event_records(mails[m], m_options)) {
            // PublishBatch takes 10 entries and 256 KiB in all.
            if (batch.size() == 10 || bytes + record.size() > 200 * 1024) flush();
            aws::PublishEntry e;
            e.id = "e" + std::to_string(batch.size());
            bytes += record.size();
            e.message = std::move(record);
            batch.push_back(std::move(e));
            owner.push_back(m);
        }
    }
    flush();
    std::vector<util::Result<void>> out;
    out.reserve(mails.size());
    for (std::size_t m = 0; m < mails.size(); ++m) {
        if (failures[m].empty()) {
            out.emplace_back();
        } else {
            out.push_back(util::fail(util::ErrorKind::io, "publishing sandbox events of " + mails[m].ses_message_id +
                                                              " to " + m_topic_arn + " failed: " + failures[m]));
        }
    }
    return out;
}

std::optional<std::pair<std::string, std::string>> arn_region_account(std::string_view arn) {
    // arn:partition:service:region:account:resource
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (int i = 0; i < 5; ++i) {
        const auto colon = arn.find(':', start);
        if (colon == std::string_view::npos) return std::nullopt;
        parts.push_back(arn.substr(start, colon - start));
        start = colon + 1;
    }
    if (parts[0] != "arn" || parts[3].empty() || parts[4].empty()) return std::nullopt;
    return std::pair{std::string(parts[3]), std::string(parts[4])};
}

std::vector<std::pair<std::string, std::string>> top_level_headers(std::string_view raw) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t at = 0;
    while (at < raw.size()) {
        std::size_t end = raw.find('\n', at);
        if (end == std::string_view::npos) end = raw.size();
        std::string_view line = raw.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        at = end + 1;
        if (line.empty()) break;  // the blank line ends the header section
        if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
            out.back().second += line;  // unfolding removes only the line break
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        out.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return out;
}

}  // namespace mailtrack::sender
