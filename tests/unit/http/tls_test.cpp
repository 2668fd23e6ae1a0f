// TLS on the HTTP server: a throwaway CA-less certificate made by openssl(1), a client that
// verifies it (OpenSSL, hostname checked), and a plain-HTTP client refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "mailtrack/http/server.hpp"

namespace mailtrack::http {
namespace {

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

class Tls : public ::testing::Test {
protected:
    void SetUp() override {
        dir = std::filesystem::temp_directory_path() / ("mailtrack-tls-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        cert = (dir / "cert.pem").string();
        key = (dir / "key.pem").string();
        const std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
            "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
            key + " -out " + cert + " 2>/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::filesystem::path dir;
    std::string cert, key;
};

TEST_F(Tls, AVerifyingClientIsServedAndAPlainOneIsRefused) {
    util::MetricsRegistry metrics;
    ServerOptions o;
    o.port = 0;
    o.io_threads = 1;
    o.handler_threads = 1;
    o.access_log = AccessLog::off;
    o.tls_certificate_file = cert;
    o.tls_private_key_file = key;
    auto server = Server::start(
        o,
        [](const Request& r) {
            Response out;
            out.body = "{\"path\":\"" + r.path + "\"}";
            return out;
        },
        metrics);
    ASSERT_TRUE(server) << server.error().describe();

    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    ASSERT_NE(ctx, nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    ASSERT_EQ(SSL_CTX_load_verify_locations(ctx, cert.c_str(), nullptr), 1);
    const int fd = connect_loopback((*server)->port());
    ASSERT_GE(fd, 0);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    char host[] = "localhost";
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host);  // SNI
    SSL_set1_host(ssl, "localhost");
    ASSERT_EQ(SSL_connect(ssl), 1) << ERR_error_string(ERR_get_error(), nullptr);
    EXPECT_EQ(SSL_get_verify_result(ssl), X509_V_OK);
    EXPECT_GE(SSL_version(ssl), TLS1_2_VERSION);
    const std::string request = "GET /secure HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(SSL_write(ssl, request.data(), static_cast<int>(request.size())), static_cast<int>(request.size()));
    std::string response;
    char buf[4096];
    for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) response.append(buf, static_cast<std::size_t>(n));
    EXPECT_EQ(response.substr(0, 15), "HTTP/1.1 200 OK") << response;
    EXPECT_NE(response.find("{\"path\":\"/secure\"}"), std::string::npos);
    SSL_free(ssl);
    ::close(fd);
    SSL_CTX_free(ctx);

    // Plain HTTP on the TLS port: the handshake fails and the connection closes, no answer.
    const int plain = connect_loopback((*server)->port());
    ASSERT_GE(plain, 0);
    const std::string get = "GET /secure HTTP/1.1\r\nHost: l\r\n\r\n";
    ASSERT_EQ(::send(plain, get.data(), get.size(), MSG_NOSIGNAL), static_cast<ssize_t>(get.size()));
    std::string got;
    for (ssize_t n; (n = ::recv(plain, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
    EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;
    ::close(plain);
}

TEST_F(Tls, AKeyThatIsNotAKeyIsAConfigErrorNamingTheSetting) {
    util::MetricsRegistry metrics;
    ServerOptions o;
    o.port = 0;
    o.tls_certificate_file = cert;
    o.tls_private_key_file = cert;  // a certificate, not a key
    auto server = Server::start(
        o, [](const Request&) { return Response{}; }, metrics);
    ASSERT_FALSE(server);
    EXPECT_EQ(server.error().kind, util::ErrorKind::config);
    EXPECT_NE(server.error().message.find("server.tls_private_key_file " + cert), std::string::npos);
}

}  // namespace
}  // namespace mailtrack::http
