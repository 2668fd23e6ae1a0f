// Prints testing::realistic_stream(emails, seed, wrapped) as a JSON array of documents, for
// the process-level worker tests and bench/worker_bench.py.
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#include "event_factory.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: event_stream_tool EMAILS SEED [raw]\n";
        return 2;
    }
    const auto emails = static_cast<std::size_t>(std::strtoull(argv[1], nullptr, 10));
    const auto seed = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
    const bool wrapped = !(argc > 3 && std::string(argv[3]) == "raw");
    std::cout << nlohmann::json(mailtrack::testing::realistic_stream(emails, seed, wrapped)).dump() << "\n";
    return 0;
}
