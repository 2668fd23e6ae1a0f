#include "mailtrack/ingest/ingestor.hpp"

#include <gtest/gtest.h>

#include "mailtrack/store/sqlite_store.hpp"

#include "event_factory.hpp"

namespace mailtrack::ingest {
namespace {

TEST(Ingestor, BadDocumentsAreRejectedWithOriginAndTheRestApplied) {
    auto store = store::SqliteStore::open({":memory:", 1000, 1});
    ASSERT_TRUE(store);
    Ingestor ingest(**store, 3, 1 << 20);
    const auto stream = testing::realistic_stream(4, 7, true);
    std::string ndjson;
    for (std::size_t i = 0; i < stream.size(); ++i) {
        ndjson += stream[i] + "\n";
        if (i == 1) ndjson += "{\"eventType\":\"Send\",\"mail\":{\"messageId\":\"x\"\n";  // truncated
        if (i == 2) ndjson += "{\"Type\":\"Notification\",\"Message\":\"not json\"}\n";
    }
    ndjson += stream[0] + "\n";  // a duplicate
    ASSERT_TRUE(ingest.add_input(ndjson, "events.ndjson"));
    ASSERT_TRUE(ingest.flush());
    const auto& r = ingest.report();
    EXPECT_EQ(r.rejected, 2);
    ASSERT_EQ(r.rejections.size(), 2u);
    EXPECT_EQ(r.rejections[0].origin, "events.ndjson:3");
    EXPECT_NE(r.rejections[0].reason.find("not valid JSON"), std::string::npos);
    EXPECT_EQ(r.rejections[1].origin, "events.ndjson:5");
    EXPECT_NE(r.rejections[1].reason.find("SNS Message is not JSON"), std::string::npos);
    EXPECT_EQ(r.applied, static_cast<std::int64_t>(stream.size()));
    EXPECT_EQ(r.duplicates, 1);
    EXPECT_GE(r.batches, 2);
}

}  // namespace
}  // namespace mailtrack::ingest
