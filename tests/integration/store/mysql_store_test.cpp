// What only a real MySQL server shows: several connections writing overlapping batches at
// once (precedence kept in SQL, deadlocks retried), and the server going away mid-run.
// Runs under tests/support/peers.py --mariadb.

#include "mailtrack/store/mysql_store.hpp"

#include <gtest/gtest.h>
#include <mysql.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "mailtrack/store/sqlite_store.hpp"

#include "event_factory.hpp"
#include "nlohmann/json.hpp"
#include "store_test_support.hpp"

extern char** environ;

namespace mailtrack::store {
namespace {

using core::EventType;

const std::vector<std::string> k_addresses = {"a@x.io", "B@x.io", "c@y.org", "d@y.org"};

// Few messages and few distinct timestamps: writers collide on the same rows and the joins'
// tie-breaks decide often.
// A plain client connection beside the store, for what a test does behind its back.
class RawConnection {
public:
    RawConnection(const MysqlOptions& o, const std::string& database) : m_db(mysql_init(nullptr)) {
        if (mysql_real_connect(m_db, o.host.c_str(), o.user.c_str(), o.password.c_str(), database.c_str(), o.port,
                               nullptr, 0) == nullptr) {
            m_connect_error = mysql_error(m_db);
        }
    }
    ~RawConnection() { mysql_close(m_db); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    // Empty once connected, else the client library's reason.
    const std::string& connect_error() const { return m_connect_error; }
    // Runs one statement: empty on success, else the server's error.
    std::string query(const std::string& sql) {
        const int rc = mysql_query(m_db, sql.c_str());
        if (MYSQL_RES* res = mysql_store_result(m_db)) mysql_free_result(res);
        return rc == 0 ? std::string() : std::string(mysql_error(m_db));
    }
    // The first column of every row a query returns (SQL NULL as ""); empty after an error,
    // which is recorded as a test failure.
    std::vector<std::string> column(const std::string& sql) {
        std::vector<std::string> out;
        if (mysql_query(m_db, sql.c_str()) != 0) {
            ADD_FAILURE() << sql << ": " << mysql_error(m_db);
            return out;
        }
        MYSQL_RES* res = mysql_store_result(m_db);
        if (res == nullptr) return out;
        while (MYSQL_ROW row = mysql_fetch_row(res)) out.emplace_back(row[0] != nullptr ? row[0] : "");
        mysql_free_result(res);
        return out;
    }

private:
    MYSQL* m_db;
    std::string m_connect_error;
};

std::vector<std::string> contended_events(std::size_t count, std::uint32_t seed,
                                          std::vector<std::string>& message_ids) {
    std::mt19937 rng(seed);
    message_ids.clear();
    for (int i = 0; i < 6; ++i) message_ids.push_back("msg-" + std::to_string(i));
    std::vector<std::string> docs;
    for (std::size_t i = 0; i < count; ++i) {
        testing::EventSpec s;
        const std::size_t m = rng() % message_ids.size();
        s.message_id = message_ids[m];
        s.destination.assign(k_addresses.begin(), k_addresses.begin() + static_cast<std::ptrdiff_t>(1 + m % 4));
        s.type = static_cast<EventType>(rng() % (core::k_event_type_count - 1));
        s.affected = {s.destination[rng() % s.destination.size()]};
        s.mail_timestamp = 1'700'000'000'000;
        s.timestamp = s.mail_timestamp + 1000 * static_cast<util::UnixMillis>(rng() % 4);
        s.bounce_type = std::vector<std::string>{"Permanent", "Transient", "Undetermined"}[rng() % 3];
        s.variant = static_cast<int>(i);
        docs.push_back(testing::ses_json(s));
    }
    return docs;
}

TEST(MysqlStore, ConcurrentWritersEndInTheStateOfOneSequentialApply) {
    std::vector<std::string> message_ids;
    const auto events = test::parse_all(contended_events(1200, 7, message_ids));
    ASSERT_EQ(events.size(), 1200u);

    // Reference: SQLite, every event once, one batch.
    auto reference = SqliteStore::open({":memory:", 1000, 1});
    ASSERT_TRUE(reference);
    ASSERT_TRUE((*reference)->apply(events));

    // Trial: four writers on their own connections, each the whole stream plus a third of it
    // again (duplicates across writers and within), shuffled differently, in batches of 1-40.
    const std::string database = test::fresh_database_name();
    auto setup = MysqlStore::open(test::mysql_options(database));
    ASSERT_TRUE(setup) << setup.error().describe();
    constexpr int k_writers = 4;
    std::atomic<std::int64_t> applied{0}, duplicates{0}, total{0}, retries{0};
    std::vector<std::string> failures(k_writers);
    std::vector<std::thread> threads;
    for (int w = 0; w < k_writers; ++w) {
        threads.emplace_back([&, w] {
            auto store = MysqlStore::open(test::mysql_options(database));
            if (!store) {
                failures[static_cast<std::size_t>(w)] = store.error().describe();
                return;
            }
            std::mt19937 rng(static_cast<std::uint32_t>(100 + w));
            std::vector<core::SesEvent> mine = events;
            for (std::size_t i = 0; i < events.size() / 3; ++i) mine.push_back(events[rng() % events.size()]);
            std::shuffle(mine.begin(), mine.end(), rng);
            total += static_cast<std::int64_t>(mine.size());
            for (std::size_t i = 0; i < mine.size();) {
                const std::size_t n = std::min<std::size_t>(mine.size() - i, 1 + rng() % 40);
                auto r = (*store)->apply(std::span(mine).subspan(i, n));
                if (!r) {
                    failures[static_cast<std::size_t>(w)] = r.error().describe();
                    return;
                }
                applied += r->applied + r->unknown;
                duplicates += r->duplicates;
                i += n;
            }
            retries += (*store)->transaction_retries();
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& f : failures) EXPECT_EQ(f, "");
    std::set<std::pair<std::string, core::EventId>> unique;
    for (const auto& e : events) unique.emplace(e.mail.message_id, e.id);
    // Every identity applied exactly once across all writers; everything else was a duplicate.
    EXPECT_EQ(applied.load(), static_cast<std::int64_t>(unique.size()));
    EXPECT_EQ(duplicates.load(), total.load() - static_cast<std::int64_t>(unique.size()));

    const auto want = test::snapshot(**reference, message_ids, k_addresses);
    const auto got = test::snapshot(**setup, message_ids, k_addresses);
    EXPECT_EQ(got.messages, want.messages);
    EXPECT_EQ(got.recipients, want.recipients);
    EXPECT_EQ(got.suppressions, want.suppressions);
    EXPECT_EQ(got.soft_bounces, want.soft_bounces);
    auto info = (*setup)->info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->events, static_cast<std::int64_t>(unique.size()));
    std::cout << "transaction retries (deadlocks / lock waits): " << retries.load() << "\n";
}

// A Send and, a second later, the Delivery of a one-recipient message.
std::pair<std::vector<core::SesEvent>, std::vector<core::SesEvent>> send_then_delivery(const std::string& message_id) {
    testing::EventSpec spec;
    spec.message_id = message_id;
    spec.destination = {"a@x.io"};
    spec.affected = {"a@x.io"};
    spec.mail_timestamp = 1'700'000'000'000;
    spec.timestamp = spec.mail_timestamp;
    spec.type = EventType::send;
    auto send = test::parse_all({testing::ses_json(spec)});
    spec.type = EventType::delivery;
    spec.timestamp += 1000;
    return {std::move(send), test::parse_all({testing::ses_json(spec)})};
}

// RDS rotates a managed master password under running processes: once the server refuses the
// old one, the store reads the secret again (refresh_password) and reconnects with the new one.
TEST(MysqlStore, ARotatedPasswordIsReadAgainWhenTheServerRefusesTheOldOne) {
    const std::string database = test::fresh_database_name();
    const auto admin_opts = test::mysql_options(database);
    auto admin_store = MysqlStore::open(admin_opts);  // creates and migrates the database
    ASSERT_TRUE(admin_store) << admin_store.error().describe();
    RawConnection admin(admin_opts, database);
    ASSERT_EQ(admin.connect_error(), "");
    auto q = [&](const std::string& sql) { return admin.query(sql); };
    const std::string user = "rot_" + database;
    ASSERT_EQ(q("CREATE USER '" + user + "'@'127.0.0.1' IDENTIFIED BY 'pw-1'"), "");
    ASSERT_EQ(q("GRANT ALL ON `" + database + "`.* TO '" + user + "'@'127.0.0.1'"), "");

    std::string secret = "pw-1";  // what Secrets Manager holds
    int refreshes = 0;
    auto opts = admin_opts;
    opts.user = user;
    opts.password = "pw-1";
    opts.pool_size = 1;
    opts.create_database = false;
    opts.refresh_password = [&]() -> util::Result<std::string> {
        ++refreshes;
        return secret;
    };
    auto store = MysqlStore::open(opts);
    ASSERT_TRUE(store) << store.error().describe();
    const auto events = send_then_delivery("msg-rotation");
    const std::vector<core::SesEvent>& delivery = events.second;
    ASSERT_TRUE((*store)->apply(events.first));
    EXPECT_EQ(refreshes, 0);

    // The rotation: new password on the server and in the secret; the store's connection is cut.
    ASSERT_EQ(q("ALTER USER '" + user + "'@'127.0.0.1' IDENTIFIED BY 'pw-2'"), "");
    secret = "pw-2";
    {
        const auto ids = admin.column("SELECT id FROM information_schema.processlist WHERE user = '" + user + "'");
        ASSERT_FALSE(ids.empty());
        for (const auto& id : ids) EXPECT_EQ(q("KILL CONNECTION " + id), "");
    }
    util::Result<ApplyResult> applied = util::Unexpected(util::Error{});
    for (int attempt = 0; attempt < 3 && !applied; ++attempt) {
        applied = (*store)->apply(delivery);  // the first may find its connection gone (unavailable)
        if (!applied) {
            EXPECT_EQ(applied.error().kind, util::ErrorKind::storage_unavailable) << applied.error().describe();
        }
    }
    ASSERT_TRUE(applied) << applied.error().describe();
    EXPECT_EQ(applied->applied, 1);
    EXPECT_EQ(refreshes, 1);

    // A secret that was not rotated (the password is simply wrong): the refusal is the error.
    ASSERT_EQ(q("ALTER USER '" + user + "'@'127.0.0.1' IDENTIFIED BY 'pw-3'"), "");
    auto stale = opts;
    stale.password = "pw-2";
    auto refused = MysqlStore::open(stale);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("Access denied"), std::string::npos) << refused.error().describe();
}

// The worker deletes SQS messages once their batch commits, so a server that does not make
// each commit durable is worth a warning: the store says so at open (and logs it). With the
// binary log on, a commit is durable only when both the redo log and the binary log are synced.
TEST(MysqlStore, SaysWhenTheServerDoesNotMakeEachCommitDurable) {
    const std::string database = test::fresh_database_name();
    const auto opts = test::mysql_options(database);
    auto first = MysqlStore::open(opts);  // creates the database
    ASSERT_TRUE(first) << first.error().describe();
    RawConnection admin(opts, database);
    ASSERT_EQ(admin.connect_error(), "");
    ASSERT_EQ(admin.column("SELECT @@GLOBAL.log_bin"), std::vector<std::string>{"1"})
        << "the test server runs without the binary log (peers.py starts it with --log-bin)";
    const auto flush_before = admin.column("SELECT @@GLOBAL.innodb_flush_log_at_trx_commit");
    const auto sync_before = admin.column("SELECT @@GLOBAL.sync_binlog");
    ASSERT_EQ(flush_before.size(), 1u);
    ASSERT_EQ(sync_before.size(), 1u);
    // The test server's own settings (peers.py starts it with 2 and 0, for speed) are put back
    // however the test ends: the other tests share the server.
    struct Restore {
        RawConnection& admin;
        std::string flush, sync;
        ~Restore() {
            EXPECT_EQ(admin.query("SET GLOBAL innodb_flush_log_at_trx_commit = " + flush), "");
            EXPECT_EQ(admin.query("SET GLOBAL sync_binlog = " + sync), "");
        }
    } restore{admin, flush_before.front(), sync_before.front()};
    struct Case {
        const char* flush;
        const char* sync_binlog;
        const char* expected;  // part of the warning, or nullptr for none
    };
    for (const Case& c : {Case{"2", "1", "innodb_flush_log_at_trx_commit is 2, not 1"},
                          Case{"1", "0", "sync_binlog is 0, not 1, with the binary log on"}, Case{"1", "1", nullptr}}) {
        SCOPED_TRACE(std::string("flush ") + c.flush + ", sync_binlog " + c.sync_binlog);
        ASSERT_EQ(admin.query(std::string("SET GLOBAL innodb_flush_log_at_trx_commit = ") + c.flush), "");
        ASSERT_EQ(admin.query(std::string("SET GLOBAL sync_binlog = ") + c.sync_binlog), "");
        auto store = MysqlStore::open(opts);
        ASSERT_TRUE(store) << store.error().describe();
        if (c.expected == nullptr) {
            EXPECT_FALSE((*store)->durability_warning().has_value()) << *(*store)->durability_warning();
        } else {
            ASSERT_TRUE((*store)->durability_warning().has_value());
            EXPECT_NE((*store)->durability_warning()->find(c.expected), std::string::npos)
                << *(*store)->durability_warning();
        }
    }
}

// A deadlock made on purpose: another transaction holds the message row and then inserts the
// event row the store has just inserted. InnoDB rolls back the smaller transaction -- the
// store's -- which must restart by itself and succeed once the other one is gone.
TEST(MysqlStore, ADeadlockVictimTransactionIsRetriedNotSurfaced) {
    const std::string database = test::fresh_database_name();
    const auto opts = test::mysql_options(database);
    auto store = MysqlStore::open(opts);
    ASSERT_TRUE(store) << store.error().describe();
    const auto events = send_then_delivery("msg-deadlock");
    const std::vector<core::SesEvent>& delivery = events.second;
    ASSERT_TRUE((*store)->apply(events.first));
    ASSERT_EQ(delivery.size(), 1u);

    auto raw = std::make_unique<RawConnection>(opts, database);
    ASSERT_EQ(raw->connect_error(), "");
    auto q = [&](const std::string& sql) { return raw->query(sql); };
    ASSERT_EQ(q("START TRANSACTION"), "");
    // The bigger transaction (InnoDB picks the smaller one as the victim).
    std::string many = "INSERT INTO address_stats (address, soft_bounces) VALUES ";
    for (int i = 0; i < 3000; ++i) many += (i ? ",('" : "('") + std::to_string(i) + "@filler.example', 0)";
    ASSERT_EQ(q(many), "");
    ASSERT_EQ(q("SELECT * FROM messages WHERE message_id = 'msg-deadlock' FOR UPDATE"), "");

    util::Result<ApplyResult> applied = util::Unexpected(util::Error{});
    std::thread writer([&] { applied = (*store)->apply(delivery); });
    // The store has inserted the event row and waits for the message row; now want its event row.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    std::string hex;
    for (auto b : delivery[0].id.bytes) {
        static constexpr char k_digits[] = "0123456789ABCDEF";
        hex += k_digits[b >> 4];
        hex += k_digits[b & 15];
    }
    EXPECT_EQ(q("INSERT INTO events (message_id, event_id, type, type_name, occurred_at, archive_id, archive_offset, "
                "archive_length) VALUES ('msg-deadlock', X'" +
                hex + "', 4, 'Delivery', 0, 0, 0, 0)"),
              "");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(q("ROLLBACK"), "");
    writer.join();
    raw.reset();

    ASSERT_TRUE(applied) << applied.error().describe();
    EXPECT_EQ(applied->applied, 1);
    EXPECT_GE((*store)->transaction_retries(), 1);
    auto v = (*store)->message("msg-deadlock", false);
    ASSERT_TRUE(v && *v);
    EXPECT_EQ((*v)->message.status.status, core::RecipientStatus::delivered);
    EXPECT_EQ((*v)->message.event_count, 2);
}

// ---- the server going away ----

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
}

pid_t server_pid() {
    std::ifstream in(env("MAILTRACK_TEST_MARIADB_PIDFILE"));
    pid_t pid = 0;
    in >> pid;
    return pid;
}

void kill_server() {
    const pid_t pid = server_pid();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // Wait until it is gone or a zombie: peers.py, its parent, reaps it only at the end.
    auto running = [pid] {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        const auto close = text.rfind(')');
        return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
    };
    for (int i = 0; i < 200 && running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void start_server() {
    const auto cmd = nlohmann::json::parse(env("MAILTRACK_TEST_MARIADB_CMD")).get<std::vector<std::string>>();
    std::vector<char*> argv;
    for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, &attr, argv.data(), environ), 0);
    posix_spawnattr_destroy(&attr);
}

TEST(MysqlStore, RecoversAfterTheServerIsKilledAndRestartedWithoutReopening) {
    ASSERT_NE(env("MAILTRACK_TEST_MARIADB_CMD"), "");
    auto opts = test::mysql_options(test::fresh_database_name());
    opts.pool_size = 3;
    auto store = MysqlStore::open(opts);
    ASSERT_TRUE(store) << store.error().describe();
    const auto docs = testing::realistic_stream(60, 11, true);
    const auto events = test::parse_all(docs);
    const std::size_t half = events.size() / 2;
    ASSERT_TRUE((*store)->apply(std::span(events).subspan(0, half)));
    // Fill the pool with idle connections that will all be dead after the restart.
    {
        std::vector<std::thread> readers;
        for (int i = 0; i < 3; ++i) readers.emplace_back([&] { (void)(*store)->info(); });
        for (auto& t : readers) t.join();
    }

    kill_server();
    auto down = (*store)->apply(std::span(events).subspan(half));
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().kind, util::ErrorKind::storage_unavailable) << down.error().describe();
    auto still_down = (*store)->info();
    ASSERT_FALSE(still_down);
    EXPECT_EQ(still_down.error().kind, util::ErrorKind::storage_unavailable);

    start_server();
    // As the worker does: retry the same batch until the store takes it.
    util::Result<ApplyResult> up = util::Unexpected(util::Error{});
    for (int i = 0; i < 300; ++i) {
        up = (*store)->apply(std::span(events).subspan(half));
        if (up) break;
        ASSERT_EQ(up.error().kind, util::ErrorKind::storage_unavailable) << up.error().describe();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(up) << up.error().describe();
    // The failed attempt changed nothing: the second half is new, the first is all there.
    EXPECT_EQ(up->duplicates, 0);
    auto again = (*store)->apply(events);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->applied, 0);
    EXPECT_EQ(again->duplicates, static_cast<std::int64_t>(events.size()));
    auto info = (*store)->info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->events, static_cast<std::int64_t>(events.size()));
}

TEST(MysqlStore, WrongPasswordAndMissingServerAreClearErrors) {
    auto opts = test::mysql_options(test::fresh_database_name());
    opts.password = "not-the-password";
    auto denied = MysqlStore::open(opts);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind, util::ErrorKind::storage);
    EXPECT_NE(denied.error().message.find("Access denied"), std::string::npos) << denied.error().message;
    EXPECT_EQ(denied.error().message.find("not-the-password"), std::string::npos);

    auto nowhere = test::mysql_options(test::fresh_database_name());
    nowhere.port = 1;  // nothing listens on loopback port 1
    auto refused = MysqlStore::open(nowhere);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, util::ErrorKind::storage_unavailable) << refused.error().describe();
}

TEST(MysqlStore, TlsModesVerifyTheServerCertificateAndName) {
    auto with = [](MysqlSslMode mode, const std::string& ca, const std::string& host) {
        auto o = test::mysql_options(test::fresh_database_name());
        o.ssl_mode = mode;
        o.ssl_ca = ca;
        o.host = host;
        return MysqlStore::open(o);
    };
    const std::string ca = env("MAILTRACK_TEST_MYSQL_CA");
    const std::string other = env("MAILTRACK_TEST_MYSQL_OTHER_CA");
    ASSERT_FALSE(ca.empty());
    // The certificate is for IP 127.0.0.1, signed by the test CA.
    auto verified = with(MysqlSslMode::verify_identity, ca, "127.0.0.1");
    ASSERT_TRUE(verified) << verified.error().describe();
    auto applied = (*verified)->apply(test::parse_all(testing::realistic_stream(3, 5, false)));
    EXPECT_TRUE(applied) << (applied ? "" : applied.error().describe());
    auto verify_ca = with(MysqlSslMode::verify_ca, ca, "127.0.0.1");
    EXPECT_TRUE(verify_ca) << (verify_ca ? "" : verify_ca.error().describe());
    auto required = with(MysqlSslMode::required, "", "127.0.0.1");
    EXPECT_TRUE(required) << (required ? "" : required.error().describe());

    // A CA that did not sign it: refused, as configuration (retrying will not help).
    auto wrong_ca = with(MysqlSslMode::verify_identity, other, "127.0.0.1");
    ASSERT_FALSE(wrong_ca);
    EXPECT_EQ(wrong_ca.error().kind, util::ErrorKind::storage) << wrong_ca.error().describe();
    EXPECT_NE(wrong_ca.error().message.find("VERIFY_IDENTITY"), std::string::npos) << wrong_ca.error().message;
    // The right CA but another name for the same server: the name check refuses it.
    auto wrong_name = with(MysqlSslMode::verify_identity, ca, "localhost");
    ASSERT_FALSE(wrong_name);
    EXPECT_EQ(wrong_name.error().kind, util::ErrorKind::storage) << wrong_name.error().describe();
    // Connector/C 3.3 checks the name under VERIFY_CA as well (documented in README.md).
    auto ca_wrong_name = with(MysqlSslMode::verify_ca, ca, "localhost");
    EXPECT_FALSE(ca_wrong_name);
}

}  // namespace
}  // namespace mailtrack::store
