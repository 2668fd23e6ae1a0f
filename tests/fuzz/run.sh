#!/usr/bin/env bash
# Runs each fuzz target for a short time on a seed corpus built from the test fixtures.
# usage: run.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp "$here"/../testdata/events/*.json "$corpus"/
cp "$here"/../../samples/events.ndjson "$corpus"/
"$build"/event_parser_fuzz -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict="$here/json.dict" -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
echo "fuzz: event_parser_fuzz ran ${seconds}s without a finding"
