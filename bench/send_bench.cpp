// Send throughput (issue 5, section 7): emails/s through the real sending path -- validation,
// suppression check, GMime MIME build, the send recorded in an on-disk SQLite store before the
// call, the signed SES v2 SendEmail over libcurl, the message id recorded after -- against the SES
// endpoint in the environment (aws-ses-v2-local via bench/send_bench.py), paced by whatever
// GetAccount reports (the wrapper lifts it). Reports wall sends/s and this process's CPU per send
// (getrusage: user + system). Not a test; it fails only when a send fails.
//
//   send_bench [--emails N] [--mode single|bulk] [--template NAME] [--dir D] [--warmup N]
// Configuration comes from MAILTRACK_* variables (e.g. MAILTRACK_AWS_SESV2_ENDPOINT_URL,
// MAILTRACK_SENDING_SANDBOX_EVENTS=true with MAILTRACK_SNS_EVENTS_TOPIC_ARN).

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailtrack/app/aws_services.hpp"
#include "mailtrack/app/sending.hpp"
#include "mailtrack/app/store_factory.hpp"
#include "mailtrack/config/config.hpp"

extern char** environ;

namespace {

using namespace mailtrack;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "send_bench: %s\n", why.c_str());
    std::exit(1);
}

double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

sender::SendRequest request(std::size_t i) {
    sender::SendRequest r;
    r.from = "Bench <bench@example.com>";
    r.to = {"success+b" + std::to_string(i) + "@simulator.amazonses.com"};
    r.subject = "Benchmark message " + std::to_string(i) + " ✓";
    r.text = "Hello,\n\nthis is benchmark message " + std::to_string(i) + ".\n";
    r.html = "<p>Hello,</p><p>this is benchmark message " + std::to_string(i) +
             ". <a href=\"https://example.com/\">link</a></p>";
    r.tags = {{"campaign", "bench"}};
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t emails = 2000, warmup = 20;
    std::string mode = "single", template_name = "bench-template", dir = std::filesystem::temp_directory_path();
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const auto next = [&]() -> std::string {
            if (i + 1 >= argc) die(std::string(a) + " needs a value");
            return argv[++i];
        };
        if (a == "--emails")
            emails = std::stoul(next());
        else if (a == "--warmup")
            warmup = std::stoul(next());
        else if (a == "--mode")
            mode = next();
        else if (a == "--template")
            template_name = next();
        else if (a == "--dir")
            dir = next();
        else
            die("unknown argument " + std::string(a));
    }
    if (mode != "single" && mode != "bulk") die("--mode single|bulk");

    std::vector<std::pair<std::string, std::string>> env;
    for (char** e = environ; *e; ++e) {
        const std::string_view kv(*e);
        const auto eq = kv.find('=');
        if (eq != std::string_view::npos) env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    const std::string db = dir + "/send_bench-" + std::to_string(::getpid()) + ".db";
    auto c = config::Config::load(std::nullopt, env, {"store.sqlite_path=" + db, "log.level=warn"});
    if (!c) die(c.error().describe());
    auto store = app::open_store(*c);
    if (!store) die(store.error().describe());
    auto aws = app::make_aws_services(*c, aws::process_environment());
    if (!aws) die(aws.error().describe());
    auto options = app::sender_options(*c);
    if (!options) die(options.error().describe());
    auto sending = app::make_sending(**store, **aws, 42, *options);
    if (c->boolean("sending.sandbox_events")) {
        if (auto r = app::enable_sandbox_events(sending, **aws, *c); !r) die(r.error().describe());
    }
    std::printf("mode %s, %zu emails, max send rate %.0f/s (%s), sandbox events %s, bulk concurrency %d\n",
                mode.c_str(), emails, sending.max_send_rate, sending.rate_source.c_str(),
                c->boolean("sending.sandbox_events") ? "on" : "off", options->bulk_concurrency);

    double wall = 0, cpu = 0;
    if (mode == "single") {
        for (std::size_t i = 0; i < warmup; ++i) {
            if (auto r = sending.sender->send(request(1'000'000 + i)); !r) die("warm-up send: " + r.error().message);
        }
        const double cpu0 = cpu_seconds();
        const auto t0 = Clock::now();
        for (std::size_t i = 0; i < emails; ++i) {
            auto r = sending.sender->send(request(i));
            if (!r) die("send " + std::to_string(i) + ": " + r.error().message);
            if (!r->warnings.empty()) die("send " + std::to_string(i) + ": " + r->warnings.front());
        }
        wall = std::chrono::duration<double>(Clock::now() - t0).count();
        cpu = cpu_seconds() - cpu0;
    } else {
        sender::BulkRequest req;
        req.from = "bench@example.com";
        req.template_name = template_name;
        req.file_key = "bench-" + std::to_string(::getpid());
        for (std::size_t i = 0; i < emails; ++i) {
            req.rows.push_back({i + 1,
                                "success+b" + std::to_string(i) + "@simulator.amazonses.com",
                                "{\"name\":\"Row " + std::to_string(i) + "\"}",
                                {}});
        }
        const double cpu0 = cpu_seconds();
        const auto t0 = Clock::now();
        const auto results = sending.sender->send_bulk(req);
        wall = std::chrono::duration<double>(Clock::now() - t0).count();
        cpu = cpu_seconds() - cpu0;
        for (const auto& r : results) {
            if (r.outcome != sender::BulkOutcome::sent || !r.detail.empty()) {
                die("row " + std::to_string(r.line) + ": " + std::string(sender::to_string(r.outcome)) + " " +
                    r.detail);
            }
        }
    }
    std::printf("sent %zu in %.2f s: %.0f sends/s; CPU %.3f ms per send (this process, user+sys)\n", emails, wall,
                static_cast<double>(emails) / wall, cpu * 1000 / static_cast<double>(emails));
    store->reset();
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
    return 0;
}
