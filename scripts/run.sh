#!/usr/bin/env bash
# The main job: installs what is missing, builds the release binary, and runs the whole system on
# loopback (scripts/pipeline_demo.py): fauxqs (SQS+SNS) and aws-ses-v2-local (SES v2) on free
# 127.0.0.1 ports, `mailtrack setup` (topic, queue, DLQ, subscription), `mailtrack worker` on a fresh
# SQLite file under build/run/, a few dozen sends (simulator and ordinary addresses, an attachment,
# several recipients, a bulk template send from a CSV) with sandbox events on, then waits until
# every recipient reaches its final status and prints the status table, the stats and where to see
# the sent mail. Stops what it started unless --keep. Arguments go to pipeline_demo.py
# (--keep, --stop, --timeout S, --fauxqs-port P, --ses-port P, --bulk-rows N, --workdir D).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ " $* " == *" --stop "* ]]; then
  exec python3 scripts/pipeline_demo.py "$@"
fi

bash scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target mailtrack

exec python3 scripts/pipeline_demo.py --binary build/release/mailtrack --workdir build/run "$@"
