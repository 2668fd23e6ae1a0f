// The HTTP server on Boost.Beast: one io_context run by io_threads threads, each connection on
// its own strand, handlers on a separate pool. See docs/ARCHITECTURE.md ("The HTTP server").
#include "mailtrack/http/server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "mailtrack/util/json_escape.hpp"
#include "mailtrack/util/log.hpp"

namespace mailtrack::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using util::ErrorKind;

std::string_view Request::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
        if (name == lower_name) return value;
    }
    return {};
}

Response error_response(int status, std::string_view code, std::string_view message, std::string_view request_id) {
    Response r;
    r.status = status;
    r.body = "{\"error\":{\"code\":";
    util::append_json_string(r.body, code);
    r.body += ",\"message\":";
    util::append_json_string(r.body, message);
    r.body += ",\"request_id\":";
    util::append_json_string(r.body, request_id);
    r.body += "}}";
    return r;
}

util::Result<void> validate(const ServerOptions& o) {
    auto bad = [](std::string what) { return util::fail(ErrorKind::config, std::move(what)); };
    if (o.max_body_bytes < 1) return bad("server.max_body_bytes must be at least 1");
    if (o.max_header_bytes < 512) return bad("server.max_header_bytes must be at least 512");
    if (o.read_timeout.count() < 1) return bad("server.read_timeout_ms must be at least 1");
    if (o.idle_timeout.count() < 1) return bad("server.idle_timeout_ms must be at least 1");
    if (o.write_timeout.count() < 1) return bad("server.write_timeout_ms must be at least 1");
    if (o.max_connections < 1) return bad("server.max_connections must be at least 1");
    if (o.io_threads < 1 || o.io_threads > 64) return bad("server.io_threads must be 1..64");
    if (o.handler_threads < 1 || o.handler_threads > 256) return bad("server.handler_threads must be 1..256");
    if (o.tls_certificate_file.empty() != o.tls_private_key_file.empty()) {
        return bad("server.tls_certificate_file and server.tls_private_key_file: set both or neither");
    }
    return {};
}

namespace {

// A client's X-Request-Id is kept when it is 1..64 characters of [A-Za-z0-9._-]; else a new one.
bool sane_request_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string new_request_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string id(16, '0');
    std::uint64_t v = rng();
    for (auto& c : id) {
        c = k_hex[v & 0xf];
        v >>= 4;
    }
    return id;
}

std::string status_class(int status) {
    return std::to_string(status / 100) + "xx";
}

class SessionBase {
public:
    virtual ~SessionBase() = default;
    virtual void close_if_idle() = 0;
};

// What every connection shares.
struct Shared {
    Shared(ServerOptions o, Handler h, util::MetricsRegistry& m)
        : options(std::move(o)),
          handler(std::move(h)),
          metrics(m),
          pool(static_cast<std::size_t>(options.handler_threads)) {
        connections_gauge = &metrics.gauge("mailtrack_http_connections", {}, "HTTP connections open");
        refused = &metrics.counter("mailtrack_http_connections_refused_total", {},
                                   "connections closed at once because server.max_connections were open");
        duration =
            &metrics.histogram("mailtrack_http_request_duration_seconds", util::exponential_buckets(0.0005, 2, 16), {},
                               "from a request's last byte read to its response written");
        metrics.counter("mailtrack_http_requests_total", {}, "HTTP requests answered, by route and status class");
    }

    ServerOptions options;
    Handler handler;
    util::MetricsRegistry& metrics;
    asio::thread_pool pool;
    std::atomic<bool> stopping{false};
    std::atomic<std::size_t> connections{0};
    util::Gauge* connections_gauge = nullptr;
    util::Counter* refused = nullptr;
    util::Histogram* duration = nullptr;

    std::mutex sessions_mutex;
    std::vector<std::weak_ptr<SessionBase>> sessions;

    void opened() { connections_gauge->set(static_cast<std::int64_t>(++connections)); }
    void closed() { connections_gauge->set(static_cast<std::int64_t>(--connections)); }
    void add(const std::shared_ptr<SessionBase>& s) {
        std::lock_guard lock(sessions_mutex);
        if (sessions.size() >= 1024 && sessions.size() % 1024 == 0) {
            std::erase_if(sessions, [](const auto& w) { return w.expired(); });
        }
        sessions.push_back(s);
    }
};

template <bool Tls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Tls>> {
public:
    using Stream = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

    Session(tcp::socket socket, Shared& shared, asio::ssl::context* tls)
        : m_stream(make_stream(std::move(socket), tls)), m_shared(shared) {
        beast::error_code ec;
        const auto ep = lowest().socket().remote_endpoint(ec);
        if (!ec) m_remote = ep.address().to_string() + ":" + std::to_string(ep.port());
        m_shared.opened();
    }
    ~Session() override { m_shared.closed(); }

    void run() {
        if constexpr (Tls) {
            lowest().expires_after(m_shared.options.read_timeout);
            m_stream.async_handshake(asio::ssl::stream_base::server,
                                     [self = this->shared_from_this()](beast::error_code ec) {
                                         if (ec) return self->close_now();
                                         self->wait_request();
                                     });
        } else {
            asio::dispatch(m_stream.get_executor(), [self = this->shared_from_this()] { self->wait_request(); });
        }
    }

    void close_if_idle() override {
        // Cancelling the idle read ends it with operation_aborted, whose handler closes: one
        // operation at a time on the stream.
        asio::post(m_stream.get_executor(), [self = this->shared_from_this()] {
            if (self->m_idle) self->lowest().cancel();
        });
    }

private:
    static Stream make_stream(tcp::socket socket, asio::ssl::context* tls) {
        if constexpr (Tls) {
            return Stream(std::move(socket), *tls);
        } else {
            (void)tls;
            return Stream(std::move(socket));
        }
    }

    beast::tcp_stream& lowest() { return beast::get_lowest_layer(m_stream); }

    // Waits, up to idle_timeout, for the first byte of the next request.
    void wait_request() {
        if (m_shared.stopping) return close_now();
        if (m_buffer.size() > 0) return read_request();  // a pipelined request is already here
        m_idle = true;
        lowest().expires_after(m_shared.options.idle_timeout);
        m_stream.async_read_some(m_buffer.prepare(4096),
                                 [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                                     self->m_idle = false;
                                     if (ec || self->m_closing) return self->close_now();
                                     self->m_buffer.commit(n);
                                     self->read_request();
                                 });
    }

    // Reads the rest of the request, all of it within read_timeout: a client that sends slowly
    // is cut off then, holding only its socket meanwhile.
    void read_request() {
        m_parser.emplace();
        m_parser->header_limit(static_cast<std::uint32_t>(m_shared.options.max_header_bytes));
        m_parser->body_limit(m_shared.options.max_body_bytes);
        lowest().expires_after(m_shared.options.read_timeout);
        bhttp::async_read(m_stream, m_buffer, *m_parser,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        const std::string id = new_request_id();
        if (ec == bhttp::error::body_limit) {
            return refuse(413, "payload_too_large",
                          "the request body is larger than " + std::to_string(m_shared.options.max_body_bytes) +
                              " bytes (server.max_body_bytes)",
                          id);
        }
        if (ec == bhttp::error::header_limit) {
            return refuse(431, "headers_too_large",
                          "the request line and headers are larger than " +
                              std::to_string(m_shared.options.max_header_bytes) + " bytes (server.max_header_bytes)",
                          id);
        }
        if (ec == beast::error::timeout) {
            util::log::info("http request not received in time; connection closed",
                            {{"remote", m_remote},
                             {"read_timeout_ms", static_cast<std::int64_t>(m_shared.options.read_timeout.count())}});
            return close_now();
        }
        if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
            ec == asio::error::operation_aborted) {
            return close_now();
        }
        if (ec) return refuse(400, "bad_request", "malformed HTTP request: " + ec.message(), id);

        const auto& in = m_parser->get();
        Request request;
        request.method = std::string(in.method_string());
        request.target = std::string(in.target());
        const auto q = request.target.find('?');
        request.path = request.target.substr(0, q);
        if (q != std::string::npos) request.query = request.target.substr(q + 1);
        for (const auto& field : in) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            request.headers.emplace_back(std::move(name), std::string(field.value()));
        }
        const std::string_view given = request.header("x-request-id");
        request.request_id = sane_request_id(given) ? std::string(given) : id;
        request.body = std::move(m_parser->get().body());
        request.remote = m_remote;
        const bool keep_alive = in.keep_alive();
        m_began = std::chrono::steady_clock::now();
        // The handler runs on the handler pool; its answer is written back on this connection's strand.
        asio::post(
            m_shared.pool, [self = this->shared_from_this(), request = std::move(request), keep_alive]() mutable {
                Response response;
                try {
                    response = self->m_shared.handler(request);
                } catch (const std::exception& e) {
                    util::log::error("http handler failed", {{"request_id", request.request_id}, {"error", e.what()}});
                    response =
                        error_response(500, "internal", "the server failed to handle the request", request.request_id);
                }
                asio::post(self->m_stream.get_executor(),
                           [self, request = std::move(request), response = std::move(response), keep_alive]() mutable {
                               self->write(request.method, request.request_id, std::move(response), keep_alive);
                           });
            });
    }

    // Answers a request that could not be read, then closes: the stream cannot be resynchronised.
    void refuse(int status, std::string_view code, const std::string& message, const std::string& id) {
        m_began = std::chrono::steady_clock::now();
        Response r = error_response(status, code, message, id);
        r.route = "unreadable";
        m_linger = true;
        write("-", id, std::move(r), false);
    }

    void write(const std::string& method, const std::string& id, Response response, bool keep_alive) {
        m_response = {};
        m_response.version(11);
        m_response.result(static_cast<unsigned>(response.status));
        m_response.set(bhttp::field::server, "mailtrack");
        if (!response.content_type.empty()) m_response.set(bhttp::field::content_type, response.content_type);
        m_response.set("X-Request-Id", id);
        for (auto& [name, value] : response.headers) m_response.set(name, value);
        m_response.body() = std::move(response.body);
        m_response.keep_alive(keep_alive && !m_shared.stopping);
        m_response.prepare_payload();
        lowest().expires_after(m_shared.options.write_timeout);
        m_route = std::move(response.route);
        m_method = method;
        m_request_id = id;
        bhttp::async_write(
            m_stream, m_response,
            [self = this->shared_from_this()](beast::error_code ec, std::size_t bytes) { self->written(ec, bytes); });
    }

    void written(beast::error_code ec, std::size_t bytes) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_began).count();
        const int status = static_cast<int>(m_response.result_int());
        m_shared.duration->observe(seconds);
        m_shared.metrics.counter("mailtrack_http_requests_total", {{"route", m_route}, {"code", status_class(status)}})
            .add();
        if (m_shared.options.access_log == AccessLog::on) {
            util::log::info("http", {{"request_id", m_request_id},
                                     {"method", m_method},
                                     {"route", m_route},
                                     {"status", status},
                                     {"bytes", static_cast<std::int64_t>(bytes)},
                                     {"duration_ms", seconds * 1000.0},
                                     {"remote", m_remote}});
        }
        if (ec || !m_response.keep_alive()) return close_now();
        wait_request();
    }

    void close_now() {
        if (m_closing) return;
        m_closing = true;
        beast::error_code ignored;
        if constexpr (Tls) {
            // A close_notify, bounded in time; the socket closes with the session either way.
            lowest().expires_after(std::chrono::seconds(2));
            m_stream.async_shutdown([self = this->shared_from_this()](beast::error_code) {
                beast::error_code e;
                self->lowest().socket().close(e);
            });
        } else if (!m_linger) {
            lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
            lowest().close();
        } else {
            // Lingering close after a refused request: stop sending, then read and drop what the
            // client still sends (e.g. the rest of a body refused with 413) for a moment, so
            // closing does not reset the connection before the client has read the answer.
            lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
            lowest().expires_after(std::chrono::seconds(2));
            drain();
        }
    }

    void drain() {
        m_buffer.clear();
        lowest().async_read_some(m_buffer.prepare(16 * 1024),
                                 [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (ec) {
                                         beast::error_code e;
                                         self->lowest().socket().close(e);
                                         return;
                                     }
                                     self->drain();
                                 });
    }

    Stream m_stream;
    Shared& m_shared;
    beast::flat_buffer m_buffer;
    std::optional<bhttp::request_parser<bhttp::string_body>> m_parser;
    bhttp::response<bhttp::string_body> m_response;
    std::string m_remote;
    std::string m_route, m_method, m_request_id;
    std::chrono::steady_clock::time_point m_began{};
    bool m_idle = false;
    bool m_closing = false;
    bool m_linger = false;
};

class BeastServer final : public Server {
public:
    BeastServer(ServerOptions options, Handler handler, util::MetricsRegistry& metrics)
        : m_shared(std::move(options), std::move(handler), metrics),
          m_ioc(m_shared.options.io_threads),
          m_acceptor(m_ioc),
          m_work(asio::make_work_guard(m_ioc)) {}

    ~BeastServer() override { stop(std::chrono::milliseconds(0)); }

    util::Result<void> listen() {
        const ServerOptions& o = m_shared.options;
        if (!o.tls_certificate_file.empty()) {
            m_tls.emplace(asio::ssl::context::tls_server);
            m_tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                               asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                               asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
            beast::error_code ec;
            m_tls->use_certificate_chain_file(o.tls_certificate_file, ec);
            if (ec) {
                return util::fail(ErrorKind::config,
                                  "server.tls_certificate_file " + o.tls_certificate_file + ": " + ec.message());
            }
            m_tls->use_private_key_file(o.tls_private_key_file, asio::ssl::context::pem, ec);
            if (ec) {
                return util::fail(ErrorKind::config,
                                  "server.tls_private_key_file " + o.tls_private_key_file + ": " + ec.message());
            }
        }
        beast::error_code ec;
        const auto address = asio::ip::make_address(o.listen_address, ec);
        if (ec)
            return util::fail(ErrorKind::config, "server.listen_address " + o.listen_address + ": not an IP address");
        const tcp::endpoint endpoint(address, o.port);
        const std::string where = o.listen_address + ":" + std::to_string(o.port);
        m_acceptor.open(endpoint.protocol(), ec);
        if (!ec) m_acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) m_acceptor.bind(endpoint, ec);
        if (!ec) m_acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return util::fail(ErrorKind::io, "cannot listen on " + where + ": " + ec.message());
        m_port = m_acceptor.local_endpoint().port();
        accept();
        for (int i = 0; i < o.io_threads; ++i) m_threads.emplace_back([this] { m_ioc.run(); });
        util::log::info(
            "http server listening",
            {{"address", o.listen_address}, {"port", static_cast<std::int64_t>(m_port)}, {"tls", m_tls.has_value()}});
        return {};
    }

    std::uint16_t port() const noexcept override { return m_port; }
    std::size_t connections() const noexcept override { return m_shared.connections.load(); }

    void stop(std::chrono::milliseconds deadline) override {
        std::lock_guard stop_lock(m_stop_mutex);
        if (m_stopped) return;
        m_stopped = true;
        m_shared.stopping = true;
        asio::post(m_ioc, [this] {
            beast::error_code ignored;
            m_acceptor.close(ignored);
        });
        {
            std::lock_guard lock(m_shared.sessions_mutex);
            for (auto& w : m_shared.sessions) {
                if (auto s = w.lock()) s->close_if_idle();
            }
        }
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (m_shared.connections.load() > 0 && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        m_work.reset();
        m_ioc.stop();
        for (auto& t : m_threads) t.join();
        m_shared.pool.stop();  // handlers not started yet are dropped: their connections are gone
        m_shared.pool.join();
        util::log::info("http server stopped", {{"connections_cut", static_cast<std::int64_t>(connections())}});
    }

private:
    void accept() {
        m_acceptor.async_accept(asio::make_strand(m_ioc), [this](beast::error_code ec, tcp::socket socket) {
            if (!m_acceptor.is_open()) return;
            if (!ec) {
                if (m_shared.connections.load() >= m_shared.options.max_connections) {
                    m_shared.refused->add();
                    beast::error_code ignored;
                    socket.close(ignored);
                } else if (m_tls) {
                    start_session(std::make_shared<Session<true>>(std::move(socket), m_shared, &*m_tls));
                } else {
                    start_session(std::make_shared<Session<false>>(std::move(socket), m_shared, nullptr));
                }
            }
            accept();
        });
    }

    template <typename S>
    void start_session(std::shared_ptr<S> session) {
        m_shared.add(session);
        session->run();
    }

    // Declared before the io_context: destroying it destroys the sessions its queues still hold,
    // which use these.
    Shared m_shared;
    std::optional<asio::ssl::context> m_tls;
    asio::io_context m_ioc;
    tcp::acceptor m_acceptor;
    asio::executor_work_guard<asio::io_context::executor_type> m_work;
    std::vector<std::thread> m_threads;
    std::uint16_t m_port = 0;
    std::mutex m_stop_mutex;
    bool m_stopped = false;
};

}  // namespace

util::Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Handler handler,
                                                    util::MetricsRegistry& metrics) {
    MAILTRACK_TRY(validate(options));
    auto server = std::make_unique<BeastServer>(std::move(options), std::move(handler), metrics);
    MAILTRACK_TRY(server->listen());
    return std::unique_ptr<Server>(std::move(server));
}

}  // namespace mailtrack::http
