#include "mailtrack/store/sqlite_store.hpp"

#include <gtest/gtest.h>

#include "mailtrack/store_sql/columns.hpp"
#if !MAILTRACK_TEST_MYSQL
#include <sqlite3.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "mailtrack/util/time.hpp"

#include "event_factory.hpp"
#include "store_test_support.hpp"

namespace mailtrack::store {
namespace {

using core::EventType;
using core::RecipientStatus;
using test::memory_store;
using test::parse_all;

constexpr const char* k_mid = "0100018a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000";

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(MAILTRACK_TESTDATA) + "/events/" + name + ".json");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const core::RecipientState* find(const MessageView& v, std::string_view address) {
    for (const auto& r : v.recipients) {
        if (r.address == address) return &r;
    }
    return nullptr;
}

MessageView apply_and_view(const std::vector<std::string>& names, bool wrapped) {
    auto store = memory_store();
    std::vector<std::string> docs;
    for (const auto& n : names) docs.push_back(wrapped ? testing::sns_wrap(fixture(n), "sns-" + n) : fixture(n));
    const auto events = parse_all(docs);
    auto r = store->apply(events);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().describe());
    auto v = store->message(k_mid, true);
    EXPECT_TRUE(v.has_value() && v->has_value());
    return v && *v ? std::move(**v) : MessageView{};
}

class EachEnvelope : public ::testing::TestWithParam<bool> {};

TEST_P(EachEnvelope, EveryEventTypeRoundTripsWithStatusAndFacts) {
    const bool wrapped = GetParam();
    struct Expect {
        const char* fixture;
        const char* address;
        RecipientStatus status;
    };
    for (const Expect& x : {Expect{"send", "Other.Person@example.org", RecipientStatus::sent},
                            Expect{"reject", "recipient@example.com", RecipientStatus::rejected},
                            Expect{"bounce-permanent", "recipient@example.com", RecipientStatus::bounced},
                            Expect{"bounce-transient", "Other.Person@example.org", RecipientStatus::soft_bounced},
                            Expect{"bounce-undetermined", "recipient@example.com", RecipientStatus::soft_bounced},
                            Expect{"complaint", "recipient@example.com", RecipientStatus::complained},
                            Expect{"delivery", "Other.Person@example.org", RecipientStatus::delivered},
                            Expect{"delivery-delay", "Other.Person@example.org", RecipientStatus::delivery_delayed},
                            Expect{"open", "recipient@example.com", RecipientStatus::delivered},
                            Expect{"click", "recipient@example.com", RecipientStatus::delivered},
                            Expect{"rendering-failure", "recipient@example.com", RecipientStatus::rendering_failed},
                            Expect{"subscription", "recipient@example.com", RecipientStatus::delivered},
                            Expect{"notification-bounce", "recipient@example.com", RecipientStatus::bounced},
                            Expect{"notification-complaint", "recipient@example.com", RecipientStatus::complained},
                            Expect{"notification-delivery", "recipient@example.com", RecipientStatus::delivered}}) {
        SCOPED_TRACE(x.fixture);
        const MessageView v = apply_and_view({x.fixture}, wrapped);
        const auto* r = find(v, x.address);
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(r->status.status, x.status);
        ASSERT_EQ(v.events.size(), 1u);
        // The archive gives back the SES JSON itself, minified.
        EXPECT_EQ(v.events[0].raw_json.front(), '{');
        EXPECT_EQ(v.events[0].raw_json.find("\n"), std::string::npos);
        EXPECT_EQ(v.events[0].raw_json.find("\"Type\":\"Notification\""), std::string::npos);
    }
}

INSTANTIATE_TEST_SUITE_P(RawAndWrapped, EachEnvelope, ::testing::Values(false, true),
                         [](const auto& pi) { return std::string(pi.param ? "sns" : "raw"); });

TEST(SqliteStore, FactsArePersisted) {
    const MessageView v = apply_and_view(
        {"send", "delivery", "bounce-permanent", "complaint", "delivery-delay", "open", "click", "subscription"}, true);
    EXPECT_EQ(v.message.subject, "Échantillon ✓");
    EXPECT_EQ(v.message.send_id, "snd-0001");
    EXPECT_EQ(v.message.configuration_set, "mailtrack-events");
    EXPECT_EQ(v.message.recipient_count, 2);
    EXPECT_EQ(v.message.engagement.opens, 1);
    EXPECT_EQ(v.message.engagement.clicks, 1);
    EXPECT_TRUE(v.message.engagement.unsubscribed_at.has_value());
    EXPECT_EQ(v.message.status.status, RecipientStatus::complained);
    EXPECT_EQ(v.events.size(), 8u);

    const auto* r = find(v, "recipient@example.com");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->status.status, RecipientStatus::complained);
    ASSERT_TRUE(r->delivery && r->bounce && r->complaint);
    EXPECT_EQ(r->delivery->smtp_response, "250 2.6.0 Message received");
    EXPECT_EQ(r->delivery->processing_time_millis, 2333);
    EXPECT_EQ(r->bounce->diagnostic_code, "smtp; 550 5.1.1 user unknown");
    EXPECT_EQ(r->complaint->feedback_type, "abuse");
    // The open/click fixtures are single-recipient mails, so they reach the recipient too.
    EXPECT_EQ(r->engagement.opens, 1);

    const auto* o = find(v, "Other.Person@example.org");
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->status.status, RecipientStatus::delivered);
    ASSERT_TRUE(o->delay);
    EXPECT_EQ(o->delay->delay_type, "TransientCommunicationFailure");
    EXPECT_TRUE(o->delay->expiration_time.has_value());
}

TEST(SqliteStore, DuplicatesChangeNothing) {
    auto store = memory_store();
    const auto events = parse_all({fixture("open"), testing::sns_wrap(fixture("open"), "a"), fixture("open"),
                                   testing::sns_wrap(fixture("open"), "b")});
    auto first = store->apply(events);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->applied, 1);
    EXPECT_EQ(first->duplicates, 3);
    auto again = store->apply(events);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->applied, 0);
    EXPECT_EQ(again->duplicates, 4);
    auto v = store->message(k_mid, false);
    ASSERT_TRUE(v && *v);
    EXPECT_EQ((*v)->message.engagement.opens, 1);
    EXPECT_EQ((*v)->message.event_count, 1);
    auto info = store->info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->events, 1);
}

TEST(SqliteStore, UnknownTypesAreRecordedNotApplied) {
    auto store = memory_store();
    auto r = store->apply(parse_all({fixture("unknown-type")}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->unknown, 1);
    EXPECT_EQ(r->applied, 0);
    auto v = store->message(k_mid, true);
    ASSERT_TRUE(v && *v);
    EXPECT_EQ((*v)->message.unknown_events, 1);
    ASSERT_EQ((*v)->events.size(), 1u);
    EXPECT_EQ((*v)->events[0].type_name, "FutureThing");
    EXPECT_TRUE((*v)->recipients.empty());
}

TEST(SqliteStore, SuppressionListFromPermanentBouncesAndComplaints) {
    auto store = memory_store();
    ASSERT_TRUE(
        store->apply(parse_all({fixture("bounce-permanent"), fixture("bounce-transient"), fixture("complaint")})));
    auto list = store->suppressions();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1u);
    // Both a bounce and a complaint for recipient@: the complaint is the stronger reason.
    EXPECT_EQ((*list)[0].address, "recipient@example.com");
    EXPECT_EQ((*list)[0].reason, core::SuppressionReason::complaint);
    auto soft = store->soft_bounces("Other.Person@example.org");
    ASSERT_TRUE(soft);
    EXPECT_EQ(*soft, 1);
    auto removed = store->unsuppress("recipient@example.com");
    ASSERT_TRUE(removed);
    EXPECT_TRUE(*removed);
    EXPECT_TRUE(store->suppressions()->empty());
    // Re-applying the same events does not resurrect a removed entry: they are duplicates.
    ASSERT_TRUE(store->apply(parse_all({fixture("complaint")})));
    EXPECT_TRUE(store->suppressions()->empty());
}

TEST(SqliteStore, ListAndCounts) {
    auto store = memory_store();
    ASSERT_TRUE(store->apply(parse_all({fixture("send"), fixture("delivery"), fixture("bounce-permanent")})));
    RecipientFilter f;
    f.status = RecipientStatus::bounced;
    auto bounced = store->recipients(f);
    ASSERT_TRUE(bounced);
    ASSERT_EQ(bounced->size(), 1u);
    EXPECT_EQ((*bounced)[0].address, "recipient@example.com");
    RecipientFilter by_addr;
    by_addr.address = "Other.Person@example.org";
    EXPECT_EQ(store->recipients(by_addr)->size(), 1u);
    auto c = store->counts(std::nullopt);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->messages, 1);
    EXPECT_EQ(c->recipients, 2);
    EXPECT_EQ(c->sent, 2);
    EXPECT_EQ(c->delivered, 2);
    EXPECT_EQ(c->hard_bounced, 1);
    auto later = store->counts(*util::parse_timestamp("2030-01-01"));
    ASSERT_TRUE(later);
    EXPECT_EQ(later->recipients, 0);
}

#if !MAILTRACK_TEST_MYSQL  // SQLite files and locks; the MySQL equivalents are in mysql_store_test.cpp
// A fresh directory under /tmp for one test's database files, removed when the test ends.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& name)
        : m_dir(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
        reset();
    }
    ~ScratchDir() { std::filesystem::remove_all(m_dir); }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    // Empties the directory (for a test that needs several fresh databases).
    void reset() {
        std::filesystem::remove_all(m_dir);
        std::filesystem::create_directories(m_dir);
    }
    std::string db() const { return (m_dir / "t.db").string(); }

private:
    std::filesystem::path m_dir;
};

TEST(SqliteStore, FileStoreSurvivesReopenAndSharesBetweenConnections) {
    ScratchDir dir("mt-store");
    const std::string path = dir.db();
    {
        auto a = SqliteStore::open({path, 1000, 1});
        auto b = SqliteStore::open({path, 1000, 1});
        ASSERT_TRUE(a && b);
        ASSERT_TRUE((*a)->apply(parse_all({fixture("send")})));
        auto r = (*b)->apply(parse_all({fixture("send"), fixture("delivery")}));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->duplicates, 1);
        EXPECT_EQ(r->applied, 1);
    }
    auto again = SqliteStore::open({path, 1000, 1});
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->schema_version(), store::sql::k_schema_version);
    auto v = (*again)->message(k_mid, true);
    ASSERT_TRUE(v && *v);
    EXPECT_EQ((*v)->events.size(), 2u);
}

// A worker and a sender opening a new database at once: the one that finds the schema old
// must wait for the other's write and then see its migrations, not fail with "database is
// locked" on a stale read snapshot (SQLITE_BUSY_SNAPSHOT is not retried by the busy handler).
TEST(SqliteStore, OpeningWhileAnotherProcessWritesWaitsForItsCommit) {
    ScratchDir dir("mt-race");
    const std::string path = dir.db();
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "PRAGMA journal_mode=WAL; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                           "applied_at TEXT NOT NULL); BEGIN IMMEDIATE; CREATE TABLE other (x INTEGER)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    std::optional<util::Result<std::unique_ptr<SqliteStore>>> opened;
    std::thread opener([&] { opened.emplace(SqliteStore::open({path, 10000})); });
    // The opener reads version 0 and then waits for the write lock held here.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    opener.join();
    sqlite3_close(raw);
    ASSERT_TRUE(opened && *opened) << (opened && !*opened ? opened->error().message : "");
    EXPECT_EQ((**opened)->schema_version(), store::sql::k_schema_version);
    ASSERT_TRUE((**opened)->apply(parse_all({fixture("send")})));
    opened.reset();
}

// Many connections opening one new file at the same moment all succeed on the same schema.
TEST(SqliteStore, ConcurrentOpensOfANewDatabaseAllSucceed) {
    ScratchDir dir("mt-opens");
    for (int round = 0; round < 20; ++round) {
        dir.reset();
        const std::string path = dir.db();
        constexpr std::size_t k_openers = 4;
        std::vector<std::string> errors(k_openers);
        std::vector<int> versions(k_openers, -1);
        std::atomic<std::size_t> ready{0};
        std::vector<std::thread> openers;
        for (std::size_t i = 0; i < k_openers; ++i) {
            openers.emplace_back([&, i] {
                ready.fetch_add(1);
                while (ready.load() < k_openers) std::this_thread::yield();
                auto s = SqliteStore::open({path, 10000});
                if (s)
                    versions[i] = (*s)->schema_version();
                else
                    errors[i] = s.error().message;
            });
        }
        for (auto& t : openers) t.join();
        for (std::size_t i = 0; i < k_openers; ++i) {
            EXPECT_EQ(errors[i], "") << "round " << round << ", opener " << i;
            EXPECT_EQ(versions[i], store::sql::k_schema_version) << "round " << round << ", opener " << i;
        }
    }
}

// A long-running worker commits for ever: the write-ahead log must be checkpointed into the
// database as it goes (SQLite's automatic checkpoint), not grow until the connection closes.
TEST(SqliteStore, TheWriteAheadLogStaysBoundedWhileBatchesAreCommitted) {
    ScratchDir dir("mt-wal");
    const std::string path = dir.db();
    auto store = SqliteStore::open({path, 1000});
    ASSERT_TRUE(store);
    const auto docs = testing::realistic_stream(2500, 7);
    const auto events = parse_all(docs);
    std::uintmax_t largest_wal = 0;
    for (std::size_t at = 0; at < events.size(); at += 250) {
        const std::size_t n = std::min<std::size_t>(250, events.size() - at);
        ASSERT_TRUE((*store)->apply(std::span(events).subspan(at, n)));
        largest_wal = std::max(largest_wal, std::filesystem::file_size(path + "-wal"));
    }
    const auto db_size = std::filesystem::file_size(path);
    // 1,000 pages of 4 KiB before an automatic checkpoint, plus the batch that crossed it
    // (without checkpoints this log reaches ~12 MiB).
    EXPECT_LT(largest_wal, 6u << 20) << "database file " << db_size << " bytes";
    EXPECT_GT(db_size, largest_wal / 2) << "nothing was checkpointed into the database";
    store->reset();
}

// A reading connection (a status lookup, later the HTTP API) must see what another process
// committed since its last read: no statement may keep its read snapshot between calls.
TEST(SqliteStore, AReaderSeesWhatAnotherConnectionCommittedSinceItsLastRead) {
    ScratchDir dir("mt-reader");
    const std::string path = dir.db();
    auto writer = SqliteStore::open({path, 1000});
    auto reader = SqliteStore::open({path, 1000});
    ASSERT_TRUE(writer && reader);
    ASSERT_TRUE((*writer)->apply(parse_all({fixture("send")})));
    for (const bool raw : {true, false}) {
        auto before = (*reader)->message(k_mid, raw);
        ASSERT_TRUE(before && *before);
        ASSERT_TRUE((*reader)->counts(std::nullopt));
        ASSERT_TRUE((*reader)->info());
        ASSERT_TRUE((*reader)->suppressions());
    }
    // The last read was message(): each other read must now see the delivery, whatever the
    // previous one left behind.
    ASSERT_TRUE((*writer)->apply(parse_all({fixture("delivery")})));
    auto info = (*reader)->info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info->events, 2);
    auto suppressed = (*reader)->suppressions();
    ASSERT_TRUE(suppressed);
    auto recipients = (*reader)->recipients({});
    ASSERT_TRUE(recipients);
    ASSERT_FALSE(recipients->empty());
    EXPECT_EQ(recipients->front().status.status, RecipientStatus::delivered);
    auto after = (*reader)->message(k_mid, true);
    ASSERT_TRUE(after && *after);
    EXPECT_EQ((*after)->events.size(), 2u);
    writer->reset();
    reader->reset();
}

// While it lives, every database file SQLite opens goes through this VFS, which counts the
// syncs of write-ahead logs and passes everything to the default VFS.
class WalSyncCounter {
public:
    WalSyncCounter() {
        s_real = sqlite3_vfs_find(nullptr);
        s_vfs = *s_real;
        s_vfs.zName = "wal-sync-counter";
        s_vfs.szOsFile = static_cast<int>(sizeof(File)) + s_real->szOsFile;
        s_vfs.xOpen = &open;
        s_wal_syncs = 0;
        sqlite3_vfs_register(&s_vfs, 1);
    }
    ~WalSyncCounter() {
        sqlite3_vfs_unregister(&s_vfs);
        sqlite3_vfs_register(s_real, 1);
    }
    WalSyncCounter(const WalSyncCounter&) = delete;
    WalSyncCounter& operator=(const WalSyncCounter&) = delete;
    int wal_syncs() const { return s_wal_syncs.load(); }
    void reset() { s_wal_syncs = 0; }

private:
    struct File {
        sqlite3_file base;
        sqlite3_file* real;  // the default VFS's file, placed right after this struct
        bool wal;
    };
    static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
    static int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
        auto* f = reinterpret_cast<File*>(file);
        f->real = reinterpret_cast<sqlite3_file*>(f + 1);
        f->wal = (flags & SQLITE_OPEN_WAL) != 0;
        const int rc = s_real->xOpen(s_real, name, f->real, flags, out_flags);
        f->base.pMethods = f->real->pMethods != nullptr ? &k_methods : nullptr;
        return rc;
    }
    static int sync(sqlite3_file* f, int flags) {
        if (reinterpret_cast<File*>(f)->wal) ++s_wal_syncs;
        return real(f)->pMethods->xSync(real(f), flags);
    }
    static constexpr sqlite3_io_methods k_methods = {
        3,
        [](sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); },
        [](sqlite3_file* f, void* p, int n, sqlite3_int64 at) { return real(f)->pMethods->xRead(real(f), p, n, at); },
        [](sqlite3_file* f, const void* p, int n, sqlite3_int64 at) {
            return real(f)->pMethods->xWrite(real(f), p, n, at);
        },
        [](sqlite3_file* f, sqlite3_int64 size) { return real(f)->pMethods->xTruncate(real(f), size); },
        &sync,
        [](sqlite3_file* f, sqlite3_int64* size) { return real(f)->pMethods->xFileSize(real(f), size); },
        [](sqlite3_file* f, int lock) { return real(f)->pMethods->xLock(real(f), lock); },
        [](sqlite3_file* f, int lock) { return real(f)->pMethods->xUnlock(real(f), lock); },
        [](sqlite3_file* f, int* out) { return real(f)->pMethods->xCheckReservedLock(real(f), out); },
        [](sqlite3_file* f, int op, void* arg) { return real(f)->pMethods->xFileControl(real(f), op, arg); },
        [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); },
        [](sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); },
        [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
            return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
        },
        [](sqlite3_file* f, int offset, int n, int flags) {
            return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
        },
        [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); },
        [](sqlite3_file* f, int remove) { return real(f)->pMethods->xShmUnmap(real(f), remove); },
        [](sqlite3_file* f, sqlite3_int64 at, int n, void** out) {
            return real(f)->pMethods->xFetch(real(f), at, n, out);
        },
        [](sqlite3_file* f, sqlite3_int64 at, void* p) { return real(f)->pMethods->xUnfetch(real(f), at, p); },
    };
    static inline sqlite3_vfs* s_real = nullptr;
    static inline sqlite3_vfs s_vfs{};
    static inline std::atomic<int> s_wal_syncs{0};
};

// The worker deletes SQS messages once their batch is committed, so by default a commit must be
// on disk when apply() returns: the write-ahead log is synced by every COMMIT. With
// synchronous=normal it is synced only at checkpoints (none happens in one small batch).
TEST(SqliteStore, ACommitIsSyncedToDiskBeforeApplyReturnsUnlessToldOtherwise) {
    ScratchDir dir("mt-sync");
    WalSyncCounter counter;
    for (const SqliteSync mode : {SqliteSync::full, SqliteSync::normal}) {
        dir.reset();
        SqliteOptions options;
        options.path = dir.db();
        options.synchronous = mode;
        auto store = SqliteStore::open(options);
        ASSERT_TRUE(store);
        for (const char* kind : {"send", "delivery"}) {
            counter.reset();
            ASSERT_TRUE((*store)->apply(parse_all({fixture(kind)})));
            if (mode == SqliteSync::full) {
                EXPECT_GE(counter.wal_syncs(), 1) << kind << ": the commit returned before the log was on disk";
            } else {
                EXPECT_EQ(counter.wal_syncs(), 0) << kind;
            }
        }
        store->reset();
    }
}

TEST(SqliteStore, UnwritableDatabaseIsAnUnavailableError) {
    ScratchDir dir("mt-ro");
    const std::string path = dir.db();
    {
        auto s = SqliteStore::open({path, 100, 1});
        ASSERT_TRUE(s);
    }
    auto s = SqliteStore::open({path, 100, 1});
    ASSERT_TRUE(s);
    // Simulate a store that cannot be written (read-only medium): another connection holds the lock.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    auto r = (*s)->apply(parse_all({fixture("send")}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, util::ErrorKind::storage_unavailable);
    sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(raw);
    // Nothing was half-applied; once the lock is gone the same batch goes in.
    auto retry = (*s)->apply(parse_all({fixture("send")}));
    ASSERT_TRUE(retry);
    EXPECT_EQ(retry->applied, 1);
}
#endif

}  // namespace
}  // namespace mailtrack::store
