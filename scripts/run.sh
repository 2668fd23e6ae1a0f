#!/usr/bin/env bash
# The main job: builds mailtrack, ingests the bundled sample SES events (SNS-wrapped and raw,
# shuffled, with duplicates) into a fresh SQLite file, and prints the status table and stats.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

bin=build/release/mailtrack
work=${MAILTRACK_RUN_DIR:-build/run}
mkdir -p "$work"
db=$work/mailtrack.db
rm -f "$db" "$db-wal" "$db-shm"

echo
echo "== ingesting samples/events.ndjson into $db"
status=0
"$bin" ingest --db "$db" samples/events.ndjson || status=$?
if [[ $status -ne 0 && $status -ne 2 ]]; then exit "$status"; fi
echo
echo "== recipients"
"$bin" list --db "$db"
echo
echo "== stats"
"$bin" stats --db "$db"
echo
first=$("$bin" list --db "$db" --status complained --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["message_id"])')
echo "== one message in detail: mailtrack status --db $db $first"
"$bin" status --db "$db" "$first"
