#!/usr/bin/env python3
"""The worker benchmark (issue 4), run under peers.py so fauxqs is on loopback:

  python3 tests/support/peers.py --fauxqs -- python3 bench/worker_bench.py \\
      --binary build/release/mailtrack --event-tool build/release/tests/event_stream_tool \\
      --ceiling build/release/bench/sqs_ceiling --events 50000

1. loads N SNS-wrapped SES events (tests/support/event_factory realistic_stream) into a queue with
   SendMessageBatch, as SNS delivers them;
2. the queue's ceiling: bench/sqs_ceiling, 16 loops of receive(10)+delete_batch, no processing;
3. loads them again and runs `mailtrack worker` (16 polls) until the queue is empty: drain rate,
   SQS calls per 1,000 events (from the worker's last --stats-interval line), peak RSS (VmHWM).
Prints one JSON object. Never asserts on speed."""
import argparse
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import boto3

ENDPOINT = os.environ["MAILTRACK_TEST_FAUXQS_URL"]
os.environ["AWS_ENDPOINT_URL"] = ENDPOINT


def client():
    return boto3.client("sqs", endpoint_url=ENDPOINT, region_name="us-east-1")


def load(queue, docs):
    batches = [docs[i:i + 10] for i in range(0, len(docs), 10)]
    local = {}

    def send(batch):
        c = local.setdefault(os.getpid(), client())
        c.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(batch)])
    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, batches))
    return time.monotonic() - start


def depth(queue):
    a = client().get_queue_attributes(QueueUrl=queue, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--event-tool", required=True)
    ap.add_argument("--ceiling", required=True)
    ap.add_argument("--events", type=int, default=50000)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()

    docs = json.loads(subprocess.run([a.event_tool, str(a.events // 2 + 1), "42"], capture_output=True, text=True,
                                     check=True).stdout)[:a.events]
    out = {"events": len(docs)}
    tmp = tempfile.mkdtemp(prefix="mailtrack-bench-")
    setup = json.loads(subprocess.run([a.binary, "setup", "--json", "--queue-name", "bench", "--dlq-name", "bench-dlq",
                                       "--topic-name", "bench"], capture_output=True, text=True, check=True).stdout)
    queue = setup["queue_url"]

    out["load_seconds"] = load(queue, docs)
    ceiling = json.loads(subprocess.run([a.ceiling, ENDPOINT, queue, str(a.concurrency), str(len(docs))],
                                        capture_output=True, text=True, check=True).stdout)
    out["ceiling_per_second"] = ceiling["per_second"]
    out["ceiling_calls_per_1k"] = 1000.0 * ceiling["calls"] / max(1, ceiling["deleted"])

    load(queue, docs)
    db = os.path.join(tmp, "bench.db")
    start = time.monotonic()
    w = subprocess.Popen([a.binary, "worker", "--db", db, "--stats-interval", "1",
                          "--set", "worker.queue_urls=" + queue, "--set", "worker.concurrency=%d" % a.concurrency,
                          "--set", "log.level=warn"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    hwm = 0
    while depth(queue) > 0:
        try:
            with open("/proc/%d/status" % w.pid) as f:
                hwm = max(hwm, int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)))
        except (OSError, AttributeError):
            pass
        time.sleep(0.05)
    drain = time.monotonic() - start
    with open("/proc/%d/status" % w.pid) as f:
        hwm = max(hwm, int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)))
    w.send_signal(signal.SIGTERM)
    stats, _ = w.communicate(timeout=60)
    last = stats.strip().splitlines()[-1] if stats.strip() else ""
    out["worker_seconds"] = drain
    out["worker_per_second"] = len(docs) / drain
    out["ratio_worker_to_ceiling"] = out["worker_per_second"] / out["ceiling_per_second"]
    m = re.search(r"sqs calls/1k events (\d+)", last)
    out["worker_sqs_calls_per_1k"] = int(m.group(1)) if m else None
    out["worker_peak_rss_mb"] = hwm / 1024.0
    out["worker_exit"] = w.returncode
    out["worker_summary"] = last
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
