#pragma once

// The HTTP/1.1 server of `mailtrack serve`, behind a small interface: handlers see a Request and
// return a Response; the library (Boost.Beast over Boost.Asio, OpenSSL for TLS) stays private to
// server.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailtrack/util/error.hpp"
#include "mailtrack/util/metrics.hpp"

namespace mailtrack::http {

struct Request {
    std::string method;                                        // "GET", "POST", ...
    std::string target;                                        // as sent: path and query
    std::string path;                                          // the target before '?', not decoded
    std::string query;                                         // after '?', not decoded; empty when none
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
    std::string body;
    std::string request_id;  // the one the response carries (X-Request-Id)
    std::string remote;      // peer address

    // The first header of that (lower-case) name; empty when absent.
    std::string_view header(std::string_view lower_name) const;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // What the access log and metrics call the route ("GET /v1/emails/{id}"); never the raw
    // path, so an address in a path is neither logged nor a metric label.
    std::string route = "unmatched";
};

using Handler = std::function<Response(const Request&)>;

enum class AccessLog { off, on };

struct ServerOptions {
    std::string listen_address = "127.0.0.1";
    std::uint16_t port = 8080;                       // 0: any free port (see Server::port())
    std::size_t max_body_bytes = 1024 * 1024;        // larger: 413
    std::size_t max_header_bytes = 16 * 1024;        // request line and headers; larger: 431
    std::chrono::milliseconds read_timeout{10'000};  // from a request's first byte to its last
    std::chrono::milliseconds idle_timeout{60'000};  // a kept-alive connection waiting for a request
    std::chrono::milliseconds write_timeout{10'000};
    std::size_t max_connections = 1024;  // beyond: accepted and closed at once, counted
    int io_threads = 2;                  // sockets: reading, parsing, writing
    int handler_threads = 8;             // handlers run here, so a slow handler holds no socket thread
    std::string tls_certificate_file;    // both set: TLS on every connection (PEM, chain first)
    std::string tls_private_key_file;
    AccessLog access_log = AccessLog::on;
};

// Errors: ErrorKind::config naming the option that is out of range.
util::Result<void> validate(const ServerOptions& options);

// Runs until stop(). Every response carries X-Request-Id (the client's when it sent a sane one,
// else a new one) and the metrics count requests by route and status class, durations, open
// connections and refused ones.
class Server {
public:
    // Binds and starts serving. Errors: config (bad options, unreadable TLS files), io (cannot
    // bind: the message names the address).
    static util::Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler,
                                                       util::MetricsRegistry& metrics);
    virtual ~Server() = default;

    virtual std::uint16_t port() const noexcept = 0;
    // Graceful stop: no new connections; idle keep-alive connections are closed; requests in
    // progress finish and are answered with Connection: close; at `deadline` whatever is left
    // is cut off. Returns when every thread is done. Safe to call more than once.
    virtual void stop(std::chrono::milliseconds deadline) = 0;
    // Connections open now.
    virtual std::size_t connections() const noexcept = 0;
};

// A response with {"error": {"code", "message", "request_id"}}.
Response error_response(int status, std::string_view code, std::string_view message, std::string_view request_id);

}  // namespace mailtrack::http
