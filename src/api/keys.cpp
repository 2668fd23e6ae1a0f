#include "mailtrack/api/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace mailtrack::api {

namespace {

constexpr std::string_view k_tag = "mtk_";
constexpr std::size_t k_prefix_hex = 12;  // 48 bits: a lookup id, not a secret
constexpr std::size_t k_secret_hex = 40;  // 160 bits

std::string hex(const unsigned char* data, std::size_t n) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(k_digits[data[i] >> 4]);
        out.push_back(k_digits[data[i] & 0xf]);
    }
    return out;
}

bool all_hex(std::string_view s) {
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

util::Result<std::string> random_hex(std::size_t digits) {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(digits / 2)) != 1) {
        return util::fail(util::ErrorKind::internal, "the system's random source failed");
    }
    return hex(bytes.data(), digits / 2);
}

}  // namespace

std::string hash_api_key(std::string_view key) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int n = 0;
    EVP_Digest(key.data(), key.size(), digest.data(), &n, EVP_sha256(), nullptr);
    return hex(digest.data(), n);
}

std::optional<std::string> api_key_prefix(std::string_view key) {
    const std::size_t prefix_len = k_tag.size() + k_prefix_hex;
    if (key.size() != prefix_len + 1 + k_secret_hex || !key.starts_with(k_tag) || key[prefix_len] != '_') {
        return std::nullopt;
    }
    if (!all_hex(key.substr(k_tag.size(), k_prefix_hex)) || !all_hex(key.substr(prefix_len + 1))) {
        return std::nullopt;
    }
    return std::string(key.substr(0, prefix_len));
}

util::Result<IssuedKey> issue_api_key(std::string name, store::ApiScope scope, util::UnixMillis now) {
    if (name.empty()) return util::fail(util::ErrorKind::invalid_input, "an API key needs a name");
    MAILTRACK_TRY_ASSIGN(const std::string id, random_hex(k_prefix_hex));
    MAILTRACK_TRY_ASSIGN(const std::string secret, random_hex(k_secret_hex));
    IssuedKey out;
    out.key = std::string(k_tag) + id + "_" + secret;
    out.record = {std::string(k_tag) + id, hash_api_key(out.key), std::move(name), scope, now, std::nullopt};
    return out;
}

util::Result<std::optional<store::ApiKeyRecord>> authenticate(store::Store& store, std::string_view key) {
    const auto prefix = api_key_prefix(key);
    if (!prefix) return std::optional<store::ApiKeyRecord>();
    MAILTRACK_TRY_ASSIGN(auto found, store.api_key(*prefix));
    if (!found || found->revoked_at) return std::optional<store::ApiKeyRecord>();
    const std::string presented = hash_api_key(key);
    if (presented.size() != found->hash.size() ||
        CRYPTO_memcmp(presented.data(), found->hash.data(), presented.size()) != 0) {
        return std::optional<store::ApiKeyRecord>();
    }
    return found;
}

}  // namespace mailtrack::api
