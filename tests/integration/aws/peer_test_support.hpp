#pragma once

// Shared setup for tests against the AWS emulators started by tests/support/peers.py.

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "mailtrack/aws/client.hpp"
#include "mailtrack/aws/curl_transport.hpp"

#include "fakes.hpp"

namespace mailtrack::testing {

// The peer URL from the environment; fails the test (not skips) when peers.py did not start it.
inline std::string peer_url(const char* var) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0') {
        ADD_FAILURE() << var << " is not set: run this test through tests/support/peers.py (ctest does)";
        return "http://127.0.0.1:9";
    }
    return v;
}

struct PeerContext {
    util::ManualClock clock{1700000000000};  // signatures are not checked by the emulators
    aws::CurlTransport transport{
        aws::TransportOptions{std::chrono::milliseconds(2000), std::chrono::milliseconds(15000), true}};
    aws::StaticCredentialsProvider creds{aws::Credentials{"test", "test", "", std::nullopt, "test"}};
    RecordingSleeper sleeper;
    FixedJitter jitter{0.0};
    aws::RetryOptions retry{};
    aws::RetryQuota quota{retry};

    aws::ClientContext context() { return aws::ClientContext{transport, creds, clock, sleeper, jitter, quota, retry}; }
};

// Runs a shell command and returns its stdout; the exit status goes to `status`.
inline std::string run(const std::string& command, int* status = nullptr) {
    std::string out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int rc = ::pclose(p);
    if (status != nullptr) *status = rc;
    return out;
}

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline std::string unique_name(const std::string& prefix) {
    static int counter = 0;
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace mailtrack::testing
