#include "mailtrack/app/server_options.hpp"

namespace mailtrack::app {

util::Result<http::ServerOptions> server_options(const config::Config& c) {
    const config::ServerSettings& s = c.typed().server;
    if (s.port < 0 || s.port > 65535) {
        return util::fail(util::ErrorKind::config, "server.port must be 0..65535, got " + std::to_string(s.port));
    }
    const std::pair<const char*, std::int64_t> positive[] = {
        {"server.max_body_bytes", s.max_body_bytes},
        {"server.max_header_bytes", s.max_header_bytes},
        {"server.read_timeout_ms", s.read_timeout_ms},
        {"server.idle_timeout_ms", s.idle_timeout_ms},
        {"server.write_timeout_ms", s.write_timeout_ms},
        {"server.max_connections", s.max_connections},
        {"server.io_threads", s.io_threads},
        {"server.handler_threads", s.handler_threads},
        {"server.shutdown_timeout_s", s.shutdown_timeout_s + 1},
    };
    for (const auto& [key, value] : positive) {
        if (value < 1) return util::fail(util::ErrorKind::config, std::string(key) + " must be positive");
    }
    http::ServerOptions o;
    o.listen_address = s.listen_address == "localhost" ? "127.0.0.1" : s.listen_address;
    o.port = static_cast<std::uint16_t>(s.port);
    o.max_body_bytes = static_cast<std::size_t>(s.max_body_bytes);
    o.max_header_bytes = static_cast<std::size_t>(s.max_header_bytes);
    o.read_timeout = std::chrono::milliseconds(s.read_timeout_ms);
    o.idle_timeout = std::chrono::milliseconds(s.idle_timeout_ms);
    o.write_timeout = std::chrono::milliseconds(s.write_timeout_ms);
    o.max_connections = static_cast<std::size_t>(s.max_connections);
    o.io_threads = static_cast<int>(std::min<std::int64_t>(s.io_threads, 1000));
    o.handler_threads = static_cast<int>(std::min<std::int64_t>(s.handler_threads, 1000));
    o.tls_certificate_file = s.tls_certificate_file;
    o.tls_private_key_file = s.tls_private_key_file;
    o.access_log = s.access_log ? http::AccessLog::on : http::AccessLog::off;
    MAILTRACK_TRY(http::validate(o));
    return o;
}

bool is_loopback_address(const std::string& a) {
    return a == "localhost" || a == "::1" || a.starts_with("127.");
}

}  // namespace mailtrack::app
