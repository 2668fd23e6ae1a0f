#!/usr/bin/env bash
# `mailtrack serve` under wrk (no assertions: the numbers go to docs/benchmarks.md).
#
#   bash bench/serve_bench.sh [BUILD_DIR] [EMAILS]     # default build/release, 20000 emails
#
# Fills a fresh SQLite store with EMAILS realistic emails (2-4 events each) through
# `mailtrack ingest`, starts `mailtrack serve --no-worker` on a loopback port, then runs wrk for
# 10 s each at 64 keep-alive connections (2 wrk threads) against /healthz (the server alone),
# GET /v1/emails/{id} (one store read and the message view) and GET /v1/stats (the counts over the
# whole store) with a read API key, and reports requests/s, latency percentiles and serve's CPU seconds per request.
set -euo pipefail
BUILD=${1:-build/release}
EMAILS=${2:-20000}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
DIR=$(mktemp -d)
trap 'kill $(cat $DIR/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$BUILD"/tests/event_stream_tool "$EMAILS" 42 | python3 -c '
import json, sys
for d in json.load(sys.stdin): print(d)' > "$DIR/events.ndjson"
"$BUILD"/mailtrack ingest --db "$DIR/s.db" "$DIR/events.ndjson" --json >/dev/null
ID=$("$BUILD"/mailtrack list --db "$DIR/s.db" --json | python3 -c '
import json, sys; print(json.load(sys.stdin)[0]["message_id"])')
KEY=$("$BUILD"/mailtrack apikey create --db "$DIR/s.db" --name bench --scope read 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD"/mailtrack serve --db "$DIR/s.db" --listen "127.0.0.1:$PORT" --no-worker \
  --set server.access_log=false --set log.level=warn > "$DIR/serve.log" 2>&1 &
echo $! > "$DIR/pid"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
cpu() { awk '{print $14 + $15}' /proc/$(cat "$DIR/pid")/stat; }
TICK=$(getconf CLK_TCK)
echo "store: $EMAILS emails, $(stat -c %s "$DIR/s.db") bytes; serve pid $(cat "$DIR/pid"), io_threads 2, handler_threads 8"
for path in /healthz "/v1/emails/$ID" /v1/stats; do
  before=$(cpu)
  out=$(wrk -t2 -c64 -d10s --latency -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT$path")
  after=$(cpu)
  reqs=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "== GET ${path%%$ID}$( [[ $path == *$ID ]] && echo '{id}')"
  echo "$out" | grep -E "Requests/sec|Latency  |50%|99%|Non-2xx|Socket errors" | sed 's/^/   /'
  python3 -c "print('   serve CPU per request: %.1f us' % (($after - $before) / $TICK / $total * 1e6))"
done
