#include "mailtrack/aws/sigv4.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <ctime>
#include <map>
#include <utility>

namespace mailtrack::aws {
namespace {

constexpr std::string_view k_hex = "0123456789abcdef";

std::string to_hex(const unsigned char* data, std::size_t n) {
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(k_hex[data[i] >> 4]);
        out.push_back(k_hex[data[i] & 0xf]);
    }
    return out;
}

using Digest = std::array<unsigned char, 32>;

// SHA-256 on a per-thread digest context and an algorithm fetched once. OpenSSL 3's one-shot
// SHA256() and HMAC() look the algorithm up and allocate a context on every call, and a signed
// request takes several of them.
class Sha256 {
public:
    Sha256() : m_md(EVP_MD_fetch(nullptr, "SHA256", nullptr)), m_ctx(EVP_MD_CTX_new()) {}
    ~Sha256() {
        EVP_MD_CTX_free(m_ctx);
        EVP_MD_free(m_md);
    }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    // The digest of the concatenation of `parts`.
    Digest of(std::initializer_list<std::string_view> parts) {
        Digest out{};
        unsigned int len = 0;
        bool ok = m_md != nullptr && m_ctx != nullptr && EVP_DigestInit_ex(m_ctx, m_md, nullptr) == 1;
        for (const auto part : parts) ok = ok && EVP_DigestUpdate(m_ctx, part.data(), part.size()) == 1;
        ok = ok && EVP_DigestFinal_ex(m_ctx, out.data(), &len) == 1;
        // Only an out-of-memory failure gets here; a wrong signature is refused by AWS, never sent silently.
        if (!ok) out.fill(0);
        return out;
    }

    static Sha256& for_this_thread() {
        thread_local Sha256 sha;
        return sha;
    }

private:
    EVP_MD* m_md;
    EVP_MD_CTX* m_ctx;
};

std::string_view as_view(const unsigned char* data, std::size_t n) {
    return {reinterpret_cast<const char*>(data), n};
}

// HMAC-SHA256 as RFC 2104 defines it: H((K ^ opad) || H((K ^ ipad) || data)), K padded to the
// 64-byte block (hashed first when longer).
Digest hmac(std::string_view key, std::string_view data) {
    constexpr std::size_t block = 64;
    Sha256& sha = Sha256::for_this_thread();
    std::array<unsigned char, block> k{};
    if (key.size() > block) {
        const Digest hashed = sha.of({key});
        std::copy(hashed.begin(), hashed.end(), k.begin());
    } else {
        std::copy(key.begin(), key.end(), k.begin());
    }
    std::array<unsigned char, block> ipad{};
    std::array<unsigned char, block> opad{};
    for (std::size_t i = 0; i < block; ++i) {
        ipad[i] = static_cast<unsigned char>(k[i] ^ 0x36);
        opad[i] = static_cast<unsigned char>(k[i] ^ 0x5c);
    }
    const Digest inner = sha.of({as_view(ipad.data(), block), data});
    return sha.of({as_view(opad.data(), block), as_view(inner.data(), inner.size())});
}

std::string_view as_view(const Digest& d) {
    return as_view(d.data(), d.size());
}

// The signing key depends only on the secret, the day, the region and the service: derived
// once per thread and day instead of with four HMACs per request.
Digest signing_key(const Credentials& credentials, std::string_view date, const SigningScope& scope) {
    struct Cached {
        std::string secret, date, region, service;
        Digest key{};
    };
    thread_local Cached cached;
    if (cached.date != date || cached.region != scope.region || cached.service != scope.service ||
        cached.secret != credentials.secret_access_key) {
        const Digest k_date = hmac("AWS4" + credentials.secret_access_key, date);
        const Digest k_region = hmac(as_view(k_date), scope.region);
        const Digest k_service = hmac(as_view(k_region), scope.service);
        cached.key = hmac(as_view(k_service), "aws4_request");
        cached.secret = credentials.secret_access_key;
        cached.date = std::string(date);
        cached.region = scope.region;
        cached.service = scope.service;
    }
    return cached.key;
}

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Trims and collapses runs of whitespace to one space (botocore: ' '.join(value.split())).
std::string canonical_header_value(std::string_view v) {
    std::string out;
    bool pending_space = false;
    for (const char c : v) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(c);
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_unsigned_header(std::string_view lname) {
    // botocore's SIGNED_HEADERS_BLACKLIST: hop-by-hop headers and ones proxies rewrite.
    static constexpr std::array<std::string_view, 11> k_skip = {
        "connection",        "expect",  "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"};
    return std::find(k_skip.begin(), k_skip.end(), lname) != k_skip.end();
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        if (!item.empty()) {
            const auto eq = item.find('=');
            const std::string_view k = item.substr(0, eq);
            const std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
            pairs.emplace_back(uri_encode(percent_decode(k), false), uri_encode(percent_decode(v), false));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [k, v] : pairs) {
        if (!out.empty()) out.push_back('&');
        out += k;
        out.push_back('=');
        out += v;
    }
    return out;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(static_cast<char>(std::toupper(k_hex[c >> 4])));
            out.push_back(static_cast<char>(std::toupper(k_hex[c & 0xf])));
        }
    }
    return out;
}

std::string percent_decode(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hex(text[i + 1]);
            const int lo = hex(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    const Digest d = Sha256::for_this_thread().of({data});
    return to_hex(d.data(), d.size());
}

std::string normalize_path(std::string_view path) {
    if (path.empty()) return "/";
    std::vector<std::string_view> out;
    std::string_view rest = path;
    while (true) {
        const auto slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        if (seg == "..") {
            if (!out.empty()) out.pop_back();
        } else if (!seg.empty() && seg != ".") {
            out.push_back(seg);
        }
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    std::string result = path.front() == '/' ? "/" : "";
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (i > 0) result.push_back('/');
        result += out[i];
    }
    if (path.back() == '/' && !out.empty()) result.push_back('/');
    return result;
}

std::string amz_date(util::UnixMillis now) {
    const std::time_t secs = static_cast<std::time_t>(now / 1000 - (now % 1000 < 0 ? 1 : 0));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 20> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
    return std::string(buf.data(), n);
}

Signature compute_signature(const SignableRequest& request, const Credentials& credentials, const SigningScope& scope,
                            std::string_view date_time) {
    Signature s;
    // name -> values in order of appearance
    std::map<std::string, std::vector<std::string>> headers;
    for (const auto& h : request.headers) {
        std::string lname = lower(h.name);
        if (is_unsigned_header(lname)) continue;
        headers[std::move(lname)].push_back(canonical_header_value(h.value));
    }
    std::string canonical_headers;
    for (const auto& [name, values] : headers) {
        canonical_headers += name;
        canonical_headers.push_back(':');
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i > 0) canonical_headers.push_back(',');
            canonical_headers += values[i];
        }
        canonical_headers.push_back('\n');
        if (!s.signed_headers.empty()) s.signed_headers.push_back(';');
        s.signed_headers += name;
    }

    std::string& cr = s.canonical_request;
    cr = request.method;
    cr += '\n';
    cr += uri_encode(normalize_path(request.path), true);
    cr += '\n';
    cr += canonical_query(request.query);
    cr += '\n';
    cr += canonical_headers;
    cr += '\n';
    cr += s.signed_headers;
    cr += '\n';
    cr += sha256_hex(request.body);

    const std::string_view date = date_time.substr(0, 8);
    const std::string credential_scope = std::string(date) + "/" + scope.region + "/" + scope.service + "/aws4_request";
    s.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(date_time) + "\n" + credential_scope + "\n" + sha256_hex(cr);

    const Digest k_signing = signing_key(credentials, date, scope);
    const Digest sig = hmac(as_view(k_signing), s.string_to_sign);

    s.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + credential_scope +
                      ", SignedHeaders=" + s.signed_headers + ", Signature=" + to_hex(sig.data(), sig.size());
    return s;
}

void sign(SignableRequest& request, const Credentials& credentials, const SigningScope& scope, util::UnixMillis now) {
    auto& hs = request.headers;
    std::erase_if(hs, [](const Header& h) {
        const std::string l = lower(h.name);
        return l == "x-amz-date" || l == "authorization" || l == "x-amz-security-token";
    });
    const std::string date = amz_date(now);
    hs.push_back({"X-Amz-Date", date});
    if (!credentials.session_token.empty()) hs.push_back({"X-Amz-Security-Token", credentials.session_token});
    Signature sig = compute_signature(request, credentials, scope, date);
    hs.push_back({"Authorization", std::move(sig.authorization)});
}

}  // namespace mailtrack::aws
