// `mailtrack serve`: the HTTP service (REST API /v1, /healthz, /readyz, /metrics) and, with
// server.worker and worker.queue_urls set, the SQS worker in the same process, until
// SIGTERM/SIGINT: then no new connections, requests in progress finish within
// server.shutdown_timeout_s, the worker commits and deletes what it holds, exit 0.
#include <signal.h>

#include <optional>

#include "mailtrack/adapters/sqs_queue_client.hpp"
#include "mailtrack/api/api.hpp"
#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/redis_settings.hpp"
#include "mailtrack/app/server_options.hpp"
#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/app/worker_options.hpp"
#include "mailtrack/store/serialized_store.hpp"
#include "mailtrack/util/log.hpp"
#include "mailtrack/util/sleeper.hpp"
#include "mailtrack/worker/worker.hpp"

#include "../context.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

struct ServeRun {
    std::string listen;  // ADDRESS:PORT, overriding server.listen_address and server.port
    bool no_worker = false;
};

// The configured store, behind Redis with redis.url (commits invalidate the status cache).
std::unique_ptr<store::Store> open_shared_store(const config::Config& c, const util::Clock& clock,
                                                util::MetricsRegistry& metrics) {
    auto opened = app::open_store(c);
    if (!opened) throw CommandError{opened.error().describe()};
    auto shared = app::share_through_redis(std::move(*opened), c, aws::process_environment(), clock, &metrics);
    if (!shared) throw CommandError{shared.error().describe()};
    return std::move(*shared);
}

// The worker part of serve, when it runs.
struct InProcessWorker {
    std::unique_ptr<app::AwsServices> aws;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<adapters::SqsQueueClient> queue;
    util::RealSleeper sleeper;
    std::unique_ptr<worker::Worker> engine;
};

std::optional<InProcessWorker> start_worker(const config::Config& c, util::MetricsRegistry& metrics) {
    auto options = app::worker_options(c);
    if (!options) throw CommandError{options.error().describe()};
    InProcessWorker w;
    auto aws = app::make_aws_services(c, aws::process_environment());
    if (!aws) throw CommandError{aws.error().describe()};
    w.aws = std::move(*aws);
    w.store = open_shared_store(c, w.aws->clock, metrics);
    w.queue = std::make_unique<adapters::SqsQueueClient>(*w.aws->sqs);
    w.engine = std::make_unique<worker::Worker>(*options, *w.queue, *w.store, w.aws->clock, w.sleeper, metrics);
    if (auto started = w.engine->start(); !started) throw CommandError{started.error().describe()};
    return w;
}

int cmd_serve(config::Config c, const ServeRun& run) {
    if (!run.listen.empty()) {
        const auto colon = run.listen.rfind(':');
        if (colon == std::string::npos) throw CommandError{"--listen " + run.listen + ": expected ADDRESS:PORT"};
        auto with_address = c.with("server.listen_address", run.listen.substr(0, colon));
        if (!with_address) throw CommandError{with_address.error().describe()};
        auto with_port = with_address->with("server.port", run.listen.substr(colon + 1));
        if (!with_port) throw CommandError{"--listen " + run.listen + ": " + with_port.error().describe()};
        c = std::move(*with_port);
    }
    auto options = app::server_options(c);
    if (!options) throw CommandError{options.error().describe()};
    if (!app::is_loopback_address(options->listen_address) && options->tls_certificate_file.empty()) {
        util::log::warn(
            "serving plain HTTP beyond loopback: API keys cross the network in clear unless a TLS "
            "load balancer is in front (server.tls_certificate_file serves TLS directly)",
            {{"address", options->listen_address}});
    }

    const sigset_t stop_signals = block_stop_signals();

    util::MetricsRegistry metrics;
    util::SystemClock clock;
    // The handlers share one connection under a lock; the worker has its own.
    auto store = std::make_unique<store::SerializedStore>(open_shared_store(c, clock, metrics));
    std::optional<InProcessWorker> worker;
    if (c.typed().server.worker && !run.no_worker && !c.typed().worker.queue_urls.empty()) {
        worker = start_worker(c, metrics);
    }
    api::Api api({*store, metrics, clock, {}});
    auto server = http::Server::start(
        *options, [&api](const http::Request& r) { return api.handle(r); }, metrics);
    if (!server) throw CommandError{server.error().describe()};
    util::log::info("serve started",
                    {{"port", static_cast<std::int64_t>((*server)->port())}, {"worker", worker.has_value()}});

    int sig = 0;
    while (sig != SIGTERM && sig != SIGINT) sig = sigwaitinfo(&stop_signals, nullptr);
    util::log::info("serve stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    (*server)->stop(std::chrono::seconds(c.typed().server.shutdown_timeout_s));
    if (worker) {
        worker->engine->request_stop(worker::StopMode::graceful);
        worker->engine->wait();
    }
    util::log::info("serve stopped");
    return k_exit_ok;
}

}  // namespace

void register_serve(const CommandLine& line) {
    auto run = std::make_shared<ServeRun>();
    auto* serve = line.app.add_subcommand(
        "serve", "the HTTP service (REST API, health, metrics) and the SQS worker, until SIGTERM/SIGINT");
    add_common_options(*serve, line.global);
    serve->add_option("--listen", run->listen, "ADDRESS:PORT (default server.listen_address and server.port)");
    serve->add_flag("--no-worker", run->no_worker, "do not run the SQS worker in this process");
    serve->callback([line, run] { line.action = [line, run] { return cmd_serve(load_config(line.global), *run); }; });
}

}  // namespace mailtrack::cli
