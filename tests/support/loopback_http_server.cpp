#include "loopback_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace mailtrack::testing {

std::string TestRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0) return v;
    }
    return {};
}

LoopbackHttpServer::LoopbackHttpServer(Handler handler) : m_handler(std::move(handler)) {
    m_listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (m_listen_fd < 0 || ::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_listen_fd, 64) != 0) {
        throw std::runtime_error(std::string("loopback server: ") + std::strerror(errno));
    }
    socklen_t len = sizeof addr;
    ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    m_acceptor = std::thread([this] { accept_loop(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
    m_stop = true;
    m_acceptor.join();
    for (auto& t : m_threads) t.join();
    ::close(m_listen_fd);
}

std::vector<TestRequest> LoopbackHttpServer::requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
}

void LoopbackHttpServer::accept_loop() {
    while (!m_stop) {
        pollfd p{m_listen_fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int fd = ::accept(m_listen_fd, nullptr, nullptr);
        if (fd < 0) continue;
        const int n = ++m_connections;
        std::lock_guard lock(m_mutex);
        m_threads.emplace_back([this, fd, n] { serve(fd, n); });
    }
}

void LoopbackHttpServer::serve(int fd, int connection) {
    std::string buf;
    auto read_more = [&]() -> bool {
        while (!m_stop) {
            pollfd p{fd, POLLIN, 0};
            const int r = ::poll(&p, 1, 50);
            if (r == 0) continue;
            char chunk[65536];
            const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
            if (got <= 0) return false;
            buf.append(chunk, static_cast<std::size_t>(got));
            return true;
        }
        return false;
    };
    while (!m_stop) {
        std::size_t head_end;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
            if (!read_more()) {
                ::close(fd);
                return;
            }
        }
        TestRequest req;
        req.connection = connection;
        std::string_view head(buf.data(), head_end);
        auto line_end = head.find("\r\n");
        const std::string_view request_line = head.substr(0, line_end);
        const auto sp1 = request_line.find(' ');
        const auto sp2 = request_line.rfind(' ');
        req.method = std::string(request_line.substr(0, sp1));
        req.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
        std::size_t content_length = 0;
        while (line_end != std::string_view::npos) {
            head.remove_prefix(line_end + 2);
            line_end = head.find("\r\n");
            const std::string_view line = head.substr(0, line_end);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) continue;
            std::string_view v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            req.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
            if (strncasecmp(line.data(), "content-length", 14) == 0) content_length = std::stoul(std::string(v));
        }
        const std::size_t body_start = head_end + 4;
        while (buf.size() < body_start + content_length) {
            if (!read_more()) {
                ::close(fd);
                return;
            }
        }
        req.body = buf.substr(body_start, content_length);
        buf.erase(0, body_start + content_length);
        {
            std::lock_guard lock(m_mutex);
            m_requests.push_back(req);
        }
        const TestResponse resp = m_handler(req);
        const auto until = std::chrono::steady_clock::now() + resp.delay;
        while (!m_stop && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (resp.close || m_stop) break;
        std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " X\r\n";
        for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
        out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n\r\n" + resp.body;
        std::size_t sent = 0;
        while (sent < out.size()) {
            const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
    }
    ::close(fd);
}

}  // namespace mailtrack::testing
