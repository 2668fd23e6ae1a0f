#include "mailtrack/aws/curl_transport.hpp"

#include <curl/curl.h>

#include <array>
#include <mutex>
#include <vector>

namespace mailtrack::aws {
namespace {

std::once_flag g_curl_init;

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* headers = static_cast<std::vector<Header>*>(user);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
        headers->clear();  // a new response (after 100 Continue or a redirect) starts over
        return size * n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    headers->push_back({std::string(line.substr(0, colon)), std::string(value)});
    return size * n;
}

ErrorKind kind_of(CURLcode code) {
    switch (code) {
        case CURLE_OPERATION_TIMEDOUT: return ErrorKind::timeout;
        case CURLE_ABORTED_BY_CALLBACK: return ErrorKind::cancelled;
        default: return ErrorKind::connection;
    }
}

// libcurl calls this at least once a second while a transfer is idle, so a cancel flag set
// during a long poll ends it within about a second.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* cancel = static_cast<const std::atomic<bool>*>(user);
    return cancel->load(std::memory_order_relaxed) ? 1 : 0;
}

struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

// Idle easy handles; each keeps its own connection cache, so reuse gives keep-alive.
struct CurlTransport::Pool {
    std::mutex mutex;
    std::vector<CURL*> idle;

    CURL* take() {
        {
            std::lock_guard lock(mutex);
            if (!idle.empty()) {
                CURL* h = idle.back();
                idle.pop_back();
                return h;
            }
        }
        return curl_easy_init();
    }
    void give_back(CURL* h) {
        std::lock_guard lock(mutex);
        idle.push_back(h);
    }
    ~Pool() {
        for (CURL* h : idle) curl_easy_cleanup(h);
    }
};

CurlTransport::CurlTransport(TransportOptions options) : m_options(options), m_pool(std::make_unique<Pool>()) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlTransport::~CurlTransport() = default;

Result<HttpResponse> CurlTransport::send(const HttpRequest& request) {
    CURL* h = m_pool->take();
    if (h == nullptr) return fail(ErrorKind::connection, "curl_easy_init failed");
    curl_easy_reset(h);  // keeps the connection cache

    HttpResponse response;
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    std::unique_ptr<curl_slist, SlistDeleter> list;
    auto add_header = [&](const std::string& line) {
        curl_slist* next = curl_slist_append(list.get(), line.c_str());
        if (next != nullptr) {
            (void)list.release();
            list.reset(next);
        }
    };
    for (const auto& hd : request.headers) {
        // "Name;" is curl's way to send a header with an empty value.
        add_header(hd.value.empty() ? hd.name + ";" : hd.name + ": " + hd.value);
    }
    add_header("Expect:");  // no 100-continue round trip
    if (find_header(request.headers, "content-type").empty()) add_header("Content-Type:");
    if (find_header(request.headers, "accept").empty()) add_header("Accept:");

    const auto timeout = request.timeout.count() > 0 ? request.timeout : m_options.request_timeout;
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_options.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, m_options.verify_tls ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, m_options.verify_tls ? 2L : 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &response.headers);
    if (request.cancel != nullptr) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(request.cancel));
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (request.method == "GET" && request.body.empty()) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        if (request.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    const CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    long request_bytes = 0;  // bytes of request headers sent; 0 = nothing left this host
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    m_pool->give_back(h);
    if (rc != CURLE_OK) {
        std::string what = errbuf[0] != '\0' ? std::string(errbuf.data()) : std::string(curl_easy_strerror(rc));
        // The URL carries no secrets (SigV4 travels in headers), and it says which endpoint failed.
        std::string url = request.url.substr(0, request.url.find('?'));
        auto error = fail(kind_of(rc), request.method + " " + url + ": " + what);
        error.error().request_not_sent = request_bytes == 0;
        return error;
    }
    response.status = static_cast<int>(status);
    return response;
}

}  // namespace mailtrack::aws
