// `mailtrack worker`: consumes worker.queue_urls until SIGTERM/SIGINT. The first signal stops
// gracefully (commit and delete in-flight work; exit 0), a second stops at once (exit 1;
// uncommitted messages reappear after their visibility timeout).
#include "mailtrack/worker/worker.hpp"

#include <malloc.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "mailtrack/adapters/redis_store.hpp"
#include "mailtrack/adapters/sqs_queue_client.hpp"
#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/app/worker_options.hpp"
#include "mailtrack/util/log.hpp"
#include "mailtrack/util/sleeper.hpp"
#include "mailtrack/worker/metrics.hpp"

#include "../context.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

// How `mailtrack worker` runs beyond the configuration.
struct WorkerRun {
    std::int64_t stats_interval_s = -1;  // < 0: worker.stats_interval_s; 0: no summaries
    std::string metrics_file;            // Prometheus text, rewritten every second and at exit
    std::int64_t stop_after = 0;         // > 0: stop gracefully once this many messages are deleted
};

// Writes the metrics next to `path` and renames the file over it, so a reader (node_exporter's
// textfile collector) never sees half a file. A failure is logged, not fatal: metrics are not
// worth stopping ingestion for.
void write_metrics_file(const std::string& path, const util::MetricsRegistry& metrics) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << metrics.prometheus_text();
        if (!out.flush()) {
            util::log::warn("cannot write the metrics file", {{"path", tmp}, {"error", std::strerror(errno)}});
            return;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        util::log::warn("cannot replace the metrics file", {{"path", path}, {"error", std::strerror(errno)}});
    }
}

int cmd_worker(const config::Config& c, const WorkerRun& run) {
    std::int64_t stats_interval_s = run.stats_interval_s;
    auto options = app::worker_options(c);
    if (!options) throw CommandError{options.error().describe()};
    if (options->queue_urls.empty()) throw CommandError{"worker.queue_urls is empty: run `mailtrack setup` or set it"};
    if (stats_interval_s < 0) stats_interval_s = c.typed().worker.stats_interval_s;

    // Every poller thread would otherwise get its own malloc arena (up to 8 per core), each
    // keeping freed memory: two arenas bound the worker's resident memory at no measurable cost.
    mallopt(M_ARENA_MAX, 2);

    // Block the stop signals before any thread starts, so every thread inherits the mask and
    // only this one takes them (sigtimedwait below): Worker::request_stop is not async-signal-safe.
    const sigset_t stop_signals = block_stop_signals();

    util::MetricsRegistry metrics;
    auto aws = app::make_aws_services(c, aws::process_environment());
    if (!aws) throw CommandError{aws.error().describe()};
    // A store that cannot be reached yet (the database server is down or still starting) is
    // waited for, as an outage later is, instead of ending the worker; other errors end it.
    auto opened = app::open_store(c);
    for (std::chrono::milliseconds backoff{500}; !opened && opened.error().kind == util::ErrorKind::storage_unavailable;
         backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(30))) {
        util::log::warn(
            "store unavailable at start; waiting for it",
            {{"error", opened.error().describe()}, {"retry_in_ms", static_cast<std::int64_t>(backoff.count())}});
        const auto whole = std::chrono::duration_cast<std::chrono::seconds>(backoff);
        const timespec wait{static_cast<time_t>(whole.count()),
                            static_cast<long>(std::chrono::nanoseconds(backoff - whole).count())};
        if (const int sig = sigtimedwait(&stop_signals, nullptr, &wait); sig == SIGTERM || sig == SIGINT) {
            util::log::info("worker stopped before the store became available");
            return k_exit_ok;
        }
        opened = app::open_store(c);
    }
    if (!opened) throw CommandError{opened.error().describe()};
    // With redis.url: each commit deletes the cached status of its messages (errors counted in metrics).
    auto store = app::share_through_redis(std::move(*opened), c, aws::process_environment(), (*aws)->clock, &metrics);
    if (!store) throw CommandError{store.error().describe()};
    adapters::SqsQueueClient queue(*(*aws)->sqs);
    util::RealSleeper sleeper;
    worker::Worker w(*options, queue, **store, (*aws)->clock, sleeper, metrics);
    if (auto started = w.start(); !started) throw CommandError{started.error().describe()};

    // --stop-after is checked, and the end of a stop noticed, within k_quick_tick instead of the
    // usual tick: a one-shot drain's wall time then ends with its work, not with the next tick.
    constexpr long k_tick_ns = 50'000'000, k_quick_tick_ns = 5'000'000;
    const util::Counter& deleted = metrics.counter(worker::metric::k_deleted);
    std::atomic<bool> finished{false};
    std::optional<std::thread> joiner;
    bool immediate = false;  // a stop request arrived while a graceful stop was under way
    auto last_stats = std::chrono::steady_clock::now();
    auto last_metrics_file = last_stats;
    auto previous = metrics.snapshot();
    const auto stop_gracefully = [&](const char* why) {
        util::log::info("worker stopping: finishing in-flight work", {{"reason", why}});
        w.request_stop(worker::StopMode::graceful);
        joiner.emplace([&] {
            w.wait();
            finished.store(true);
        });
    };
    while (!finished.load()) {
        timespec tick{0, run.stop_after > 0 || joiner ? k_quick_tick_ns : k_tick_ns};
        const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
        if (run.stop_after > 0 && !joiner && deleted.value() >= run.stop_after) {
            stop_gracefully("--stop-after reached");
        }
        if (sig == SIGTERM || sig == SIGINT) {
            const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
            if (!joiner) {
                stop_gracefully(name);
            } else {
                immediate = true;
                util::log::warn("worker stopping at once: uncommitted messages reappear after their visibility timeout",
                                {{"signal", name}});
                w.request_stop(worker::StopMode::immediate);
            }
        }
        const auto now = std::chrono::steady_clock::now();
        if (stats_interval_s > 0 && now - last_stats >= std::chrono::seconds(stats_interval_s)) {
            auto snap = metrics.snapshot();
            std::cout << worker::summary_line(snap, &previous,
                                              std::chrono::duration_cast<std::chrono::milliseconds>(now - last_stats))
                      << std::endl;
            previous = std::move(snap);
            last_stats = now;
        }
        if (!run.metrics_file.empty() && now - last_metrics_file >= std::chrono::seconds(1)) {
            write_metrics_file(run.metrics_file, metrics);
            last_metrics_file = now;
        }
    }
    joiner->join();
    if (!run.metrics_file.empty()) write_metrics_file(run.metrics_file, metrics);
    util::log::info("worker stopped", {{"in_flight", static_cast<std::int64_t>(w.in_flight())}});
    if (stats_interval_s > 0) {
        std::cout << worker::summary_line(metrics.snapshot(), nullptr, std::chrono::milliseconds(0)) << std::endl;
    }
    return immediate ? k_exit_failure : k_exit_ok;
}

}  // namespace

void register_worker(const CommandLine& line) {
    auto run = std::make_shared<WorkerRun>();
    auto* worker_cmd =
        line.app.add_subcommand("worker", "consume SES events from SQS into the store until SIGTERM/SIGINT");
    add_common_options(*worker_cmd, line.global);
    worker_cmd->add_option("--stats-interval", run->stats_interval_s,
                           "print a one-line summary every N seconds (default worker.stats_interval_s; 0: never)");
    worker_cmd->add_option("--metrics-file", run->metrics_file,
                           "rewrite this file with the metrics in Prometheus text format every second and at exit "
                           "(e.g. for node_exporter's textfile collector)");
    worker_cmd
        ->add_option("--stop-after", run->stop_after,
                     "stop gracefully once N messages have been deleted (one-shot drains, benchmarks)")
        ->check(CLI::PositiveNumber);
    worker_cmd->callback(
        [line, run] { line.action = [line, run] { return cmd_worker(load_config(line.global), *run); }; });
}

}  // namespace mailtrack::cli
