#pragma once

// API keys: "mtk_" + 12 hex digits (the prefix, not secret: what `apikey list` shows) + "_" +
// 40 hex digits (160 random bits). The store keeps the SHA-256 of the whole key, never the key.

#include <optional>
#include <string>
#include <string_view>

#include "mailtrack/store/store.hpp"
#include "mailtrack/util/clock.hpp"
#include "mailtrack/util/error.hpp"

namespace mailtrack::api {

struct IssuedKey {
    std::string key;  // shown once
    store::ApiKeyRecord record;
};

// A new key from the system's random source (OpenSSL RAND_bytes). Errors: the random source
// failed (ErrorKind::internal), the name is empty (invalid_input).
util::Result<IssuedKey> issue_api_key(std::string name, store::ApiScope scope, util::UnixMillis now);

// SHA-256 of the key, lower-case hex.
std::string hash_api_key(std::string_view key);

// The prefix of a well-formed key ("mtk_" + 12 hex), or nullopt.
std::optional<std::string> api_key_prefix(std::string_view key);

// The stored key a presented one is, when it is well formed, known, not revoked and its hash
// matches (compared in constant time); nullopt otherwise, whatever the reason. Errors: the
// store failed.
util::Result<std::optional<store::ApiKeyRecord>> authenticate(store::Store& store, std::string_view key);

}  // namespace mailtrack::api
