#include "mailtrack/app/secrets.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <sstream>

#include "mailtrack/app/aws_services.hpp"

namespace mailtrack::app {

using util::ErrorKind;

util::Result<std::optional<ResolvedSecret>> resolve_secret(const SecretSources& sources, const aws::Environment& env,
                                                           const SecretFetcher& fetch) {
    if (!sources.env_var.empty()) {
        if (const auto it = env.find(sources.env_var); it != env.end() && !it->second.empty()) {
            return std::optional<ResolvedSecret>(ResolvedSecret{it->second, "", sources.env_var});
        }
    }
    if (!sources.file.empty()) {
        std::ifstream in(sources.file, std::ios::binary);
        if (!in) return util::fail(ErrorKind::io, sources.what + ": cannot read file " + sources.file);
        std::ostringstream text;
        text << in.rdbuf();
        std::string value = text.str();
        if (value.ends_with('\n')) value.pop_back();
        if (value.ends_with('\r')) value.pop_back();
        if (value.empty()) return util::fail(ErrorKind::config, sources.what + ": file " + sources.file + " is empty");
        return std::optional<ResolvedSecret>(ResolvedSecret{std::move(value), "", "file " + sources.file});
    }
    if (!sources.secret_id.empty()) {
        if (!fetch) return util::fail(ErrorKind::config, sources.what + ": no way to reach Secrets Manager");
        auto raw = fetch(sources.secret_id);
        if (!raw) {
            util::Error e = std::move(raw).error();
            e.message = sources.what + ": reading secret " + sources.secret_id + ": " + e.message;
            return util::Unexpected(std::move(e));
        }
        ResolvedSecret out{"", "", "secret " + sources.secret_id};
        const auto j = nlohmann::json::parse(*raw, nullptr, false);
        if (!j.is_discarded() && j.is_object()) {
            const auto p = j.find("password");
            if (p == j.end() || !p->is_string() || p->get<std::string>().empty()) {
                return util::fail(ErrorKind::config, sources.what + ": secret " + sources.secret_id +
                                                         " is a JSON object without a \"password\" string");
            }
            out.password = p->get<std::string>();
            if (const auto u = j.find("username"); u != j.end() && u->is_string()) out.username = u->get<std::string>();
        } else {
            out.password = std::move(*raw);
        }
        if (out.password.empty()) {
            return util::fail(ErrorKind::config, sources.what + ": secret " + sources.secret_id + " is empty");
        }
        return std::optional<ResolvedSecret>(std::move(out));
    }
    return std::optional<ResolvedSecret>();
}

SecretFetcher secrets_manager_fetcher(const config::Config& config, const aws::Environment& env) {
    auto aws = std::make_shared<std::unique_ptr<AwsServices>>();
    return [&config, &env, aws](const std::string& id) -> util::Result<std::string> {
        if (!*aws) {
            MAILTRACK_TRY_ASSIGN(auto s, make_aws_services(config, env));
            *aws = std::move(s);
        }
        auto v = (*aws)->secrets->get_secret_value(id);
        if (!v) {
            const aws::Error& e = v.error();
            // A network failure or a throttled call may pass; a missing secret or a denied call
            // is configuration.
            const bool transient = e.kind == aws::ErrorKind::timeout || e.kind == aws::ErrorKind::connection ||
                                   e.kind == aws::ErrorKind::throttled || aws::outcome_unknown(e);
            return util::fail(transient ? ErrorKind::storage_unavailable : ErrorKind::config, e.describe());
        }
        if (v->binary) return util::fail(ErrorKind::config, "the secret holds binary data, not a string");
        return std::move(v->secret_string);
    };
}

}  // namespace mailtrack::app
