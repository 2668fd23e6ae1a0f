// The HTTP server on loopback, driven over raw sockets so hostile clients can be what they are:
// oversized bodies and headers, a slow-loris client, idle keep-alive connections, too many
// connections, a graceful stop with a request in progress.
#include "mailtrack/http/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>

namespace mailtrack::http {
namespace {

using namespace std::chrono_literals;

// A blocking loopback TCP client with a receive timeout.
class Client {
public:
    explicit Client(std::uint16_t port) {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected = ::connect(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~Client() { ::close(m_fd); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // Reads one response (headers, then Content-Length bytes); empty when the connection closed
    // or nothing came within `within`.
    std::string response(std::chrono::milliseconds within = 5s) {
        const auto until = std::chrono::steady_clock::now() + within;
        for (;;) {
            const auto end = m_in.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::size_t length = 0;
                const auto cl = lower(m_in.substr(0, end)).find("content-length: ");
                if (cl != std::string::npos) length = std::stoul(m_in.substr(cl + 16));
                if (m_in.size() >= end + 4 + length) {
                    std::string r = m_in.substr(0, end + 4 + length);
                    m_in.erase(0, end + 4 + length);
                    return r;
                }
            }
            if (!read_some(until)) return {};
        }
    }

    // Whether the server closed the connection within `within` (EOF or reset), reading past
    // whatever response came first.
    bool closed_by_server(std::chrono::milliseconds within) {
        const auto until = std::chrono::steady_clock::now() + within;
        while (std::chrono::steady_clock::now() < until) {
            if (!read_some(until)) return m_eof;
        }
        return false;
    }

    bool connected = false;

private:
    static std::string lower(std::string s) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
    bool read_some(std::chrono::steady_clock::time_point until) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[8192];
        const auto n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0) {
            m_eof = true;
            return false;
        }
        m_in.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int m_fd = -1;
    std::string m_in;
    bool m_eof = false;
};

// Whether `done` holds within two seconds (checked every millisecond).
template <typename F>
bool eventually(F done) {
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(1ms);
    }
    return done();
}

std::string get(std::string_view path, std::string_view extra = "") {
    return "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra) + "\r\n";
}

int status_of(const std::string& response) {
    return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

std::string header_of(const std::string& response, std::string_view name) {
    const std::string key = "\r\n" + std::string(name) + ": ";
    const auto at = response.find(key);
    if (at == std::string::npos) return {};
    const auto end = response.find("\r\n", at + key.size());
    return response.substr(at + key.size(), end - at - key.size());
}

std::string body_of(const std::string& response) {
    const auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : response.substr(at + 4);
}

ServerOptions loopback() {
    ServerOptions o;
    o.port = 0;
    o.io_threads = 1;
    o.handler_threads = 2;
    o.access_log = AccessLog::off;
    return o;
}

Response echo(const Request& r) {
    Response out;
    out.content_type = "text/plain";
    out.body = r.method + " " + r.path + " ?" + r.query + " " + std::to_string(r.body.size()) + " " +
               std::string(r.header("x-test"));
    out.route = "echo";
    return out;
}

TEST(HttpServer, AnswersRequestsOnAKeptAliveConnectionWithARequestId) {
    util::MetricsRegistry metrics;
    auto server = Server::start(loopback(), echo, metrics);
    ASSERT_TRUE(server) << server.error().describe();
    Client c((*server)->port());
    ASSERT_TRUE(c.connected);
    c.send(get("/a/b?x=1", "X-Test: yes\r\n"));
    const std::string first = c.response();
    EXPECT_EQ(status_of(first), 200) << first;
    EXPECT_EQ(body_of(first), "GET /a/b ?x=1 0 yes");
    EXPECT_EQ(header_of(first, "X-Request-Id").size(), 16u);
    c.send("POST /p HTTP/1.1\r\nHost: l\r\nContent-Length: 5\r\nX-Request-Id: client-id.1\r\n\r\nhello");
    const std::string second = c.response();
    EXPECT_EQ(body_of(second), "POST /p ? 5 ");
    EXPECT_EQ(header_of(second, "X-Request-Id"), "client-id.1");
    c.send(get("/", "X-Request-Id: <script>\r\n"));
    const std::string third = c.response();
    EXPECT_NE(header_of(third, "X-Request-Id"), "<script>");
    EXPECT_EQ(header_of(third, "X-Request-Id").size(), 16u);
    // Counted once the response is written, which may be just after the client has read it.
    EXPECT_TRUE(eventually([&] {
        return metrics.prometheus_text().find("mailtrack_http_requests_total{code=\"2xx\",route=\"echo\"} 3") !=
               std::string::npos;
    })) << metrics.prometheus_text();
}

TEST(HttpServer, ABodyOverTheLimitIs413AndHeadersOverTheLimitAre431) {
    util::MetricsRegistry metrics;
    ServerOptions o = loopback();
    o.max_body_bytes = 100;
    o.max_header_bytes = 1024;
    auto server = Server::start(o, echo, metrics);
    ASSERT_TRUE(server);
    {
        Client c((*server)->port());
        c.send("POST /p HTTP/1.1\r\nHost: l\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'x'));
        const std::string r = c.response();
        EXPECT_EQ(status_of(r), 413) << r;
        EXPECT_NE(body_of(r).find("\"code\":\"payload_too_large\""), std::string::npos);
        EXPECT_NE(body_of(r).find("server.max_body_bytes"), std::string::npos);
        EXPECT_TRUE(c.closed_by_server(3s));
    }
    {
        Client c((*server)->port());
        c.send("POST /p HTTP/1.1\r\nHost: l\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
        EXPECT_EQ(status_of(c.response()), 200);
    }
    {
        Client c((*server)->port());
        c.send(get("/", "X-Big: " + std::string(2000, 'a') + "\r\n"));
        const std::string r = c.response();
        EXPECT_EQ(status_of(r), 431) << r;
        EXPECT_NE(body_of(r).find("\"code\":\"headers_too_large\""), std::string::npos);
    }
    {
        Client c((*server)->port());
        c.send("NOT HTTP AT ALL\r\n\r\n");
        const std::string r = c.response();
        EXPECT_EQ(status_of(r), 400) << r;
        EXPECT_NE(body_of(r).find("\"request_id\":\""), std::string::npos);
    }
}

TEST(HttpServer, ASlowClientIsCutOffAndHoldsNoThreadMeanwhile) {
    util::MetricsRegistry metrics;
    ServerOptions o = loopback();
    o.read_timeout = 300ms;
    auto server = Server::start(o, echo, metrics);
    ASSERT_TRUE(server);
    // Slow-loris: a request line and one header, then a trickle that never ends the headers.
    Client slow((*server)->port());
    slow.send("GET / HTTP/1.1\r\nHost: l\r\n");
    std::vector<std::unique_ptr<Client>> more;
    for (int i = 0; i < 8; ++i) {
        more.push_back(std::make_unique<Client>((*server)->port()));
        more.back()->send("X-A: b\r\n");
    }
    // With one io thread and two handler threads, a normal client is still served at once.
    Client normal((*server)->port());
    normal.send(get("/ok"));
    EXPECT_EQ(status_of(normal.response(1s)), 200);
    slow.send("X-Trickle: 1\r\n");
    EXPECT_TRUE(slow.closed_by_server(2s));
    for (auto& c : more) EXPECT_TRUE(c->closed_by_server(2s));
}

TEST(HttpServer, AnIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
    util::MetricsRegistry metrics;
    ServerOptions o = loopback();
    o.idle_timeout = 200ms;
    auto server = Server::start(o, echo, metrics);
    ASSERT_TRUE(server);
    Client c((*server)->port());
    c.send(get("/"));
    EXPECT_EQ(status_of(c.response()), 200);
    const auto began = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.closed_by_server(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - began, 150ms);
}

TEST(HttpServer, ConnectionsBeyondTheLimitAreRefusedAndCounted) {
    util::MetricsRegistry metrics;
    ServerOptions o = loopback();
    o.max_connections = 2;
    auto server = Server::start(o, echo, metrics);
    ASSERT_TRUE(server);
    Client a((*server)->port()), b((*server)->port());
    a.send(get("/"));
    b.send(get("/"));
    EXPECT_EQ(status_of(a.response()), 200);
    EXPECT_EQ(status_of(b.response()), 200);
    Client c((*server)->port());
    EXPECT_TRUE(c.closed_by_server(2s));
    EXPECT_TRUE(eventually([&] {
        return metrics.prometheus_text().find("mailtrack_http_connections_refused_total 1") != std::string::npos;
    }));
    EXPECT_EQ((*server)->connections(), 2u);
}

TEST(HttpServer, AHandlerThatThrowsGivesA500WithTheErrorShape) {
    util::MetricsRegistry metrics;
    auto server = Server::start(
        loopback(), [](const Request&) -> Response { throw std::runtime_error("boom"); }, metrics);
    ASSERT_TRUE(server);
    Client c((*server)->port());
    c.send(get("/"));
    const std::string r = c.response();
    EXPECT_EQ(status_of(r), 500);
    EXPECT_NE(body_of(r).find("\"code\":\"internal\""), std::string::npos);
    EXPECT_EQ(body_of(r).find("boom"), std::string::npos);  // internals stay in the log
}

TEST(HttpServer, AGracefulStopFinishesTheRequestInProgressAndClosesIdleConnections) {
    util::MetricsRegistry metrics;
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
    std::atomic<bool> entered{false};
    auto server = Server::start(
        loopback(),
        [&](const Request& r) {
            if (r.path == "/slow") {
                entered = true;
                std::unique_lock lock(m);
                cv.wait(lock, [&] { return release; });
            }
            return echo(r);
        },
        metrics);
    ASSERT_TRUE(server);
    const std::uint16_t port = (*server)->port();
    Client idle(port);
    idle.send(get("/"));
    EXPECT_EQ(status_of(idle.response()), 200);
    Client busy(port);
    busy.send(get("/slow"));
    while (!entered) std::this_thread::sleep_for(1ms);
    auto stopped = std::async(std::launch::async, [&] { (*server)->stop(10s); });
    EXPECT_TRUE(idle.closed_by_server(3s));                           // the idle one goes at once
    EXPECT_EQ(stopped.wait_for(100ms), std::future_status::timeout);  // the busy one is waited for
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    const std::string r = busy.response();
    EXPECT_EQ(status_of(r), 200) << r;
    EXPECT_EQ(header_of(r, "Connection"), "close");
    stopped.get();
    Client late(port);
    EXPECT_FALSE(late.connected);
}

TEST(HttpServer, BadOptionsAndABusyPortAreErrorsThatNameThem) {
    util::MetricsRegistry metrics;
    ServerOptions o = loopback();
    o.tls_certificate_file = "/nonexistent.pem";
    auto half = Server::start(o, echo, metrics);
    ASSERT_FALSE(half);
    EXPECT_NE(half.error().message.find("set both or neither"), std::string::npos);
    o.tls_private_key_file = "/nonexistent.key";
    auto missing = Server::start(o, echo, metrics);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("server.tls_certificate_file /nonexistent.pem"), std::string::npos);

    auto first = Server::start(loopback(), echo, metrics);
    ASSERT_TRUE(first);
    ServerOptions same = loopback();
    same.port = (*first)->port();
    auto second = Server::start(same, echo, metrics);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(same.port)),
              std::string::npos);
}

}  // namespace
}  // namespace mailtrack::http
