#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mailtrack/aws/http.hpp"
#include "mailtrack/aws/sigv4.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::aws {

// A snapshot of the process environment (name -> value). Providers read only this, so tests
// pass their own.
using Environment = std::map<std::string, std::string, std::less<>>;
Environment process_environment();

// Supplies credentials for signing. Errors are ErrorKind::auth ("no credentials", with what was
// tried) or, for unreadable sources, parse/connection/timeout. Messages never contain secrets.
// Implementations must be thread-safe.
class CredentialsProvider {
public:
    virtual ~CredentialsProvider() = default;
    virtual Result<Credentials> credentials() = 0;
    // Drops anything cached, e.g. after the service said the token expired.
    virtual void invalidate() {}
};

// Fixed credentials (tests, and keys given programmatically).
class StaticCredentialsProvider final : public CredentialsProvider {
public:
    explicit StaticCredentialsProvider(Credentials c) : m_credentials(std::move(c)) {}
    Result<Credentials> credentials() override { return m_credentials; }

private:
    Credentials m_credentials;
};

// Error code of a provider that found nothing configured; the chain moves on after it.
inline constexpr std::string_view k_credentials_not_found = "CredentialsNotFound";

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (or AWS_SECURITY_TOKEN),
// optional AWS_CREDENTIAL_EXPIRATION.
class EnvironmentProvider final : public CredentialsProvider {
public:
    explicit EnvironmentProvider(Environment env) : m_env(std::move(env)) {}
    Result<Credentials> credentials() override;

private:
    Environment m_env;
};

// The profile (AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default", unless given) from the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials), then the config
// file (AWS_CONFIG_FILE, ~/.aws/config, sections "[profile name]"). Files are re-read on each call.
class ProfileProvider final : public CredentialsProvider {
public:
    ProfileProvider(Environment env, std::string profile = {});
    Result<Credentials> credentials() override;
    const std::string& profile() const noexcept { return m_profile; }

private:
    Environment m_env;
    std::string m_profile;
};

// The profile name the environment selects ("" -> "default").
std::string selected_profile(const Environment& env, const std::string& explicit_profile = {});
// `region` of the profile in the shared config file, "" when not set.
std::string profile_region(const Environment& env, const std::string& profile);

// ECS/EKS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (169.254.170.2) or
// AWS_CONTAINER_CREDENTIALS_FULL_URI (https, loopback, or the ECS/EKS link-local hosts only), with
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / AWS_CONTAINER_AUTHORIZATION_TOKEN.
class ContainerProvider final : public CredentialsProvider {
public:
    ContainerProvider(Environment env, HttpTransport& transport) : m_env(std::move(env)), m_transport(transport) {}
    Result<Credentials> credentials() override;

private:
    Environment m_env;
    HttpTransport& m_transport;
};

struct ImdsOptions {
    std::string endpoint = "http://169.254.169.254";  // AWS_EC2_METADATA_SERVICE_ENDPOINT overrides
    int token_ttl_seconds = 21600;
    std::chrono::milliseconds timeout{1000};
    bool allow_v1_fallback = true;  // false with ec2_metadata_v1_disabled
};

// EC2 instance metadata, IMDSv2: PUT a session token (re-fetched before its TTL runs out, and
// after a 401), discover the role, fetch its credentials. When the token PUT is refused
// (403/404/405) or times out, falls back to IMDSv1 GETs unless disabled. Thread-safe.
class ImdsProvider final : public CredentialsProvider {
public:
    ImdsProvider(HttpTransport& transport, const util::Clock& clock, ImdsOptions options = {});
    Result<Credentials> credentials() override;

private:
    Result<std::string> get(const std::string& path);
    Result<void> refresh_token();

    HttpTransport& m_transport;
    const util::Clock& m_clock;
    ImdsOptions m_options;
    std::mutex m_mutex;
    std::string m_token;  // empty = none (or IMDSv1 fallback)
    util::UnixMillis m_token_expires = 0;
    bool m_v1 = false;
};

// Tries providers in order; the first that finds credentials wins. A provider that finds
// nothing configured (k_credentials_not_found) passes; any other error stops the chain.
class ChainProvider final : public CredentialsProvider {
public:
    explicit ChainProvider(std::vector<std::unique_ptr<CredentialsProvider>> providers)
        : m_providers(std::move(providers)) {}
    Result<Credentials> credentials() override;
    void invalidate() override;

private:
    std::vector<std::unique_ptr<CredentialsProvider>> m_providers;
};

// Caches what `inner` returns. Credentials without an expiration are kept until invalidate().
// Expiring ones are refreshed ahead of time: from 15 minutes before expiry one caller refreshes
// while the others keep using the cached ones (a failed refresh keeps them too); from 10 minutes
// before, callers wait for the refresh. Thread-safe.
class CachingProvider final : public CredentialsProvider {
public:
    CachingProvider(std::unique_ptr<CredentialsProvider> inner, const util::Clock& clock)
        : m_inner(std::move(inner)), m_clock(clock) {}
    Result<Credentials> credentials() override;
    void invalidate() override;

private:
    std::unique_ptr<CredentialsProvider> m_inner;
    const util::Clock& m_clock;
    std::mutex m_refresh;  // held by the one caller that refreshes
    std::mutex m_mutex;    // guards m_cached
    std::optional<Credentials> m_cached;
};

// The standard chain: environment, shared files (profile), container, IMDS (unless
// AWS_EC2_METADATA_DISABLED=true), cached.
std::unique_ptr<CredentialsProvider> default_credentials_chain(const Environment& env, HttpTransport& transport,
                                                               const util::Clock& clock,
                                                               const std::string& profile = {});

}  // namespace mailtrack::aws
