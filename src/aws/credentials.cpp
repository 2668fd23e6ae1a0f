#include "mailtrack/aws/credentials.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "mailtrack/util/log.hpp"
#include "mailtrack/util/time.hpp"

#include "json_util.hpp"

extern char** environ;

namespace mailtrack::aws {
namespace {

using std::chrono::minutes;

util::Unexpected<Error> not_found(std::string what) {
    return fail(ErrorKind::auth, std::move(what), 0, std::string(k_credentials_not_found));
}

std::string get(const Environment& env, std::string_view key) {
    const auto it = env.find(key);
    return it == env.end() ? std::string() : it->second;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return std::string(s);
}

using IniSection = std::map<std::string, std::string>;

// Reads one section of an INI file; nullopt when the file or section is missing.
std::optional<IniSection> read_section(const std::string& path, const std::string& section) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::optional<IniSection> out;
    bool inside = false;
    std::string line;
    while (std::getline(in, line)) {
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#' || t[0] == ';') continue;
        if (t.front() == '[' && t.back() == ']') {
            inside = trim(std::string_view(t).substr(1, t.size() - 2)) == section;
            if (inside && !out) out = IniSection{};
            continue;
        }
        if (!inside) continue;
        const auto eq = t.find('=');
        if (eq == std::string::npos) continue;
        (*out)[trim(std::string_view(t).substr(0, eq))] = trim(std::string_view(t).substr(eq + 1));
    }
    return out;
}

std::string home_file(const Environment& env, std::string_view var, std::string_view name) {
    std::string p = get(env, var);
    if (!p.empty()) return p;
    const std::string home = get(env, "HOME");
    return home.empty() ? std::string() : home + "/.aws/" + std::string(name);
}

std::string config_section(const std::string& profile) {
    return profile == "default" ? profile : "profile " + profile;
}

// Credentials JSON as IMDS and the container endpoint return it.
Result<Credentials> parse_credentials_json(const std::string& body, std::string source) {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail(ErrorKind::parse, source + ": credentials response is not JSON");
    const std::string code = detail::str(j, "Code");
    if (!code.empty() && code != "Success") {
        return fail(ErrorKind::auth, source + ": " + code + ": " + detail::str(j, "Message"), 0, code);
    }
    Credentials c{detail::str(j, "AccessKeyId"), detail::str(j, "SecretAccessKey"), detail::str(j, "Token"),
                  std::nullopt, std::move(source)};
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
        return fail(ErrorKind::parse, c.source + ": credentials response lacks AccessKeyId/SecretAccessKey");
    }
    const std::string exp = detail::str(j, "Expiration");
    if (!exp.empty()) {
        c.expiration = util::parse_timestamp(exp);
        if (!c.expiration) return fail(ErrorKind::parse, c.source + ": unreadable Expiration \"" + exp + "\"");
    }
    return c;
}

}  // namespace

Environment process_environment() {
    Environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string_view::npos)
            env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return env;
}

Result<Credentials> EnvironmentProvider::credentials() {
    const std::string id = get(m_env, "AWS_ACCESS_KEY_ID");
    const std::string secret = get(m_env, "AWS_SECRET_ACCESS_KEY");
    if (id.empty() && secret.empty()) return not_found("environment: AWS_ACCESS_KEY_ID not set");
    if (id.empty() || secret.empty()) {
        return fail(ErrorKind::auth, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together");
    }
    Credentials c{id, secret, get(m_env, "AWS_SESSION_TOKEN"), std::nullopt, "environment"};
    if (c.session_token.empty()) c.session_token = get(m_env, "AWS_SECURITY_TOKEN");
    if (const std::string exp = get(m_env, "AWS_CREDENTIAL_EXPIRATION"); !exp.empty()) {
        c.expiration = util::parse_timestamp(exp);
        if (!c.expiration) return fail(ErrorKind::parse, "environment: unreadable AWS_CREDENTIAL_EXPIRATION");
    }
    return c;
}

std::string selected_profile(const Environment& env, const std::string& explicit_profile) {
    if (!explicit_profile.empty()) return explicit_profile;
    std::string p = get(env, "AWS_PROFILE");
    if (p.empty()) p = get(env, "AWS_DEFAULT_PROFILE");
    return p.empty() ? "default" : p;
}

std::string profile_region(const Environment& env, const std::string& profile) {
    const auto s = read_section(home_file(env, "AWS_CONFIG_FILE", "config"), config_section(profile));
    if (!s) return {};
    const auto it = s->find("region");
    return it == s->end() ? std::string() : it->second;
}

ProfileProvider::ProfileProvider(Environment env, std::string profile)
    : m_env(std::move(env)), m_profile(selected_profile(m_env, profile)) {}

Result<Credentials> ProfileProvider::credentials() {
    struct Candidate {
        std::string path;
        std::string section;
        const char* kind;
    };
    const Candidate files[] = {
        {home_file(m_env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"), m_profile, "shared credentials file"},
        {home_file(m_env, "AWS_CONFIG_FILE", "config"), config_section(m_profile), "shared config file"}};
    for (const auto& f : files) {
        if (f.path.empty()) continue;
        const auto s = read_section(f.path, f.section);
        if (!s) continue;
        const auto id = s->find("aws_access_key_id");
        const auto secret = s->find("aws_secret_access_key");
        if (id == s->end() && secret == s->end()) continue;
        const std::string source = std::string(f.kind) + " " + f.path + " (profile " + m_profile + ")";
        if (id == s->end() || secret == s->end()) {
            return fail(ErrorKind::auth, source + ": aws_access_key_id and aws_secret_access_key must both be set");
        }
        Credentials c{id->second, secret->second, "", std::nullopt, source};
        if (auto t = s->find("aws_session_token"); t != s->end())
            c.session_token = t->second;
        else if (auto t2 = s->find("aws_security_token"); t2 != s->end())
            c.session_token = t2->second;
        return c;
    }
    return not_found("profile " + m_profile + ": no keys in the shared credentials or config file");
}

Result<Credentials> ContainerProvider::credentials() {
    std::string url;
    if (const std::string rel = get(m_env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !rel.empty()) {
        url = "http://169.254.170.2" + rel;
    } else if (const std::string full = get(m_env, "AWS_CONTAINER_CREDENTIALS_FULL_URI"); !full.empty()) {
        const auto scheme_end = full.find("://");
        const auto host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
        const auto host_end =
            full.find_first_of(":/", full[host_start] == '[' ? full.find(']', host_start) : host_start);
        std::string host = full.substr(host_start, host_end - host_start);
        const bool allowed = full.rfind("https://", 0) == 0 || host == "localhost" || host.rfind("127.", 0) == 0 ||
                             host == "[::1]" || host == "169.254.170.2" || host == "169.254.170.23" ||
                             host == "[fd00:ec2::23]";
        if (!allowed) {
            return fail(ErrorKind::auth, "container: AWS_CONTAINER_CREDENTIALS_FULL_URI host " + host +
                                             " is not allowed (https, loopback or the ECS/EKS endpoints only)");
        }
        url = full;
    } else {
        return not_found("container: AWS_CONTAINER_CREDENTIALS_*_URI not set");
    }
    HttpRequest req{"GET", url, {{"Accept", "application/json"}}, "", std::chrono::milliseconds(2000)};
    std::string token = get(m_env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (const std::string file = get(m_env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
        std::ifstream in(file);
        if (!in) return fail(ErrorKind::auth, "container: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + file);
        std::ostringstream ss;
        ss << in.rdbuf();
        token = trim(ss.str());
        while (!token.empty() && token.back() == '\n') token.pop_back();
    }
    if (token.find_first_of("\r\n") != std::string::npos) {
        return fail(ErrorKind::auth, "container: authorization token contains a line break");
    }
    if (!token.empty()) req.headers.push_back({"Authorization", token});
    Result<HttpResponse> r = fail(ErrorKind::connection, "container: not attempted");
    for (int attempt = 0; attempt < 3; ++attempt) {
        r = m_transport.send(req);
        if (r && r->status < 500) break;
    }
    if (!r) return fail(r.error().kind, "container credentials endpoint: " + r.error().message);
    if (r->status != 200) {
        return fail(r->status >= 500 ? ErrorKind::server : ErrorKind::auth,
                    "container credentials endpoint answered HTTP " + std::to_string(r->status), r->status);
    }
    return parse_credentials_json(r->body, "container");
}

ImdsProvider::ImdsProvider(HttpTransport& transport, const util::Clock& clock, ImdsOptions options)
    : m_transport(transport), m_clock(clock), m_options(std::move(options)) {}

Result<void> ImdsProvider::refresh_token() {
    HttpRequest put{"PUT",
                    m_options.endpoint + "/latest/api/token",
                    {{"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(m_options.token_ttl_seconds)}},
                    "",
                    m_options.timeout};
    const util::UnixMillis asked_at = m_clock.now_millis();
    auto r = m_transport.send(put);
    const bool refused = r && (r->status == 403 || r->status == 404 || r->status == 405);
    const bool timed_out = !r && r.error().kind == ErrorKind::timeout;
    if ((refused || timed_out) && m_options.allow_v1_fallback) {
        m_v1 = true;  // IMDSv1: plain GETs
        m_token.clear();
        return {};
    }
    if (!r) return fail(r.error().kind, "instance metadata token: " + r.error().message);
    if (r->status != 200 || r->body.empty()) {
        return fail(ErrorKind::auth, "instance metadata token request answered HTTP " + std::to_string(r->status),
                    r->status);
    }
    m_token = r->body;
    // Renew a minute before the TTL runs out so a token never expires between check and use.
    m_token_expires = asked_at + (static_cast<util::UnixMillis>(m_options.token_ttl_seconds) - 60) * 1000;
    return {};
}

Result<std::string> ImdsProvider::get(const std::string& path) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!m_v1 && (m_token.empty() || m_clock.now_millis() >= m_token_expires)) {
            MAILTRACK_TRY(refresh_token());
        }
        HttpRequest req{"GET", m_options.endpoint + path, {}, "", m_options.timeout};
        if (!m_v1) req.headers.push_back({"X-aws-ec2-metadata-token", m_token});
        auto r = m_transport.send(req);
        if (!r) return fail(r.error().kind, "instance metadata: " + r.error().message);
        if (r->status == 401 && !m_v1) {  // token expired or revoked: get a new one once
            m_token.clear();
            continue;
        }
        if (r->status == 404) return not_found("instance metadata: no IAM role attached (" + path + " 404)");
        if (r->status != 200) {
            return fail(r->status >= 500 ? ErrorKind::server : ErrorKind::auth,
                        "instance metadata " + path + " answered HTTP " + std::to_string(r->status), r->status);
        }
        return std::move(r->body);
    }
    return fail(ErrorKind::auth, "instance metadata rejected a fresh token");
}

Result<Credentials> ImdsProvider::credentials() {
    std::lock_guard lock(m_mutex);
    auto roles = get("/latest/meta-data/iam/security-credentials/");
    if (!roles) {
        // Not on EC2 (nothing answers): for the chain that means "not configured".
        const ErrorKind k = roles.error().kind;
        if (k == ErrorKind::connection || k == ErrorKind::timeout) return not_found(roles.error().message);
        return util::Unexpected(std::move(roles).error());
    }
    const std::string role = trim(std::string_view(*roles).substr(0, roles->find('\n')));
    if (role.empty()) return not_found("instance metadata: no IAM role attached");
    MAILTRACK_TRY_ASSIGN(auto body, get("/latest/meta-data/iam/security-credentials/" + role));
    return parse_credentials_json(body, "instance metadata (role " + role + (m_v1 ? ", IMDSv1)" : ")"));
}

Result<Credentials> ChainProvider::credentials() {
    std::string tried;
    for (const auto& p : m_providers) {
        auto c = p->credentials();
        if (c) return c;
        if (c.error().code != k_credentials_not_found) return c;
        tried += (tried.empty() ? "" : "; ") + c.error().message;
    }
    return fail(ErrorKind::auth, "no AWS credentials found (" + tried + ")", 0, "NoCredentials");
}

void ChainProvider::invalidate() {
    for (const auto& p : m_providers) p->invalidate();
}

Result<Credentials> CachingProvider::credentials() {
    const util::UnixMillis now = m_clock.now_millis();
    std::optional<Credentials> cached;
    {
        std::lock_guard lock(m_mutex);
        cached = m_cached;
    }
    auto left = [&](const Credentials& c) { return *c.expiration - now; };
    constexpr util::UnixMillis k_advisory = 15 * 60 * 1000;
    constexpr util::UnixMillis k_mandatory = 10 * 60 * 1000;
    if (cached && (!cached->expiration || left(*cached) > k_advisory)) return *cached;

    std::unique_lock refresh(m_refresh, std::defer_lock);
    if (cached && left(*cached) > k_mandatory) {
        if (!refresh.try_lock()) return *cached;  // someone else is refreshing; these are still good
    } else {
        refresh.lock();
        std::lock_guard lock(m_mutex);  // another caller may have refreshed while we waited
        if (m_cached && (!m_cached->expiration || *m_cached->expiration - m_clock.now_millis() > k_mandatory)) {
            return *m_cached;
        }
    }
    auto fresh = m_inner->credentials();
    if (!fresh) {
        if (cached && left(*cached) > 0) {
            util::log::warn("aws: credential refresh failed; using the current ones until they expire",
                            {{"error", fresh.error().describe()}});
            return *cached;
        }
        return fresh;
    }
    std::lock_guard lock(m_mutex);
    m_cached = *fresh;
    return fresh;
}

void CachingProvider::invalidate() {
    {
        std::lock_guard lock(m_mutex);
        m_cached.reset();
    }
    m_inner->invalidate();
}

std::unique_ptr<CredentialsProvider> default_credentials_chain(const Environment& env, HttpTransport& transport,
                                                               const util::Clock& clock, const std::string& profile) {
    std::vector<std::unique_ptr<CredentialsProvider>> chain;
    // As botocore: a profile chosen explicitly (not through AWS_PROFILE) skips the environment keys.
    if (profile.empty()) chain.push_back(std::make_unique<EnvironmentProvider>(env));
    chain.push_back(std::make_unique<ProfileProvider>(env, profile));
    chain.push_back(std::make_unique<ContainerProvider>(env, transport));
    std::string disabled = get(env, "AWS_EC2_METADATA_DISABLED");
    for (auto& ch : disabled) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (disabled != "true") {
        ImdsOptions o;
        if (const std::string ep = get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT"); !ep.empty()) {
            o.endpoint = ep.back() == '/' ? ep.substr(0, ep.size() - 1) : ep;
        } else if (get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") == "IPv6") {
            o.endpoint = "http://[fd00:ec2::254]";
        }
        std::string v1_off = get(env, "AWS_EC2_METADATA_V1_DISABLED");
        o.allow_v1_fallback = !(v1_off == "true" || v1_off == "TRUE" || v1_off == "True");
        chain.push_back(std::make_unique<ImdsProvider>(transport, clock, o));
    }
    return std::make_unique<CachingProvider>(std::make_unique<ChainProvider>(std::move(chain)), clock);
}

}  // namespace mailtrack::aws
