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
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
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

void wake_multi(void* multi) noexcept {
    curl_multi_wakeup(static_cast<CURLM*>(multi));
}

// Registers a request's multi handle with its cancel flag for as long as the request waits.
class CancelRegistration {
public:
    CancelRegistration(CancelFlag* flag, CURLM* multi)
        : m_flag(flag), m_id(flag != nullptr ? flag->on_set(wake_multi, multi) : 0) {}
    ~CancelRegistration() {
        if (m_flag != nullptr) m_flag->forget(m_id);
    }
    CancelRegistration(const CancelRegistration&) = delete;
    CancelRegistration& operator=(const CancelRegistration&) = delete;

private:
    CancelFlag* m_flag;
    std::uint64_t m_id;
};

struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

// One request at a time: an easy handle driven by its own multi handle, which keeps the
// connection cache (so reuse gives keep-alive) and can be woken from another thread
// (curl_multi_wakeup) when the request is cancelled.
struct Connection {
    CURL* easy = nullptr;
    CURLM* multi = nullptr;
};

// Idle connections.
struct CurlTransport::Pool {
    std::mutex mutex;
    std::vector<Connection> idle;

    Connection take() {
        {
            std::lock_guard lock(mutex);
            if (!idle.empty()) {
                Connection c = idle.back();
                idle.pop_back();
                return c;
            }
        }
        Connection c{curl_easy_init(), curl_multi_init()};
        if (c.easy == nullptr || c.multi == nullptr) {
            close(c);
            return {};
        }
        return c;
    }
    void give_back(Connection c) {
        std::lock_guard lock(mutex);
        idle.push_back(c);
    }
    static void close(Connection c) {
        if (c.easy != nullptr) curl_easy_cleanup(c.easy);
        if (c.multi != nullptr) curl_multi_cleanup(c.multi);
    }
    ~Pool() {
        for (const Connection& c : idle) close(c);
    }
};

namespace {

// Runs the transfer set up on `c.easy` to its end, or until `cancel` is set (then
// CURLE_ABORTED_BY_CALLBACK). The easy handle is detached from the multi handle afterwards.
CURLcode perform(Connection c, CancelFlag* cancel) {
    if (curl_multi_add_handle(c.multi, c.easy) != CURLM_OK) return CURLE_FAILED_INIT;
    CURLcode rc = CURLE_OK;
    {
        const CancelRegistration registration(cancel, c.multi);
        for (;;) {
            if (cancel != nullptr && cancel->is_set()) {
                rc = CURLE_ABORTED_BY_CALLBACK;
                break;
            }
            int running = 0;
            if (curl_multi_perform(c.multi, &running) != CURLM_OK) {
                rc = CURLE_FAILED_INIT;
                break;
            }
            if (running == 0) {
                int left = 0;
                rc = CURLE_GOT_NOTHING;
                while (CURLMsg* m = curl_multi_info_read(c.multi, &left)) {
                    if (m->msg == CURLMSG_DONE) rc = m->data.result;
                }
                break;
            }
            // Waits for the socket, curl's own timers or a wakeup from CancelFlag::set().
            if (curl_multi_poll(c.multi, nullptr, 0, 1000, nullptr) != CURLM_OK) {
                rc = CURLE_FAILED_INIT;
                break;
            }
        }
    }
    // Mid-transfer (cancelled) this also closes the connection, which cannot be reused.
    curl_multi_remove_handle(c.multi, c.easy);
    return rc;
}

}  // namespace

CurlTransport::CurlTransport(TransportOptions options) : m_options(options), m_pool(std::make_unique<Pool>()) {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlTransport::~CurlTransport() = default;

Result<HttpResponse> CurlTransport::send(const HttpRequest& request) {
    const Connection c = m_pool->take();
    if (c.easy == nullptr) return fail(ErrorKind::connection, "curl_easy_init failed");
    CURL* h = c.easy;
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
    if (request.method == "GET" && request.body.empty()) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        if (request.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    const CURLcode rc = perform(c, request.cancel);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    long request_bytes = 0;  // bytes of request headers sent; 0 = nothing left this host
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_bytes);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    m_pool->give_back(c);
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
