#pragma once

namespace mailtrack::cli {

// Runs the mailtrack command line. Returns the process exit code:
// 0 success, 1 failure (a clear message on stderr), 2 partial (ingest: some inputs rejected)
// or usage error.
int run(int argc, char** argv);

}  // namespace mailtrack::cli
