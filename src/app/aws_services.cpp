#include "mailtrack/app/aws_services.hpp"

#include <charconv>
#include <random>

namespace mailtrack::app {
namespace {

std::string env_value(const aws::Environment& env, std::string_view key) {
    const auto it = env.find(key);
    return it == env.end() ? std::string() : it->second;
}

}  // namespace

Resolved resolve_region(const config::Config& c, const aws::Environment& env) {
    if (const auto& r = c.typed().aws.region; !r.empty()) return {r, "config aws.region"};
    for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
        if (auto v = env_value(env, var); !v.empty()) return {v, var};
    }
    const std::string profile = aws::selected_profile(env, c.typed().aws.profile);
    if (auto v = aws::profile_region(env, profile); !v.empty()) return {v, "profile " + profile};
    return {"", "not set"};
}

Resolved resolve_endpoint(const config::Config& c, const aws::Environment& env, std::string_view service,
                          const std::string& region) {
    const config::AwsSettings& a = c.typed().aws;
    const std::string key = "aws." + std::string(service) + "_endpoint_url";
    const std::pair<std::string_view, const std::string*> per_service[] = {
        {"sqs", &a.sqs_endpoint_url},
        {"sns", &a.sns_endpoint_url},
        {"sesv2", &a.sesv2_endpoint_url},
        {"secretsmanager", &a.secretsmanager_endpoint_url}};
    for (const auto& [name, configured] : per_service) {
        if (name == service && !configured->empty()) return {*configured, "config " + key};
    }
    if (const auto& v = c.typed().aws.endpoint_url; !v.empty()) return {v, "config aws.endpoint_url"};
    std::string var = "AWS_ENDPOINT_URL_";
    for (char ch : service) var.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    if (auto v = env_value(env, var); !v.empty()) return {v, var};
    if (auto v = env_value(env, "AWS_ENDPOINT_URL"); !v.empty()) return {v, "AWS_ENDPOINT_URL"};
    const std::string host = service == "sesv2" ? "email" : std::string(service);
    const std::string suffix = region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
    return {"https://" + host + "." + region + suffix, "default"};
}

util::Result<std::unique_ptr<AwsServices>> make_aws_services(const config::Config& c, const aws::Environment& env) {
    aws::RetryOptions retry;
    retry.max_attempts = static_cast<int>(c.typed().aws.max_attempts);
    if (c.source("aws.max_attempts") == config::Source::default_value) {
        const std::string v = env_value(env, "AWS_MAX_ATTEMPTS");
        int n = 0;
        if (!v.empty() && std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc() && n > 0)
            retry.max_attempts = n;
    }
    if (retry.max_attempts < 1) return util::fail(util::ErrorKind::config, "aws.max_attempts must be at least 1");
    auto s = std::make_unique<AwsServices>(std::random_device{}(), retry);
    s->region = resolve_region(c, env);
    if (s->region.value.empty()) {
        return util::fail(
            util::ErrorKind::config,
            "no AWS region: set aws.region, AWS_REGION or AWS_DEFAULT_REGION, or a region in the profile");
    }
    s->transport = std::make_unique<aws::CurlTransport>(
        aws::TransportOptions{std::chrono::milliseconds(c.typed().aws.connect_timeout_ms),
                              std::chrono::milliseconds(c.typed().aws.request_timeout_ms), true});
    s->credentials = aws::default_credentials_chain(env, *s->transport, s->clock, c.typed().aws.profile);
    s->sqs_endpoint = resolve_endpoint(c, env, "sqs", s->region.value);
    s->sns_endpoint = resolve_endpoint(c, env, "sns", s->region.value);
    s->sesv2_endpoint = resolve_endpoint(c, env, "sesv2", s->region.value);
    s->secretsmanager_endpoint = resolve_endpoint(c, env, "secretsmanager", s->region.value);
    const aws::ClientContext ctx{*s->transport, *s->credentials, s->clock, s->sleeper, s->jitter, s->quota, s->retry};
    s->sqs = std::make_unique<aws::SqsClient>(ctx, aws::ServiceEndpoint{s->sqs_endpoint.value, s->region.value, "sqs"});
    s->sns = std::make_unique<aws::SnsClient>(ctx, aws::ServiceEndpoint{s->sns_endpoint.value, s->region.value, "sns"});
    s->ses =
        std::make_unique<aws::SesV2Client>(ctx, aws::ServiceEndpoint{s->sesv2_endpoint.value, s->region.value, "ses"});
    s->secrets = std::make_unique<aws::SecretsManagerClient>(
        ctx, aws::ServiceEndpoint{s->secretsmanager_endpoint.value, s->region.value, "secretsmanager"});
    return s;
}

}  // namespace mailtrack::app
