#pragma once

#include <string>

#include "mailtrack/aws/client.hpp"

namespace mailtrack::aws {

struct SecretValue {
    std::string arn;
    std::string name;
    std::string version_id;
    std::string secret_string;  // empty when the secret holds binary data only
    bool binary = false;        // SecretBinary was set instead of SecretString
};

// AWS Secrets Manager over the AWS JSON 1.1 protocol (only what mailtrack reads). Errors keep
// the service's code (ResourceNotFoundException, AccessDeniedException, DecryptionFailure, ...).
// Thread-safe. Never logs a secret's value.
class SecretsManagerClient {
public:
    SecretsManagerClient(ClientContext context, ServiceEndpoint endpoint);

    // The current version (AWSCURRENT) of the secret named by ARN or name.
    Result<SecretValue> get_secret_value(const std::string& secret_id);

    const ServiceEndpoint& endpoint() const noexcept { return m_client.endpoint(); }

private:
    AwsClient m_client;
};

}  // namespace mailtrack::aws
