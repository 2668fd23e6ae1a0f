#include "context.hpp"

#include <cstdlib>
#include <string_view>

#include "mailtrack/util/log.hpp"

extern char** environ;

namespace mailtrack::cli {
namespace {

std::vector<std::pair<std::string, std::string>> mailtrack_environment() {
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

}  // namespace

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
    auto c = config::Config::load(file, mailtrack_environment(), overrides);
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

std::unique_ptr<app::Services> open_services(const GlobalOptions& g) {
    return std::make_unique<app::Services>(load_config(g));
}

store::Store& require_store(app::Services& s, store::OpenMode mode) {
    auto store = s.store(mode);
    if (!store) throw CommandError{store.error().describe()};
    return **store;
}

app::AwsServices& require_aws(app::Services& s) {
    auto aws = s.aws();
    if (!aws) throw CommandError{aws.error().describe()};
    return **aws;
}

app::Sending& require_sending(app::Services& s) {
    require_store(s);
    require_aws(s);
    if (auto redis = s.redis(); !redis) throw CommandError{redis.error().describe()};
    auto sending = s.sending();
    if (!sending) throw CommandError{sending.error().describe(), k_exit_partial};
    return **sending;
}

sigset_t block_stop_signals() {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    return stop_signals;
}

}  // namespace mailtrack::cli
