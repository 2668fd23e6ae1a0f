#include "queue_commands.hpp"

#include <fmt/core.h>
#include <malloc.h>
#include <nlohmann/json.hpp>
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

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/dead_letters.hpp"
#include "mailtrack/app/redis_store.hpp"
#include "mailtrack/app/sqs_queue_client.hpp"
#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/app/worker_options.hpp"
#include "mailtrack/util/log.hpp"
#include "mailtrack/worker/metrics.hpp"
#include "mailtrack/worker/sleeper.hpp"
#include "mailtrack/worker/worker.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

constexpr int k_exit_ok = 0;
constexpr int k_exit_failure = 1;

int failure(const std::string& message) {
    std::cerr << "mailtrack: " << message << "\n";
    return k_exit_failure;
}

std::string toml_string(const std::string& s) {
    return json(s).dump();
}  // JSON escapes are valid TOML basic strings

// Writes the metrics next to `path` and renames the file over it, so a reader (node_exporter's
// textfile collector) never sees half a file. A failure is logged, not fatal: metrics are not
// worth stopping ingestion for.
void write_metrics_file(const std::string& path, const worker::MetricsRegistry& metrics) {
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

}  // namespace

int cmd_worker(const config::Config& c, const WorkerRun& run) {
    std::int64_t stats_interval_s = run.stats_interval_s;
    auto options = app::worker_options(c);
    if (!options) return failure(options.error().describe());
    if (options->queue_urls.empty()) return failure("worker.queue_urls is empty: run `mailtrack setup` or set it");
    if (stats_interval_s < 0) stats_interval_s = c.integer("worker.stats_interval_s");

    // Every poller thread would otherwise get its own malloc arena (up to 8 per core), each
    // keeping freed memory: two arenas bound the worker's resident memory at no measurable cost.
    mallopt(M_ARENA_MAX, 2);

    // Block the stop signals before any thread starts, so every thread inherits the mask and
    // only this one takes them (sigtimedwait below): Worker::request_stop is not async-signal-safe.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    worker::MetricsRegistry metrics;
    auto aws = app::make_aws_services(c, aws::process_environment());
    if (!aws) return failure(aws.error().describe());
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
    if (!opened) return failure(opened.error().describe());
    // With redis.url: each commit deletes the cached status of its messages (errors counted in metrics).
    auto store = app::share_through_redis(std::move(*opened), c, aws::process_environment(), (*aws)->clock, &metrics);
    if (!store) return failure(store.error().describe());
    app::SqsQueueClient queue(*(*aws)->sqs);
    worker::RealSleeper sleeper;
    worker::Worker w(*options, queue, **store, (*aws)->clock, sleeper, metrics);
    if (auto started = w.start(); !started) return failure(started.error().describe());

    // --stop-after is checked, and the end of a stop noticed, within k_quick_tick instead of the
    // usual tick: a one-shot drain's wall time then ends with its work, not with the next tick.
    constexpr long k_tick_ns = 50'000'000, k_quick_tick_ns = 5'000'000;
    const worker::Counter& deleted = metrics.counter(worker::metric::k_deleted);
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

int cmd_setup(const config::Config& c, app::PipelineSpec spec, bool as_json) {
    auto aws = app::make_aws_services(c, aws::process_environment());
    if (!aws) return failure(aws.error().describe());
    auto p = app::set_up_pipeline(*(*aws)->sqs, *(*aws)->sns, spec);
    if (!p) return failure("setup: " + p.error().describe());
    if (as_json) {
        std::cout << json{{"topic_arn", p->topic_arn},      {"queue_url", p->queue_url},
                          {"queue_arn", p->queue_arn},      {"dlq_url", p->dlq_url},
                          {"dlq_arn", p->dlq_arn},          {"subscription_arn", p->subscription_arn},
                          {"raw_delivery", p->raw_delivery}}
                         .dump()
                  << "\n";
    } else {
        std::cout << "# mailtrack setup: SES events topic -> SQS queue (dead-letter queue after "
                  << spec.max_receive_count << " receives)\n"
                  << "# subscription " << p->subscription_arn
                  << (p->raw_delivery ? " (raw delivery)" : " (SNS envelope)") << "\n[worker]\nqueue_urls = ["
                  << toml_string(p->queue_url) << "]\ndlq_url = " << toml_string(p->dlq_url)
                  << "\n\n[sns]\nevents_topic_arn = " << toml_string(p->topic_arn) << "\n";
    }
    return k_exit_ok;
}

int cmd_dlq_inspect(const config::Config& c, std::string dlq_url, std::size_t limit, bool as_json) {
    if (dlq_url.empty()) dlq_url = c.text("worker.dlq_url");
    if (dlq_url.empty()) return failure("no dead-letter queue: pass --queue-url or set worker.dlq_url");
    auto aws = app::make_aws_services(c, aws::process_environment());
    if (!aws) return failure(aws.error().describe());
    auto letters = app::inspect_dead_letters(*(*aws)->sqs, dlq_url, limit,
                                             static_cast<std::size_t>(c.integer("ingest.max_document_bytes")));
    if (!letters) return failure(letters.error().describe());
    if (as_json) {
        json out = json::array();
        for (const auto& d : *letters) {
            out.push_back({{"message_id", d.message_id},
                           {"receive_count", d.receive_count},
                           {"parse_error", d.parse_error},
                           {"reject_reason", d.reject_reason},
                           {"source_queue", d.source_queue},
                           {"source_message_id", d.source_message_id},
                           {"body", d.body}});
        }
        std::cout << out.dump() << "\n";
        return k_exit_ok;
    }
    for (const auto& d : *letters) {
        std::cout << d.message_id << "  receives " << d.receive_count << "\n";
        if (!d.source_message_id.empty())
            std::cout << "  from      " << d.source_queue << " " << d.source_message_id << "\n";
        if (!d.reject_reason.empty()) std::cout << "  rejected  " << d.reject_reason << "\n";
        std::cout << "  now       " << (d.parse_error.empty() ? "parses (a redrive will apply it)" : d.parse_error)
                  << "\n";
        std::cout << "  body      " << d.body.substr(0, 160) << (d.body.size() > 160 ? "..." : "") << "\n";
    }
    std::cout << letters->size() << " dead letter(s)\n";
    return k_exit_ok;
}

int cmd_dlq_redrive(const config::Config& c, std::string dlq_url, std::string queue_url, std::size_t limit,
                    bool as_json) {
    if (dlq_url.empty()) dlq_url = c.text("worker.dlq_url");
    if (queue_url.empty()) {
        const auto urls = c.list("worker.queue_urls");
        if (!urls.empty()) queue_url = urls.front();
    }
    if (dlq_url.empty() || queue_url.empty()) {
        return failure("redrive needs the dead-letter queue (worker.dlq_url) and a target (worker.queue_urls)");
    }
    auto aws = app::make_aws_services(c, aws::process_environment());
    if (!aws) return failure(aws.error().describe());
    auto r = app::redrive_dead_letters(*(*aws)->sqs, dlq_url, queue_url, limit);
    if (!r) return failure(r.error().describe());
    if (as_json)
        std::cout << json{{"moved", r->moved}, {"to", queue_url}}.dump() << "\n";
    else
        std::cout << "moved " << r->moved << " message(s) to " << queue_url << "\n";
    return k_exit_ok;
}

int cmd_dlq_apply(const config::Config& c, std::string dlq_url, std::size_t limit, bool as_json) {
    if (dlq_url.empty()) dlq_url = c.text("worker.dlq_url");
    if (dlq_url.empty()) return failure("redrive --apply needs the dead-letter queue (worker.dlq_url or --queue-url)");
    auto store = app::open_store(c);
    if (!store) return failure(store.error().describe());
    auto aws = app::make_aws_services(c, aws::process_environment());
    if (!aws) return failure(aws.error().describe());
    auto r = app::apply_dead_letters(*(*aws)->sqs, dlq_url, **store, limit,
                                     static_cast<std::size_t>(c.integer("ingest.max_document_bytes")));
    if (!r) return failure(r.error().describe());
    if (as_json) {
        json failing = json::array();
        for (const auto& f : r->still_failing) failing.push_back({{"message_id", f.message_id}, {"error", f.error}});
        std::cout << json{{"applied", r->applied}, {"new_events", r->new_events}, {"still_failing", failing}}.dump()
                  << "\n";
    } else {
        std::cout << "applied " << r->applied << " dead letter(s) to the store (" << r->new_events
                  << " new event(s))\n";
        for (const auto& f : r->still_failing)
            std::cout << "still failing: " << f.message_id << ": " << f.error << "\n";
    }
    return r->still_failing.empty() ? k_exit_ok : 2;
}

}  // namespace mailtrack::cli
