#include "mailtrack/config/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <sstream>

#include "mailtrack/util/json_escape.hpp"

namespace mailtrack::config {
namespace {

using util::ErrorKind;

const SettingSpec* find_spec(std::string_view key) {
    for (const auto& s : settings()) {
        if (s.key == key) return &s;
    }
    return nullptr;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

// Checks `text` against the spec's type and returns it in canonical form.
util::Result<std::string> from_toml(const SettingSpec& spec, const toml::node& node, std::string_view origin);

// A list from an environment variable or --set: "a,b" or a TOML array of strings ["a", "b"].
// Anything else that looks quoted is refused, so quotes and brackets never end up inside items.
util::Result<std::string> list_from_text(const SettingSpec& spec, std::string_view text, std::string_view origin) {
    const std::string t = trim(text);
    const auto refuse = [&](const std::string& why) {
        return util::fail(ErrorKind::config, std::string(origin) + ": " + std::string(spec.key) + ": " + why +
                                                 "; write a list as a,b or as a TOML array [\"a\", \"b\"]");
    };
    if (!t.empty() && t.front() == '[') {
        toml::table parsed;
        try {
            parsed = toml::parse("v = " + t);
        } catch (const toml::parse_error& e) {
            return refuse("not a TOML array (" + std::string(e.description()) + ")");
        }
        const toml::node* node = parsed.get("v");
        if (node == nullptr || !node->is_array()) return refuse("not a TOML array");
        return from_toml(spec, *node, origin);
    }
    std::string_view rest = t;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string item = trim(rest.substr(0, comma));
        if (item.find_first_of("\"'[]") != std::string::npos) {
            return refuse("item " + item + " holds quotes or brackets");
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return t;
}

util::Result<std::string> validate(const SettingSpec& spec, std::string_view text, std::string_view origin) {
    switch (spec.type) {
        case SettingType::string: return std::string(text);
        case SettingType::string_list: return list_from_text(spec, text, origin);
        case SettingType::integer: {
            std::int64_t v = 0;
            const std::string t = trim(text);
            auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
            if (ec != std::errc() || p != t.data() + t.size() || t.empty()) {
                return util::fail(ErrorKind::config, std::string(origin) + ": " + std::string(spec.key) +
                                                         " must be an integer, got \"" + std::string(text) + "\"");
            }
            return std::to_string(v);
        }
        case SettingType::boolean: {
            std::string t = trim(text);
            std::transform(t.begin(), t.end(), t.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
            if (t == "true" || t == "1" || t == "yes" || t == "on") return std::string("true");
            if (t == "false" || t == "0" || t == "no" || t == "off") return std::string("false");
            return util::fail(ErrorKind::config, std::string(origin) + ": " + std::string(spec.key) +
                                                     " must be true or false, got \"" + std::string(text) + "\"");
        }
    }
    return std::string(text);
}

util::Result<std::string> from_toml(const SettingSpec& spec, const toml::node& node, std::string_view origin) {
    auto type_error = [&](std::string_view expected) {
        return util::fail(ErrorKind::config,
                          std::string(origin) + ": " + std::string(spec.key) + " must be " + std::string(expected));
    };
    switch (spec.type) {
        case SettingType::string:
            if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
            return type_error("a string");
        case SettingType::integer:
            if (auto v = node.value<std::int64_t>(); v && node.is_integer()) return std::to_string(*v);
            return type_error("an integer");
        case SettingType::boolean:
            if (auto v = node.value<bool>(); v && node.is_boolean()) return std::string(*v ? "true" : "false");
            return type_error("true or false");
        case SettingType::string_list: {
            const auto* arr = node.as_array();
            if (arr == nullptr) return type_error("an array of strings");
            std::string joined;
            for (const auto& item : *arr) {
                auto v = item.value<std::string>();
                if (!v || !item.is_string()) return type_error("an array of strings");
                if (v->find(',') != std::string::npos) return type_error("an array of strings without commas in them");
                if (!joined.empty()) joined += ',';
                joined += *v;
            }
            return joined;
        }
    }
    return type_error("valid");
}

}  // namespace

const std::vector<SettingSpec>& settings() {
    static const std::vector<SettingSpec> k_settings = {
        {"log.level", SettingType::string, "info", false, "debug, info, warn, error or off"},
        {"log.format", SettingType::string, "text", false, "text or json"},
        {"store.backend", SettingType::string, "sqlite", false, "where statuses are kept: sqlite or mysql"},
        {"store.sqlite_path", SettingType::string, "mailtrack.db", false, "SQLite database file (:memory: for tests)"},
        {"store.sqlite_busy_timeout_ms", SettingType::integer, "5000", false,
         "how long a writer waits for another process's lock"},
        {"store.sqlite_synchronous", SettingType::string, "full", false,
         "full: each commit is on disk before the worker deletes its SQS messages; normal: faster, but a power "
         "loss or OS crash can roll back the last commits, whose messages are already deleted"},
        {"store.archive_zstd_level", SettingType::integer, "1", false,
         "zstd level of the raw-event archive, -131072..22 (negative: faster, larger)"},
        {"store.sqlite_cache_kib", SettingType::integer, "2048", false,
         "SQLite page cache per connection, KiB (the operating system caches the file beyond it)"},
        {"store.mysql_url", SettingType::string, "", false,
         "mysql://user@host:3306/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem[&pool-size=4&connect-timeout=10] "
         "(no password here)"},
        {"store.mysql_password_file", SettingType::string, "", false,
         "file holding the MySQL password (used when MAILTRACK_MYSQL_PASSWORD is not set)"},
        {"store.mysql_secret_arn", SettingType::string, "", false,
         "Secrets Manager secret with the MySQL password (JSON username/password, as RDS manages it), "
         "used when neither MAILTRACK_MYSQL_PASSWORD nor store.mysql_password_file is set"},
        {"store.mysql_create_database", SettingType::boolean, "false", false,
         "create the database named in store.mysql_url if it does not exist"},
        {"ingest.batch_size", SettingType::integer, "512", false, "events applied per store transaction"},
        {"ingest.max_document_bytes", SettingType::integer, "1048576", false, "largest accepted event document"},
        {"aws.region", SettingType::string, "", false,
         "AWS region; empty = AWS_REGION, AWS_DEFAULT_REGION, then the profile's region"},
        {"aws.profile", SettingType::string, "", false, "shared-config profile; empty = AWS_PROFILE or default"},
        {"aws.endpoint_url", SettingType::string, "", false,
         "endpoint for every AWS service (emulators); empty = AWS_ENDPOINT_URL or the AWS default"},
        {"aws.sqs_endpoint_url", SettingType::string, "", false, "SQS endpoint; empty = AWS_ENDPOINT_URL_SQS"},
        {"aws.sns_endpoint_url", SettingType::string, "", false, "SNS endpoint; empty = AWS_ENDPOINT_URL_SNS"},
        {"aws.sesv2_endpoint_url", SettingType::string, "", false, "SES v2 endpoint; empty = AWS_ENDPOINT_URL_SESV2"},
        {"aws.secretsmanager_endpoint_url", SettingType::string, "", false,
         "Secrets Manager endpoint; empty = AWS_ENDPOINT_URL_SECRETSMANAGER"},
        {"aws.max_attempts", SettingType::integer, "3", false, "attempts per AWS call (standard retry mode)"},
        {"aws.connect_timeout_ms", SettingType::integer, "3000", false, "TCP/TLS connect timeout"},
        {"aws.request_timeout_ms", SettingType::integer, "10000", false,
         "total time per AWS request (long polls add their wait time)"},
        {"worker.queue_urls", SettingType::string_list, "", false, "SQS queue URLs the worker consumes (one or more)"},
        {"worker.dlq_url", SettingType::string, "", false,
         "dead-letter queue for messages that do not parse (empty: leave them to the queue's redrive policy)"},
        {"worker.concurrency", SettingType::integer, "4", false, "concurrent long polls per queue, 1..16"},
        {"worker.batch_max", SettingType::integer, "500", false, "most events per store transaction (group commit)"},
        {"worker.linger_ms", SettingType::integer, "20", false, "how long a partial batch waits for more events"},
        {"worker.wait_time_s", SettingType::integer, "20", false, "ReceiveMessage WaitTimeSeconds, 0..20"},
        {"worker.visibility_timeout_s", SettingType::integer, "60", false, "visibility timeout asked for on receive"},
        {"worker.heartbeat", SettingType::boolean, "true", false,
         "extend the visibility of messages still in flight at half their timeout"},
        {"worker.max_receive_count", SettingType::integer, "5", false,
         "receives after which an unparsable message goes to worker.dlq_url"},
        {"worker.max_in_flight", SettingType::integer, "1000", false,
         "messages received and not yet deleted; pollers pause beyond it"},
        {"worker.ack_delay_ms", SettingType::integer, "50", false,
         "how long committed messages wait for a poller to delete them before an acknowledger does"},
        {"worker.store_backoff_initial_ms", SettingType::integer, "100", false,
         "first retry delay when the store is unavailable"},
        {"worker.store_backoff_max_ms", SettingType::integer, "30000", false,
         "longest retry delay when the store is unavailable"},
        {"worker.queue_backoff_initial_ms", SettingType::integer, "200", false,
         "first retry delay after a failed receive"},
        {"worker.queue_backoff_max_ms", SettingType::integer, "20000", false,
         "longest retry delay after failed receives"},
        {"worker.stop_timeout_s", SettingType::integer, "25", false,
         "how long a graceful stop may take before it turns immediate"},
        {"worker.stats_interval_s", SettingType::integer, "0", false, "print a one-line summary this often (0: never)"},
        {"sns.events_topic_arn", SettingType::string, "", false, "SNS topic SES publishes events to"},
        {"sns.alerts_topic_arn", SettingType::string, "", false, "SNS topic `mailtrack notify` publishes to"},
        {"ses.configuration_set", SettingType::string, "", false, "SES configuration set used when sending"},
        {"ses.from", SettingType::string, "", false, "default From address for sends"},
        {"sending.sandbox_events", SettingType::boolean, "false", false,
         "after each accepted send, publish to sns.events_topic_arn the events SES's mailbox simulator would "
         "(runs the pipeline without an AWS account)"},
        {"sending.sandbox_engagement", SettingType::boolean, "false", false,
         "with sandbox events, also an Open and a Click per delivered recipient"},
        {"sending.bulk_concurrency", SettingType::integer, "4", false,
         "SendBulkEmail calls in flight at once in send-bulk (1..16), all within the send rate"},
        {"suppression.soft_bounce_limit", SettingType::integer, "3", false,
         "soft bounces (since the last delivery) that suppress an address; 0 = never"},
        {"suppression.soft_bounce_window_sends", SettingType::integer, "5", false,
         "how many of the address's most recent sends the soft-bounce limit looks at"},
        {"suppression.soft_bounce_expiry_days", SettingType::integer, "14", false,
         "how long a soft-bounce suppression lasts"},
        {"redis.url", SettingType::string, "", false,
         "redis://[user@]host:6379/0 or rediss:// (TLS); empty: no Redis, in-process equivalents"},
        {"redis.tls_ca_file", SettingType::string, "", false,
         "PEM CA certificates for rediss:// (empty: the system's, as ElastiCache needs)"},
        {"redis.password_file", SettingType::string, "", false,
         "file holding the Redis AUTH password (MAILTRACK_REDIS_PASSWORD wins; never in the URL)"},
        {"redis.auth_secret_arn", SettingType::string, "", false,
         "Secrets Manager secret with the Redis AUTH token, plain or JSON with password (and username); read when the "
         "env and file are unset"},
        {"redis.connect_timeout_ms", SettingType::integer, "200", false,
         "Redis connect timeout (host-name lookup, TCP connect and TLS handshake each)"},
        {"redis.command_timeout_ms", SettingType::integer, "200", false, "Redis per-command timeout"},
        {"redis.reconnect_interval_ms", SettingType::integer, "1000", false,
         "after a Redis failure, calls skip Redis this long before reconnecting"},
        {"redis.key_prefix", SettingType::string, "mailtrack:", false, "prefix of every Redis key"},
        {"redis.fallback_instances", SettingType::integer, "1", false,
         "sender instances sharing the send rate; while Redis is down each sends at rate / this"},
        {"redis.send_burst", SettingType::integer, "1", false,
         "sends that may go back to back under the shared rate (1: evenly spaced)"},
        {"redis.cache_ttl_s", SettingType::integer, "300", false, "how long a cached status lookup lives"},
        {"redis.idempotency_ttl_s", SettingType::integer, "86400", false,
         "how long an idempotency key is claimed across instances"},
        {"server.listen_address", SettingType::string, "127.0.0.1", false,
         "address `mailtrack serve` listens on (loopback by default; 0.0.0.0 for every interface)"},
        {"server.port", SettingType::integer, "8080", false, "TCP port of `mailtrack serve` (0: any free port)"},
        {"server.max_body_bytes", SettingType::integer, "1048576", false, "largest request body (larger: 413)"},
        {"server.max_header_bytes", SettingType::integer, "16384", false,
         "largest request line and headers (larger: 431)"},
        {"server.read_timeout_ms", SettingType::integer, "10000", false,
         "time from a request's first byte to its last; a slower client is cut off"},
        {"server.idle_timeout_ms", SettingType::integer, "60000", false,
         "how long a kept-alive connection may wait for its next request"},
        {"server.write_timeout_ms", SettingType::integer, "10000", false, "time to write a response"},
        {"server.max_connections", SettingType::integer, "1024", false,
         "open connections at most; more are closed at once"},
        {"server.io_threads", SettingType::integer, "2", false, "threads reading and writing sockets"},
        {"server.handler_threads", SettingType::integer, "8", false, "threads running request handlers"},
        {"server.tls_certificate_file", SettingType::string, "", false,
         "PEM certificate chain: with the key, TLS on every connection"},
        {"server.tls_private_key_file", SettingType::string, "", false, "PEM private key of the certificate"},
        {"server.access_log", SettingType::boolean, "true", false,
         "one log line per request (request id, method, route, status, bytes, duration)"},
        {"server.shutdown_timeout_s", SettingType::integer, "20", false,
         "on SIGTERM, how long requests in progress may take to finish"},
        {"server.worker", SettingType::boolean, "true", false,
         "run the SQS worker in the serve process (when worker.queue_urls is set)"},
    };
    return k_settings;
}

std::string_view to_string(Source s) noexcept {
    switch (s) {
        case Source::default_value: return "default";
        case Source::file: return "file";
        case Source::environment: return "environment";
        case Source::flag: return "flag";
    }
    return "?";
}

std::string env_name(std::string_view key) {
    std::string out = "MAILTRACK_";
    for (const char c : key) {
        out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    return out;
}

std::string mask(std::string_view value, bool secret) {
    if (value.empty()) return {};
    if (secret) return "********";
    // scheme://user:password@host -> scheme://user:********@host
    const auto scheme = value.find("://");
    if (scheme == std::string_view::npos) return std::string(value);
    const auto at = value.find('@', scheme + 3);
    const auto colon = value.find(':', scheme + 3);
    if (at == std::string_view::npos || colon == std::string_view::npos || colon > at) return std::string(value);
    return std::string(value.substr(0, colon + 1)) + "********" + std::string(value.substr(at));
}

util::Result<Config> Config::load(const std::optional<std::string>& file,
                                  const std::vector<std::pair<std::string, std::string>>& environment,
                                  const std::vector<std::string>& overrides) {
    Config c;
    for (const auto& s : settings())
        c.m_values[std::string(s.key)] = Value{std::string(s.default_value), Source::default_value};

    if (file) {
        toml::table table;
        try {
            table = toml::parse_file(*file);
        } catch (const toml::parse_error& e) {
            std::ostringstream where;
            where << e.source().begin;
            return util::fail(ErrorKind::config, *file + ": " + std::string(e.description()) + " at " + where.str());
        }
        std::string unknown;
        for (const auto& [section, node] : table) {
            const auto* sub = node.as_table();
            if (sub == nullptr) {
                return util::fail(ErrorKind::config,
                                  *file + ": top-level key \"" + std::string(section.str()) + "\" must be a [section]");
            }
            for (const auto& [name, value] : *sub) {
                const std::string key = std::string(section.str()) + "." + std::string(name.str());
                const SettingSpec* spec = find_spec(key);
                if (spec == nullptr) {
                    return util::fail(ErrorKind::config, *file + ": unknown setting " + key +
                                                             " (`mailtrack config show` lists the known ones)");
                }
                MAILTRACK_TRY_ASSIGN(auto v, from_toml(*spec, value, *file));
                c.m_values[key] = Value{std::move(v), Source::file};
            }
        }
    }
    for (const auto& s : settings()) {
        const std::string name = env_name(s.key);
        for (const auto& [k, v] : environment) {
            if (k != name) continue;
            MAILTRACK_TRY_ASSIGN(auto checked, validate(s, v, "environment variable " + name));
            c.m_values[std::string(s.key)] = Value{std::move(checked), Source::environment};
        }
    }
    for (const auto& o : overrides) {
        const auto eq = o.find('=');
        if (eq == std::string::npos) {
            return util::fail(ErrorKind::config, "--set " + o + ": expected key=value");
        }
        auto next = c.with(o.substr(0, eq), o.substr(eq + 1));
        if (!next) return next;
        c = std::move(*next);
    }
    c.m_typed = c.typed_from_values();
    return c;
}

util::Result<Config> Config::with(std::string_view key, std::string_view value) const {
    const SettingSpec* spec = find_spec(key);
    if (spec == nullptr) {
        return util::fail(ErrorKind::config,
                          "unknown setting " + std::string(key) + " (`mailtrack config show` lists the known ones)");
    }
    MAILTRACK_TRY_ASSIGN(auto checked, validate(*spec, value, "flag"));
    Config c = *this;
    c.m_values[std::string(key)] = Value{std::move(checked), Source::flag};
    c.m_typed = c.typed_from_values();
    return c;
}

const std::string& Config::text(std::string_view key) const {
    const auto it = m_values.find(key);
    assert(it != m_values.end() && "every known key has a default");
    return it->second.text;
}

std::int64_t Config::integer(std::string_view key) const {
    std::int64_t v = 0;
    const std::string& t = text(key);
    std::from_chars(t.data(), t.data() + t.size(), v);  // validated on the way in
    return v;
}

bool Config::boolean(std::string_view key) const {
    return text(key) == "true";
}

std::vector<std::string> Config::list(std::string_view key) const {
    std::vector<std::string> out;
    std::string_view t = text(key);
    while (!t.empty()) {
        const auto comma = t.find(',');
        std::string item = trim(t.substr(0, comma));
        if (!item.empty()) out.push_back(std::move(item));
        if (comma == std::string_view::npos) break;
        t.remove_prefix(comma + 1);
    }
    return out;
}

Source Config::source(std::string_view key) const {
    const auto it = m_values.find(key);
    return it == m_values.end() ? Source::default_value : it->second.source;
}

std::string Config::show() const {
    std::string out;
    std::string section;
    for (const auto& s : settings()) {
        const std::string_view sec = s.key.substr(0, s.key.find('.'));
        if (sec != section) {
            section = std::string(sec);
            out += (out.empty() ? "[" : "\n[") + section + "]\n";
        }
        const Value& v = m_values.at(std::string(s.key));
        out += std::string(s.key.substr(s.key.find('.') + 1)) + " = ";
        const std::string shown = mask(v.text, s.secret);
        switch (s.type) {
            case SettingType::integer:
            case SettingType::boolean: out += shown; break;
            case SettingType::string: util::append_json_string(out, shown); break;
            case SettingType::string_list: {
                out += "[";
                bool first = true;
                for (const auto& item : list(s.key)) {
                    if (!first) out += ", ";
                    util::append_json_string(out, mask(item, s.secret));
                    first = false;
                }
                out += "]";
                break;
            }
        }
        out += "  # ";
        out += to_string(v.source);
        if (v.source == Source::environment) {
            // Two appends, not `" " + env_name(...)`: GCC 12 -O3 reports a false -Wrestrict there.
            out += ' ';
            out += env_name(s.key);
        }
        out += "\n";
    }
    return out;
}

std::string Config::show_json() const {
    std::string out = "{";
    bool first = true;
    for (const auto& s : settings()) {
        const Value& v = m_values.at(std::string(s.key));
        if (!first) out += ",";
        first = false;
        util::append_json_string(out, s.key);
        out += ":{\"value\":";
        util::append_json_string(out, mask(v.text, s.secret));
        out += ",\"source\":";
        util::append_json_string(out, to_string(v.source));
        out += "}";
    }
    out += "}";
    return out;
}

}  // namespace mailtrack::config
