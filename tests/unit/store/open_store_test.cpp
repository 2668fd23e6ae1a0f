#include "mailtrack/store_open/open_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <variant>
#include <vector>

#include "mailtrack/store_sql/columns.hpp"

namespace mailtrack::store {
namespace {

namespace fs = std::filesystem;

// A directory of its own under /tmp, removed when the test ends.
struct TempDir {
    fs::path path = fs::temp_directory_path() / ("mt-open-" + std::to_string(::getpid()));
    TempDir() {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    std::vector<fs::path> entries() const {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path());
        return out;
    }
};

TEST(OpenStore, SqliteUrlTakesThePathVerbatim) {
    for (const std::string path : {"mailtrack.db", "/var/lib/mailtrack/x.db", ":memory:", "dir/with:colon.db"}) {
        auto t = parse_store_url("sqlite:" + path);
        ASSERT_TRUE(t.has_value()) << t.error().describe();
        ASSERT_TRUE(std::holds_alternative<SqliteOptions>(*t));
        EXPECT_EQ(std::get<SqliteOptions>(*t).path, path);
        EXPECT_EQ(describe(*t), "the SQLite database " + path);
    }
}

TEST(OpenStore, SqliteDoubleSlashAndEmptyPathAreRefusedShowingTheAcceptedForm) {
    for (const char* url : {"sqlite:///var/x.db", "sqlite://x.db", "sqlite:"}) {
        auto t = parse_store_url(url);
        ASSERT_FALSE(t.has_value()) << url;
        EXPECT_EQ(t.error().kind, util::ErrorKind::config);
        EXPECT_NE(t.error().message.find("sqlite:PATH"), std::string::npos) << t.error().message;
    }
}

TEST(OpenStore, MysqlUrlGoesThroughParseMysqlUrl) {
    auto t = parse_store_url("mysql://app@db.example:3307/tracking?ssl-mode=DISABLED");
    ASSERT_TRUE(t.has_value()) << t.error().describe();
    ASSERT_TRUE(std::holds_alternative<MysqlOptions>(*t));
    const auto& o = std::get<MysqlOptions>(*t);
    EXPECT_EQ(o.user, "app");
    EXPECT_EQ(o.host, "db.example");
    EXPECT_EQ(o.port, 3307u);
    EXPECT_EQ(o.database, "tracking");
    EXPECT_EQ(describe(*t), "the MySQL database tracking on db.example:3307");
    // parse_mysql_url's own refusals come through unchanged.
    auto with_password = parse_store_url("mysql://app:secret@db.example/tracking");
    ASSERT_FALSE(with_password.has_value());
    EXPECT_EQ(with_password.error().kind, util::ErrorKind::config);
}

TEST(OpenStore, UnknownSchemeListsTheKnownOnes) {
    auto t = parse_store_url("postgres://db/x");
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().kind, util::ErrorKind::config);
    EXPECT_NE(t.error().message.find("sqlite:"), std::string::npos);
    EXPECT_NE(t.error().message.find("mysql://"), std::string::npos);
}

TEST(OpenStore, MustExistOnAMissingSqliteFileIsNotFoundAndCreatesNothing) {
    TempDir dir;
    const std::string path = (dir.path / "missing.db").string();
    auto s = open_store("sqlite:" + path, OpenMode::must_exist);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().kind, util::ErrorKind::not_found);
    EXPECT_NE(s.error().message.find(path), std::string::npos) << s.error().message;
    EXPECT_TRUE(dir.entries().empty()) << "created " << dir.entries().front();

    // The same through the backend's own options.
    SqliteOptions o;
    o.path = path;
    o.mode = OpenMode::must_exist;
    auto direct = open_store(StoreTarget(o));
    ASSERT_FALSE(direct.has_value());
    EXPECT_EQ(direct.error().kind, util::ErrorKind::not_found);
    EXPECT_TRUE(dir.entries().empty());
}

TEST(OpenStore, MustExistOpensADatabaseThatIsThere) {
    TempDir dir;
    const std::string url = "sqlite:" + (dir.path / "t.db").string();
    {
        auto created = open_store(url);  // create_if_missing
        ASSERT_TRUE(created.has_value()) << created.error().describe();
        core::Suppression x;
        x.address = "a@example.com";
        x.since = 1000;
        ASSERT_TRUE((*created)->suppress(x));
    }
    auto s = open_store(url, OpenMode::must_exist);
    ASSERT_TRUE(s.has_value()) << s.error().describe();
    auto found = (*s)->suppression("a@example.com");
    ASSERT_TRUE(found.has_value());
    EXPECT_TRUE(found->has_value());
}

TEST(OpenStore, MustExistStillOpensAnInMemoryDatabase) {
    auto s = open_store("sqlite::memory:", OpenMode::must_exist);
    ASSERT_TRUE(s.has_value()) << s.error().describe();
}

// The column table drives both stores' bindings and readers: a row written through
// for_each_value and read back through read_row is the same row, with absent facts absent.
struct Cells {
    struct Cell {
        bool null = true;
        std::int64_t i = 0;
        std::string s;
        core::EventId e;
    };
    std::vector<Cell> cells;
    std::size_t at = 0;

    void put(std::int64_t v) { cells.push_back({false, v, {}, {}}); }
    void put(const std::optional<std::int64_t>& v) { v ? put(*v) : cells.push_back({}); }
    void put(std::string_view v) { cells.push_back({v.empty(), 0, std::string(v), {}}); }
    void put(const core::EventId& v) { cells.push_back({v == core::EventId{}, 0, {}, v}); }

    std::int64_t int64() { return cells.at(at++).i; }
    std::optional<std::int64_t> opt_int64() {
        const Cell& c = cells.at(at++);
        return c.null ? std::nullopt : std::optional<std::int64_t>(c.i);
    }
    std::string text() { return cells.at(at++).s; }
    core::EventId event_id() { return cells.at(at++).e; }
};

template <typename Row, typename Table>
Row round_trip(const Table& table, const Row& row) {
    Cells cells;
    sql::for_each_value(table, row, [&](const auto&, const auto& v) { cells.put(v); });
    EXPECT_EQ(cells.cells.size(), sql::k_column_count<Table>);
    Row back = sql::read_row<Row>(table, cells);
    EXPECT_EQ(cells.at, cells.cells.size());
    return back;
}

core::EventId id(std::uint8_t b) {
    core::EventId e;
    e.bytes.fill(b);
    return e;
}

TEST(ColumnTable, RowsRoundTripThroughTheTable) {
    core::RecipientState r;
    r.message_id = "m1";
    r.address = "a@example.com";
    r.status = {core::RecipientStatus::bounced, 20, id(1)};
    // Facts field by field, so a new field of a fact does not need this test changed.
    r.delivery.emplace();
    r.delivery->at = 10;
    r.delivery->event = id(2);
    r.delivery->smtp_response = "250 ok";
    r.delivery->reporting_mta = "mta.example";
    r.delivery->processing_time_millis = 42;
    r.bounce.emplace();
    r.bounce->at = 20;
    r.bounce->event = id(3);
    r.bounce->bounce_type = "Permanent";
    r.bounce->diagnostic_code = "smtp; 550";
    r.delay.emplace();
    r.delay->at = 5;
    r.delay->event = id(4);
    r.delay->delay_type = "MailboxFull";
    r.delay->expiration_time = 99;
    r.engagement.opens = 2;
    r.engagement.first_open_at = 30;
    r.engagement.last_open_at = 31;
    r.soft_bounces = 1;
    r.event_count = 5;
    r.first_event_at = 1;
    r.last_event_at = 31;
    EXPECT_EQ(round_trip(sql::k_recipient_columns, r), r);

    core::RecipientState sparse;  // no facts at all: they stay absent
    sparse.message_id = "m2";
    sparse.address = "b@example.com";
    const auto back = round_trip(sql::k_recipient_columns, sparse);
    EXPECT_EQ(back, sparse);
    EXPECT_FALSE(back.delivery || back.bounce || back.complaint || back.delay || back.failure);

    core::MessageState m;
    m.message_id = "m1";
    m.status = {core::RecipientStatus::delivered, 10, id(5)};
    m.mail_timestamp = 3;
    m.source = "from@example.com";
    m.send_id = "s1";
    m.recipient_count = 2;
    m.unknown_events = 1;
    EXPECT_EQ(round_trip(sql::k_message_columns, m), m);

    core::Suppression x;
    x.address = "c@example.com";
    x.reason = core::SuppressionReason::complaint;
    x.since = 7;
    x.source_event = id(6);
    x.detail = "abuse";
    EXPECT_EQ(round_trip(sql::k_suppression_columns, x), x);
}

TEST(ColumnTable, ColumnNamesAreTheTablesInOrder) {
    const std::string names = sql::column_names(sql::k_message_columns);
    EXPECT_TRUE(names.starts_with("message_id, status, status_at, status_event, mail_timestamp")) << names;
    EXPECT_TRUE(names.ends_with("event_count, unknown_events, first_event_at, last_event_at")) << names;
    EXPECT_EQ(sql::column_names(sql::k_suppression_columns, "s."),
              "s.address, s.reason, s.since, s.source_event, s.detail, s.expires_at");
}

}  // namespace
}  // namespace mailtrack::store
