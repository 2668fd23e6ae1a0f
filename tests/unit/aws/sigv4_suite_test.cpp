// The official AWS SigV4 test suite (tests/data/sigv4, see its SOURCES.md): every case must
// reproduce the canonical request, string to sign and Authorization header byte for byte.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mailtrack/aws/sigv4.hpp"

namespace mailtrack::aws {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Parses a suite .req file. A folded continuation line (leading whitespace) becomes another
// value of the previous header, which is how the suite's expected files treat it
// (get-header-value-multiline expects "value1,value2,value3").
SignableRequest parse_req(const std::string& text, std::string& body_storage) {
    SignableRequest r;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    const auto sp = line.find(' ');
    const auto proto = line.rfind(" HTTP/");
    r.method = line.substr(0, sp);
    const std::string target = line.substr(sp + 1, proto - sp - 1);
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    std::string last_name;
    bool in_body = false;
    while (std::getline(in, line)) {
        if (in_body) {
            body_storage += (body_storage.empty() ? "" : "\n") + line;
            continue;
        }
        if (line.empty()) {
            in_body = true;
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            r.headers.push_back({last_name, line});
            continue;
        }
        const auto colon = line.find(':');
        last_name = line.substr(0, colon);
        r.headers.push_back({last_name, line.substr(colon + 1)});
    }
    r.body = body_storage;
    return r;
}

struct Case {
    fs::path dir;
    std::string name;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    for (const auto& e : fs::recursive_directory_iterator(MAILTRACK_SIGV4_SUITE_DIR)) {
        if (e.path().extension() == ".req") out.push_back({e.path().parent_path(), e.path().stem().string()});
    }
    std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
    return out;
}

const Credentials k_creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", std::nullopt, "test"};
const SigningScope k_scope{"us-east-1", "service"};

TEST(SigV4Suite, HasAllThirtyOneCases) {
    EXPECT_EQ(cases().size(), 31u);
}

TEST(SigV4Suite, EveryCaseReproducesCanonicalRequestStringToSignAndAuthorization) {
    for (const auto& c : cases()) {
        SCOPED_TRACE(c.name);
        const fs::path base = c.dir / c.name;
        std::string body;
        SignableRequest req = parse_req(slurp(base.string() + ".req"), body);
        std::string date;
        for (const auto& h : req.headers) {
            if (h.name == "X-Amz-Date") date = h.value;
        }
        if (c.name == "post-x-www-form-urlencoded-parameters") {
            // Documented erratum (SOURCES.md): the expected files sign the form body as query
            // parameters with an empty payload, a legacy behaviour no service we use has. Our
            // signer hashes the body; check that the suite's own .creq differs only there.
            const Signature s = compute_signature(req, k_creds, k_scope, date);
            const std::string expected = slurp(base.string() + ".creq");
            EXPECT_NE(s.canonical_request, expected);
            EXPECT_NE(expected.find("\nParam1=value1\n"), std::string::npos);
            continue;
        }
        const Signature s = compute_signature(req, k_creds, k_scope, date);
        if (c.name == "post-x-www-form-urlencoded") {
            // Documented erratum: the .creq's SignedHeaders line omits content-type although its
            // canonical headers, the .sts and the .authz all sign it. Compare everything else.
            std::string expected = slurp(base.string() + ".creq");
            const auto at = expected.find("\nhost;x-amz-date\n");
            ASSERT_NE(at, std::string::npos);
            expected.replace(at, 17, "\ncontent-type;host;x-amz-date\n");
            EXPECT_EQ(s.canonical_request, expected);
        } else {
            EXPECT_EQ(s.canonical_request, slurp(base.string() + ".creq"));
        }
        EXPECT_EQ(s.string_to_sign, slurp(base.string() + ".sts"));
        EXPECT_EQ(s.authorization, slurp(base.string() + ".authz"));
    }
}

TEST(SigV4, SignAddsDateTokenAndAuthorization) {
    SignableRequest r{"POST", "/", "", {{"Host", "sqs.us-east-1.amazonaws.com"}}, "{}"};
    Credentials c = k_creds;
    c.session_token = "TOKEN";
    // 2015-08-30T12:36:00Z
    sign(r, c, {"us-east-1", "sqs"}, 1440938160000);
    EXPECT_EQ(find_header(r.headers, "x-amz-date"), "20150830T123600Z");
    EXPECT_EQ(find_header(r.headers, "x-amz-security-token"), "TOKEN");
    EXPECT_NE(find_header(r.headers, "authorization").find("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
              std::string::npos);
    // Signing again replaces, not duplicates.
    sign(r, c, {"us-east-1", "sqs"}, 1440938160000);
    EXPECT_EQ(r.headers.size(), 4u);
}

TEST(SigV4, NormalizePathFollowsRemoveDotSegments) {
    EXPECT_EQ(normalize_path(""), "/");
    EXPECT_EQ(normalize_path("/a/./b/../c/"), "/a/c/");
    EXPECT_EQ(normalize_path("//a//b"), "/a/b");
    EXPECT_EQ(normalize_path("/.."), "/");
    EXPECT_EQ(normalize_path("/a/."), "/a");
}

TEST(SigV4, UriEncodeKeepsOnlyUnreserved) {
    EXPECT_EQ(uri_encode("a b/c~d+e@", false), "a%20b%2Fc~d%2Be%40");
    EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
    EXPECT_EQ(uri_encode("\xe1\x88\xb4", false), "%E1%88%B4");
    EXPECT_EQ(percent_decode("%E1%88%B4+%zz%4"), "\xe1\x88\xb4+%zz%4");
}

}  // namespace
}  // namespace mailtrack::aws
