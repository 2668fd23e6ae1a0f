#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "mailtrack/app/pipeline_setup.hpp"
#include "mailtrack/config/config.hpp"

namespace mailtrack::cli {

// The queue-side commands (issue 4). Each returns the process exit code and reports its own
// errors on stderr as "mailtrack: ...".

// `mailtrack worker`: consumes worker.queue_urls until SIGTERM/SIGINT. The first signal stops
// gracefully (commit and delete in-flight work; exit 0), a second stops at once (exit 1;
// uncommitted messages reappear after their visibility timeout). `stats_interval_s` < 0 means
// the worker.stats_interval_s setting; 0 prints no summaries.
// How `mailtrack worker` runs beyond the configuration.
struct WorkerRun {
    std::int64_t stats_interval_s = -1;  // < 0: worker.stats_interval_s
    std::string metrics_file;            // Prometheus text, rewritten every second and at exit
    std::int64_t stop_after = 0;         // > 0: stop gracefully once this many messages are deleted
};
int cmd_worker(const config::Config& c, const WorkerRun& run);

// `mailtrack setup`: see app::set_up_pipeline. Prints the settings to use as TOML, or JSON.
int cmd_setup(const config::Config& c, app::PipelineSpec spec, bool json);

// `mailtrack dlq inspect` / `mailtrack dlq redrive`. The dead-letter queue is `dlq_url`, else
// worker.dlq_url; redrive's target is `queue_url`, else the first of worker.queue_urls.
int cmd_dlq_inspect(const config::Config& c, std::string dlq_url, std::size_t limit, bool json);
int cmd_dlq_redrive(const config::Config& c, std::string dlq_url, std::string queue_url, std::size_t limit, bool json);
// `dlq redrive --apply`: the dead letters straight into the store.
int cmd_dlq_apply(const config::Config& c, std::string dlq_url, std::size_t limit, bool json);

}  // namespace mailtrack::cli
