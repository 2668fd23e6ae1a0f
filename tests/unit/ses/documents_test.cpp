#include "mailtrack/ses/documents.hpp"

#include <gtest/gtest.h>

namespace mailtrack::ses {
namespace {

TEST(SplitDocuments, PrettyPrintedSingleDocument) {
    const auto docs = split_documents("\n{\n  \"a\": 1,\n  \"b\": [1,\n 2]\n}\n");
    ASSERT_EQ(docs.size(), 1u);
    EXPECT_EQ(docs[0].line, 2u);
}

TEST(SplitDocuments, NdjsonWithBlankAndBadLines) {
    const auto docs = split_documents("{\"a\":1}\n\n{\"a\":\nnot json\n{\"b\":2}\n");
    ASSERT_EQ(docs.size(), 4u);
    EXPECT_EQ(docs[0].line, 1u);
    EXPECT_EQ(docs[1].line, 3u);
    EXPECT_EQ(docs[1].text, "{\"a\":");
    EXPECT_EQ(docs[2].line, 4u);
    EXPECT_EQ(docs[3].line, 5u);
    EXPECT_EQ(docs[3].text, "{\"b\":2}");
}

TEST(SplitDocuments, TruncatedPrettyDocumentStaysOneDocument) {
    const auto docs = split_documents("{\n  \"a\": 1,\n  \"b\": \n");
    ASSERT_EQ(docs.size(), 1u);
}

TEST(SplitDocuments, Empty) {
    EXPECT_TRUE(split_documents(" \n\n").empty());
}

}  // namespace
}  // namespace mailtrack::ses
