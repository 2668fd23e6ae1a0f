#pragma once

// A small HTTP/1.1 server on 127.0.0.1 with a free port, for tests that need to see what a
// client sends or to make it fail in controlled ways (errors, hangs, closed connections).
// Keep-alive is supported; each connection gets its own thread. Thread-safe.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mailtrack::testing {

struct TestRequest {
    std::string method;
    std::string target;  // path?query as sent
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int connection = 0;  // which accepted connection it came on (1-based)

    std::string header(std::string_view name) const;  // case-insensitive, "" when absent
};

struct TestResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds delay{0};  // wait before answering (a "hung" server)
    bool close = false;                  // close the connection instead of answering
};

class LoopbackHttpServer {
public:
    using Handler = std::function<TestResponse(const TestRequest&)>;
    explicit LoopbackHttpServer(Handler handler);
    ~LoopbackHttpServer();
    LoopbackHttpServer(const LoopbackHttpServer&) = delete;
    LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

    int port() const { return m_port; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    std::vector<TestRequest> requests() const;
    int connections() const { return m_connections.load(); }

private:
    void accept_loop();
    void serve(int fd, int connection);

    Handler m_handler;
    int m_listen_fd = -1;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_connections{0};
    mutable std::mutex m_mutex;
    std::vector<TestRequest> m_requests;
    std::vector<std::thread> m_threads;
    std::thread m_acceptor;
};

}  // namespace mailtrack::testing
