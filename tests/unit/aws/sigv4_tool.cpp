// Test helper for the botocore cross-check (sigv4_botocore_check.py): reads one JSON request
// per line on stdin, signs it with mailtrack's signer and prints the Authorization header.
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "mailtrack/aws/sigv4.hpp"

int main() {
    using namespace mailtrack::aws;
    std::string line;
    while (std::getline(std::cin, line)) {
        const auto j = nlohmann::json::parse(line);
        SignableRequest r;
        r.method = j.at("method").get<std::string>();
        r.path = j.at("path").get<std::string>();
        r.query = j.at("query").get<std::string>();
        for (const auto& h : j.at("headers"))
            r.headers.push_back({h.at(0).get<std::string>(), h.at(1).get<std::string>()});
        const std::string body = j.at("body").get<std::string>();
        r.body = body;
        const Credentials c{j.at("access_key").get<std::string>(), j.at("secret_key").get<std::string>(),
                            j.at("token").get<std::string>(), std::nullopt, "test"};
        sign(r, c, {j.at("region").get<std::string>(), j.at("service").get<std::string>()},
             j.at("now_ms").get<std::int64_t>());
        std::cout << find_header(r.headers, "Authorization") << "\n";
    }
    return 0;
}
