// `mailtrack ingest FILE... | -`: SES event documents (JSON or NDJSON, SNS-wrapped or raw) into the store.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "mailtrack/ingest/ingestor.hpp"

#include "../context.hpp"
#include "../input.hpp"
#include "commands.hpp"

namespace mailtrack::cli {
namespace {

using nlohmann::json;

json report_json(const ingest::IngestReport& rep) {
    json rejected = json::array();
    for (const auto& x : rep.rejections) rejected.push_back({{"origin", x.origin}, {"reason", x.reason}});
    return {{"documents", rep.documents}, {"applied", rep.applied},   {"duplicates", rep.duplicates},
            {"unknown", rep.unknown},     {"rejected", rep.rejected}, {"rejections", std::move(rejected)}};
}

int cmd_ingest(const GlobalOptions& g, const std::vector<std::string>& inputs) {
    auto services = open_services(g);
    const config::Config& c = services->config();
    store::Store* store = &require_store(*services);
    ingest::Ingestor ingestor(*store, static_cast<std::size_t>(c.typed().ingest.batch_size),
                              static_cast<std::size_t>(c.typed().ingest.max_document_bytes));
    const std::vector<std::string> sources = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
    for (const auto& path : sources) {
        const std::string text = read_input(path);
        if (auto r = ingestor.add_input(text, path == "-" ? "stdin" : path); !r)
            throw CommandError{r.error().describe()};
    }
    if (auto r = ingestor.flush(); !r) throw CommandError{r.error().describe()};
    const auto& rep = ingestor.report();
    if (g.json) {
        std::cout << report_json(rep).dump() << "\n";
    } else {
        std::cout << fmt::format("applied {}  duplicates {}  unknown {}  rejected {}  ({} documents, {} batches)\n",
                                 rep.applied, rep.duplicates, rep.unknown, rep.rejected, rep.documents, rep.batches);
        for (const auto& x : rep.rejections) std::cout << "rejected " << x.origin << ": " << x.reason << "\n";
    }
    return rep.rejected > 0 ? k_exit_partial : k_exit_ok;
}

}  // namespace

void register_ingest(const CommandLine& line) {
    auto inputs = std::make_shared<std::vector<std::string>>();
    auto* ingest = line.app.add_subcommand("ingest", "apply SES event documents (JSON or NDJSON; SNS-wrapped or raw)");
    add_common_options(*ingest, line.global);
    ingest->add_option("inputs", *inputs, "files to read; - for standard input");
    ingest->callback([line, inputs] { line.action = [line, inputs] { return cmd_ingest(line.global, *inputs); }; });
}

}  // namespace mailtrack::cli
