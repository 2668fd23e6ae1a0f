#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mailtrack/aws/http.hpp"
#include "mailtrack/aws/sigv4.hpp"
#include "mailtrack/util/clock.hpp"

namespace mailtrack::aws {

// A snapshot of the process environment (name -> value). Providers read only this, so tests
// pass their own.
using Environment = std::map<std::string, std::string, std::less<>>;
Environment process_environment();

// Supplies credentials for signing. Errors are ErrorKind::auth ("no credentials", with what was
// tried) or, for unreadable sources, parse/connection/timeout. Messages never contain secrets.
// Implementations must be thread-safe.
class CredentialsProvider {
public:
    virtual ~CredentialsProvider() = default;
    virtual Result<Credentials> credentials() = 0;
    // Drops anything cached, e.g. after the service said the token expired.
    virtual void invalidate() {}
};

// Fixed credentials (tests, and keys given programmatically).
class StaticCredentialsProvider final : public CredentialsProvider {
public:
    explicit StaticCredentialsProvider(Credentials c) : m_credentials(std::move(c)) {}
    Result<Credentials> credentials() override { return m_credentials; }

private:
    Credentials m_credentials;
};

}  // namespace mailtrack::aws
