// Event-core benchmark (issue 2, section 7): events/s on one core for parse-only and for
// parse+apply into a fresh on-disk SQLite file (WAL, synchronous=NORMAL, raw JSON archived),
// through the same Ingestor the CLI and the worker use. Not a test: it reports, it does not
// judge speed. It does check that the counts add up, so the smoke test can run it.
//
//   ingest_bench [--events N] [--batch B] [--seed S] [--zstd-level L] [--repeat R]
//                [--dir D] [--mode parse|apply|both] [--keep]
//                [--mysql-url mysql://user@host:port/prefix?ssl-mode=DISABLED] [--writers W]
//
// With --mysql-url the apply goes to MySQL/MariaDB instead (password from
// MAILTRACK_MYSQL_PASSWORD): a fresh database <prefix>_<pid>_<round> per run, dropped after
// unless --keep, and --writers threads each ingesting a contiguous share of the events through
// its own Ingestor over one MysqlStore (pool of W connections), as W workers would.

#include <mysql.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "mailtrack/ingest/ingestor.hpp"
#include "mailtrack/ses/event_parser.hpp"
#include "mailtrack/store/mysql_store.hpp"
#include "mailtrack/store/sqlite_store.hpp"

#include "event_factory.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
    std::size_t events = 200'000;
    std::size_t batch = 512;
    std::uint32_t seed = 42;
    int zstd_level = 1;
    int cache_kib = 2048;
    mailtrack::store::SqliteSync synchronous = mailtrack::store::SqliteSync::full;  // the store's default
    int repeat = 3;
    std::string dir;  // where the temp database goes; the system temp dir when empty
    bool parse = true;
    bool apply = true;
    bool keep = false;      // keep the last run's database for inspection
    std::string mysql_url;  // apply into MySQL/MariaDB instead of SQLite
    int writers = 1;        // concurrent ingesting threads (MySQL only)
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(
        stderr,
        "ingest_bench: %s\n"
        "usage: ingest_bench [--events N] [--batch B] [--seed S] [--zstd-level L] [--cache-kib K] [--repeat R]\n"
        "                    [--dir D] [--mode parse|apply|both] [--synchronous full|normal] [--keep]\n"
        "                    [--mysql-url URL] [--writers W]\n",
        why);
    std::exit(64);
}

template <typename T>
T number(std::string_view flag, std::string_view text) {
    T v{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) {
        usage((std::string(flag) + " wants a number, got \"" + std::string(text) + "\"").c_str());
    }
    return v;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--help" || flag == "-h") usage("help");
        if (flag == "--keep") {
            o.keep = true;
            continue;
        }
        if (i + 1 >= argc) usage((std::string(flag) + " needs a value").c_str());
        const std::string_view value = argv[++i];
        if (flag == "--events")
            o.events = number<std::size_t>(flag, value);
        else if (flag == "--batch")
            o.batch = number<std::size_t>(flag, value);
        else if (flag == "--seed")
            o.seed = number<std::uint32_t>(flag, value);
        else if (flag == "--zstd-level")
            o.zstd_level = number<int>(flag, value);
        else if (flag == "--cache-kib")
            o.cache_kib = number<int>(flag, value);
        else if (flag == "--repeat")
            o.repeat = number<int>(flag, value);
        else if (flag == "--dir")
            o.dir = value;
        else if (flag == "--mysql-url")
            o.mysql_url = value;
        else if (flag == "--writers")
            o.writers = number<int>(flag, value);
        else if (flag == "--synchronous") {
            if (value != "full" && value != "normal") usage("--synchronous is full or normal");
            o.synchronous = value == "full" ? mailtrack::store::SqliteSync::full : mailtrack::store::SqliteSync::normal;
        } else if (flag == "--mode") {
            if (value != "parse" && value != "apply" && value != "both") usage("--mode is parse, apply or both");
            o.parse = value != "apply";
            o.apply = value != "parse";
        } else {
            usage(("unknown option " + std::string(flag)).c_str());
        }
    }
    if (o.events == 0 || o.batch == 0 || o.repeat < 1) usage("--events, --batch and --repeat must be positive");
    if (o.writers < 1 || (o.writers > 1 && o.mysql_url.empty()))
        usage("--writers is 1 or more, and only with --mysql-url");
    return o;
}

// Wall time and this thread's CPU time. On a shared machine the CPU time is the steadier
// figure: it leaves out the time other processes held the core.
struct Stopwatch {
    Clock::time_point wall = Clock::now();
    double cpu = thread_cpu();

    static double thread_cpu() {
        timespec ts{};
        ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    }
    static std::pair<double, double> user_sys() {
        rusage u{};
        ::getrusage(RUSAGE_THREAD, &u);
        auto sec = [](const timeval& t) {
            return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
        };
        return {sec(u.ru_utime), sec(u.ru_stime)};
    }
    std::pair<double, double> start_user_sys = user_sys();

    double wall_seconds() const { return std::chrono::duration<double>(Clock::now() - wall).count(); }
    double cpu_seconds() const { return thread_cpu() - cpu; }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string joined(const std::vector<double>& v) {
    std::string out;
    for (const double x : v) {
        if (!out.empty()) out += ", ";
        out += std::to_string(static_cast<long long>(x));
    }
    return out;
}

// Whole emails until at least n events, then cut to exactly n.
std::vector<std::string> make_events(std::size_t n, std::uint32_t seed) {
    std::vector<std::string> docs = mailtrack::testing::realistic_stream(n / 2 + 16, seed, true);
    while (docs.size() < n) {
        auto more =
            mailtrack::testing::realistic_stream(n / 2 + 16, seed + static_cast<std::uint32_t>(docs.size()), true);
        docs.insert(docs.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
    docs.resize(n);
    return docs;
}

struct ParseRun {
    double seconds = 0;
    double cpu_seconds = 0;
    std::size_t ok = 0;
    std::size_t raw_json_bytes = 0;
};

ParseRun run_parse(const std::vector<std::string>& docs) {
    mailtrack::ses::EventParser parser;
    ParseRun r;
    // Parsed as the Ingestor does: into events kept for reuse, a batch of them.
    std::vector<mailtrack::core::SesEvent> batch(512);
    std::size_t slot = 0;
    const Stopwatch watch;
    for (const std::string& d : docs) {
        mailtrack::core::SesEvent& ev = batch[slot];
        slot = (slot + 1) % batch.size();
        if (parser.parse_into(d, ev)) {
            ++r.ok;
            r.raw_json_bytes += ev.raw_json.size();
        }
    }
    r.seconds = watch.wall_seconds();
    r.cpu_seconds = watch.cpu_seconds();
    return r;
}

struct ApplyRun {
    double seconds = 0;
    double cpu_seconds = 0;
    double user_seconds = 0;
    double sys_seconds = 0;
    mailtrack::ingest::IngestReport report;
    mailtrack::store::StoreInfo info;
    std::uintmax_t db_bytes = 0;
};

int run_apply_mysql(const Options& o, const std::vector<std::string>& docs, int round, ApplyRun& out) {
    out = ApplyRun{};
    auto options = mailtrack::store::parse_mysql_url(o.mysql_url);
    if (!options) {
        std::fprintf(stderr, "ingest_bench: %s\n", options.error().describe().c_str());
        return 1;
    }
    if (const char* pw = std::getenv("MAILTRACK_MYSQL_PASSWORD")) options->password = pw;
    options->database += "_" + std::to_string(::getpid()) + "_" + std::to_string(round);
    options->create_database = true;
    options->archive_zstd_level = o.zstd_level;
    options->pool_size = o.writers;
    auto store = mailtrack::store::MysqlStore::open(*options);
    if (!store) {
        std::fprintf(stderr, "ingest_bench: %s\n", store.error().describe().c_str());
        return 1;
    }
    std::vector<mailtrack::ingest::IngestReport> reports(static_cast<std::size_t>(o.writers));
    std::vector<std::string> errors(static_cast<std::size_t>(o.writers));
    auto process_cpu = [] {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        auto sec = [](const timeval& t) {
            return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
        };
        return std::pair(sec(u.ru_utime), sec(u.ru_stime));
    };
    const auto cpu_before = process_cpu();
    const Stopwatch watch;
    {
        std::vector<std::jthread> threads;
        const std::size_t share =
            (docs.size() + static_cast<std::size_t>(o.writers) - 1) / static_cast<std::size_t>(o.writers);
        for (std::size_t w = 0; w < static_cast<std::size_t>(o.writers); ++w) {
            threads.emplace_back([&, w] {
                mailtrack::ingest::Ingestor ingestor(**store, o.batch,
                                                     mailtrack::ses::EventParser::k_default_max_document_bytes);
                for (std::size_t i = w * share; i < std::min(docs.size(), (w + 1) * share); ++i) {
                    if (auto r = ingestor.add(docs[i], "bench"); !r) {
                        errors[w] = r.error().describe();
                        return;
                    }
                }
                if (auto r = ingestor.flush(); !r) errors[w] = r.error().describe();
                reports[w] = ingestor.report();
            });
        }
    }
    out.seconds = watch.wall_seconds();
    // Every writer's CPU (this process only; the server's is not counted).
    const auto cpu_after = process_cpu();
    out.user_seconds = cpu_after.first - cpu_before.first;
    out.sys_seconds = cpu_after.second - cpu_before.second;
    out.cpu_seconds = out.user_seconds + out.sys_seconds;
    for (const auto& e : errors) {
        if (!e.empty()) {
            std::fprintf(stderr, "ingest_bench: %s\n", e.c_str());
            return 1;
        }
    }
    for (const auto& r : reports) {
        out.report.documents += r.documents;
        out.report.applied += r.applied;
        out.report.duplicates += r.duplicates;
        out.report.unknown += r.unknown;
        out.report.rejected += r.rejected;
        out.report.batches += r.batches;
    }
    auto info = (*store)->info();
    if (!info) {
        std::fprintf(stderr, "ingest_bench: %s\n", info.error().describe().c_str());
        return 1;
    }
    out.info = *info;
    std::printf("              round %d: %.2f s wall, %lld transaction retries\n", round, out.seconds,
                static_cast<long long>((*store)->transaction_retries()));
    store->reset();
    // Size on the server (InnoDB's estimate), then drop the database so rounds start alike.
    MYSQL* raw = mysql_init(nullptr);
    if (mysql_real_connect(raw, options->host.c_str(), options->user.c_str(), options->password.c_str(), nullptr,
                           options->port, nullptr, 0) != nullptr) {
        const std::string size =
            "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
            "WHERE table_schema = '" +
            options->database + "'";
        if (mysql_query(raw, size.c_str()) == 0) {
            if (MYSQL_RES* res = mysql_store_result(raw)) {
                if (MYSQL_ROW row = mysql_fetch_row(res); row != nullptr && row[0] != nullptr) {
                    out.db_bytes = std::strtoull(row[0], nullptr, 10);
                }
                mysql_free_result(res);
            }
        }
        if (o.keep && round == o.repeat - 1) {
            std::printf("database kept: %s\n", options->database.c_str());
        } else if (mysql_query(raw, ("DROP DATABASE `" + options->database + "`").c_str()) != 0) {
            std::fprintf(stderr, "ingest_bench: dropping %s: %s\n", options->database.c_str(), mysql_error(raw));
        }
    }
    mysql_close(raw);
    return 0;
}

int run_apply(const Options& o, const std::vector<std::string>& docs, int round, ApplyRun& out) {
    if (!o.mysql_url.empty()) return run_apply_mysql(o, docs, round, out);
    out = ApplyRun{};
    const fs::path dir = o.dir.empty() ? fs::temp_directory_path() : fs::path(o.dir);
    const fs::path db = dir / ("mailtrack-bench-" + std::to_string(::getpid()) + "-" + std::to_string(round) + ".db");
    auto remove_db = [&db] {
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix, ec);
    };
    remove_db();
    {
        mailtrack::store::SqliteOptions so;
        so.path = db.string();
        so.archive_zstd_level = o.zstd_level;
        so.cache_kib = o.cache_kib;
        so.synchronous = o.synchronous;
        auto store = mailtrack::store::SqliteStore::open(so);
        if (!store) {
            std::fprintf(stderr, "ingest_bench: %s\n", store.error().describe().c_str());
            return 1;
        }
        mailtrack::ingest::Ingestor ingestor(**store, o.batch,
                                             mailtrack::ses::EventParser::k_default_max_document_bytes);
        const Stopwatch watch;
        for (const std::string& d : docs) {
            if (auto r = ingestor.add(d, "bench"); !r) {
                std::fprintf(stderr, "ingest_bench: %s\n", r.error().describe().c_str());
                return 1;
            }
        }
        if (auto r = ingestor.flush(); !r) {
            std::fprintf(stderr, "ingest_bench: %s\n", r.error().describe().c_str());
            return 1;
        }
        out.seconds = watch.wall_seconds();
        out.cpu_seconds = watch.cpu_seconds();
        const auto [user, sys] = Stopwatch::user_sys();
        out.user_seconds = user - watch.start_user_sys.first;
        out.sys_seconds = sys - watch.start_user_sys.second;
        out.report = ingestor.report();
        auto info = (*store)->info();
        if (!info) {
            std::fprintf(stderr, "ingest_bench: %s\n", info.error().describe().c_str());
            return 1;
        }
        out.info = *info;
    }
    // Closing the last connection checkpoints the WAL into the main file and removes it.
    std::error_code ec;
    for (const char* suffix : {"", "-wal"}) {
        const auto size = fs::file_size(db.string() + suffix, ec);
        if (!ec) out.db_bytes += size;
    }
    if (o.keep && round == o.repeat - 1)
        std::printf("database kept: %s\n", db.c_str());
    else
        remove_db();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);

    std::size_t doc_bytes = 0;
    const std::vector<std::string> docs = make_events(o.events, o.seed);
    for (const std::string& d : docs) doc_bytes += d.size();
    const auto [smallest, largest] =
        std::minmax_element(docs.begin(), docs.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
    std::printf(
        "events: %zu SNS-wrapped documents, %.0f bytes on average (%zu..%zu), seed %u, batch %zu, zstd level %d\n",
        docs.size(), static_cast<double>(doc_bytes) / static_cast<double>(docs.size()), smallest->size(),
        largest->size(), o.seed, o.batch, o.zstd_level);

    int failures = 0;
    const auto n = static_cast<double>(docs.size());
    if (o.parse) {
        std::vector<double> rates, cpu_rates;
        ParseRun last;
        for (int i = 0; i < o.repeat; ++i) {
            last = run_parse(docs);
            rates.push_back(n / last.seconds);
            cpu_rates.push_back(n / last.cpu_seconds);
        }
        std::printf("parse-only:   median %.0f events/s wall (%.1f MB/s of documents)  runs: %s\n", median(rates),
                    median(rates) * static_cast<double>(doc_bytes) / n / 1e6, joined(rates).c_str());
        std::printf("              median %.0f events/s per CPU-second  runs: %s\n", median(cpu_rates),
                    joined(cpu_rates).c_str());
        std::printf("              SES JSON after unwrapping and minifying: %.0f bytes/event\n",
                    static_cast<double>(last.raw_json_bytes) / n);
        if (last.ok != docs.size()) {
            std::fprintf(stderr, "ingest_bench: only %zu of %zu documents parsed\n", last.ok, docs.size());
            ++failures;
        }
    }
    if (o.apply) {
        std::vector<double> rates, cpu_rates;
        ApplyRun last;
        for (int i = 0; i < o.repeat; ++i) {
            if (run_apply(o, docs, i, last) != 0) return 1;
            rates.push_back(n / last.seconds);
            cpu_rates.push_back(n / last.cpu_seconds);
        }
        const auto& r = last.report;
        const auto& info = last.info;
        std::printf("parse+apply:  median %.0f events/s wall  runs: %s  (%s, %d writer(s))\n", median(rates),
                    joined(rates).c_str(), o.mysql_url.empty() ? "SQLite" : "MySQL", o.writers);
        std::printf("              median %.0f events/s per CPU-second  runs: %s\n", median(cpu_rates),
                    joined(cpu_rates).c_str());
        std::printf("              last run: %.2f s wall, %.2f s user, %.2f s system\n", last.seconds,
                    last.user_seconds, last.sys_seconds);
        std::printf("              applied %lld, unknown %lld, duplicates %lld, rejected %lld in %lld batches\n",
                    static_cast<long long>(r.applied), static_cast<long long>(r.unknown),
                    static_cast<long long>(r.duplicates), static_cast<long long>(r.rejected),
                    static_cast<long long>(r.batches));
        std::printf("archive:      %lld bytes raw -> %lld stored (ratio %.2f)\n",
                    static_cast<long long>(info.archived_raw_bytes), static_cast<long long>(info.archived_stored_bytes),
                    info.archived_stored_bytes > 0
                        ? static_cast<double>(info.archived_raw_bytes) / static_cast<double>(info.archived_stored_bytes)
                        : 0.0);
        std::printf("database:     %ju bytes, %.0f bytes/event\n", last.db_bytes,
                    static_cast<double>(last.db_bytes) / n);
        const auto stored = r.applied + r.unknown;
        if (r.rejected != 0 || stored + r.duplicates != static_cast<std::int64_t>(docs.size()) ||
            info.events != stored || r.documents != static_cast<std::int64_t>(docs.size())) {
            std::fprintf(stderr, "ingest_bench: counts do not add up (documents %lld, events stored %lld)\n",
                         static_cast<long long>(r.documents), static_cast<long long>(info.events));
            ++failures;
        }
    }
    return failures == 0 ? 0 : 1;
}
