#pragma once

#include <functional>
#include <optional>
#include <string>

#include "mailtrack/aws/credentials.hpp"
#include "mailtrack/config/config.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::app {

// Where a password (or token) may come from, tried in this order. Never the command line.
struct SecretSources {
    std::string what;       // for messages: "the MySQL password"
    std::string env_var;    // e.g. MAILTRACK_MYSQL_PASSWORD
    std::string file;       // a setting naming a file that holds it (one trailing newline ignored)
    std::string secret_id;  // a Secrets Manager secret (ARN or name)
};

struct ResolvedSecret {
    std::string password;
    // From a JSON secret's "username" (RDS-managed master secrets carry one); empty otherwise.
    std::string username;
    std::string source;  // "MAILTRACK_MYSQL_PASSWORD", "file /run/secrets/db", "secret arn:..."; never the value
};

// Returns a secret's SecretString (aws::SecretsManagerClient::get_secret_value in production).
using SecretFetcher = std::function<util::Result<std::string>(const std::string& secret_id)>;

// The first source that is set, or nullopt when none is. A Secrets Manager secret may be a
// plain string (the password itself) or a JSON object with "password" (and optionally
// "username"), which is how RDS keeps a managed master password. Errors name the source
// (never the value): ErrorKind::io for an unreadable file, config for a secret without a
// password, and the fetcher's error kind for Secrets Manager failures.
util::Result<std::optional<ResolvedSecret>> resolve_secret(const SecretSources& sources, const aws::Environment& env,
                                                           const SecretFetcher& fetch);

// The production fetcher: GetSecretValue with the configured AWS settings (region, credentials
// chain, aws.secretsmanager_endpoint_url), the clients made on first use only -- so nothing is
// reached unless a secret is the source in use. Errors: storage_unavailable for what may pass
// (timeouts, lost connections, throttling), config otherwise (missing secret, access denied,
// binary secret). `config` and `env` must outlive the fetcher.
SecretFetcher secrets_manager_fetcher(const config::Config& config, const aws::Environment& env);

}  // namespace mailtrack::app
