#include "mailtrack/aws/secretsmanager.hpp"

#include "json_util.hpp"

namespace mailtrack::aws {

using detail::str;
using nlohmann::json;

SecretsManagerClient::SecretsManagerClient(ClientContext context, ServiceEndpoint endpoint)
    : m_client(context, std::move(endpoint)) {}

Result<SecretValue> SecretsManagerClient::get_secret_value(const std::string& secret_id) {
    Call c;
    c.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", "secretsmanager.GetSecretValue"}};
    c.body = json{{"SecretId", secret_id}}.dump();
    c.parse_error = parse_json_error;
    MAILTRACK_TRY_ASSIGN(auto r, m_client.send(c));
    MAILTRACK_TRY_ASSIGN(auto j, detail::parse_json_body(r.body, "GetSecretValue"));
    SecretValue v{str(j, "ARN"), str(j, "Name"), str(j, "VersionId"), str(j, "SecretString"), false};
    v.binary = v.secret_string.empty() && j.contains("SecretBinary");
    return v;
}

}  // namespace mailtrack::aws
