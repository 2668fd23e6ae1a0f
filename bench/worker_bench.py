#!/usr/bin/env python3
"""The worker benchmark (issue 4), run under peers.py so fauxqs is on loopback:

  python3 tests/support/peers.py --fauxqs -- python3 bench/worker_bench.py \\
      --binary build/release/mailtrack --event-tool build/release/tests/event_stream_tool \\
      --ceiling build/release/bench/sqs_ceiling --events 50000

1. loads N SNS-wrapped SES events (tests/support/event_factory realistic_stream) into a queue with
   SendMessageBatch, as SNS delivers them;
2. the queue's ceiling: bench/sqs_ceiling, 16 loops of receive(10)+delete_batch, no processing,
   timed until the delete that completes N;
3. loads them again (into a fresh queue) and runs `mailtrack worker --stop-after N` (16 polls) from process start to its
   exit once every event is committed and deleted: drain rate, the worker's CPU per event and peak
   RSS (wait4), SQS calls per 1,000 events (its last --stats-interval line), and the emulator's
   CPU per event in both phases;
4. publish -> commit latency: Send events published one at a time through SNS at a steady rate,
   stamped with their publish time, so the worker's event-age histogram (--metrics-file) is
   commit time minus publish time.
Prints one JSON object. Never asserts on speed."""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3

ENDPOINT = os.environ["MAILTRACK_TEST_FAUXQS_URL"]
os.environ["AWS_ENDPOINT_URL"] = ENDPOINT


def client():
    return boto3.client("sqs", endpoint_url=ENDPOINT, region_name="us-east-1")


def load(queue, docs):
    batches = [docs[i:i + 10] for i in range(0, len(docs), 10)]
    local = threading.local()

    def send(batch):
        if not hasattr(local, "client"):
            local.client = client()
        local.client.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": b}
                                                                 for i, b in enumerate(batch)])
    start = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, batches))
    return time.monotonic() - start


def depth(queue):
    a = client().get_queue_attributes(QueueUrl=queue, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def fauxqs_pid():
    port = ENDPOINT.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-Hltnp", "sport = :" + port], capture_output=True, text=True).stdout
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1)) if m else None


def cpu_seconds(pid):
    """user+system CPU seconds a live process has used so far."""
    if pid is None:
        return 0.0
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def histogram_quantiles(path, name, qs):
    """Quantiles of a Prometheus text histogram, linearly interpolated inside the bucket."""
    bounds = []
    with open(path) as f:
        for line in f:
            m = re.match(name + r'_bucket\{le="([^"]+)"\} (\d+)', line)
            if m:
                bounds.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), int(m.group(2))))
    total = bounds[-1][1] if bounds else 0
    out = []
    for q in qs:
        rank = q * total
        lo, below = 0.0, 0
        for le, cumulative in bounds:
            if cumulative >= rank:
                if le == float("inf"):
                    out.append(lo)
                else:
                    inside = cumulative - below
                    out.append(lo + (le - lo) * ((rank - below) / inside if inside else 1.0))
                break
            lo, below = le, cumulative
    return total, out


def run_worker(a, queue, db, stop_after, metrics_file):
    return subprocess.Popen([a.binary, "worker", "--db", db, "--stats-interval", "1", "--stop-after", str(stop_after),
                             "--metrics-file", metrics_file,
                             "--set", "worker.queue_urls=" + queue, "--set", "worker.concurrency=%d" % a.concurrency,
                             "--set", "log.level=warn"] + [x for kv in a.set for x in ("--set", kv)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def finish(proc):
    """Waits for a worker started by run_worker: (stdout, exit code, its resource usage, its peak
    RSS in kB). The peak is VmHWM sampled every 10 ms: wait4's ru_maxrss would include the
    forked Python's own RSS, which Linux carries across exec."""
    peak = [0]

    def sample():
        while proc.returncode is None:
            try:
                with open("/proc/%d/status" % proc.pid) as f:
                    peak[0] = max(peak[0], int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)))
            except (OSError, AttributeError):
                return
            time.sleep(0.01)
    sampler = threading.Thread(target=sample)
    sampler.start()
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.join()
    return text, proc.returncode, usage, peak[0]


def restamped(wrapped, now_ms):
    """The SES event inside an SNS envelope, its timestamps set to now (publish time)."""
    ses = json.loads(json.loads(wrapped)["Message"])
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms / 1000)) + ".%03dZ" % (now_ms % 1000)
    ses["mail"]["timestamp"] = stamp
    kind = ses.get("eventType", "").lower()
    if kind in ses and isinstance(ses[kind], dict) and "timestamp" in ses[kind]:
        ses[kind]["timestamp"] = stamp
    return json.dumps(ses)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--event-tool", required=True)
    ap.add_argument("--ceiling", required=True)
    ap.add_argument("--events", type=int, default=50000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=1, help="ceiling + drain pairs; medians are reported")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a worker setting (repeatable)")
    ap.add_argument("--latency-events", type=int, default=3000, help="events published one by one through SNS")
    ap.add_argument("--latency-rate", type=float, default=200.0, help="SNS publishes per second in the latency phase")
    a = ap.parse_args()

    docs = json.loads(subprocess.run([a.event_tool, str(a.events // 2 + 1), "42"], capture_output=True, text=True,
                                     check=True).stdout)[:a.events]
    out = {"events": len(docs)}
    tmp = tempfile.mkdtemp(prefix="mailtrack-bench-")

    def setup(name):
        return json.loads(subprocess.run([a.binary, "setup", "--json", "--queue-name", name, "--dlq-name", name + "-dlq",
                                          "--topic-name", name], capture_output=True, text=True, check=True).stdout)
    emulator = fauxqs_pid()

    # 1 and 2, alternated `--rounds` times so that a change in the machine's load hits both:
    # the emulator's ceiling (receive + delete, nothing else), then the worker's drain from
    # process start until it has deleted every event and exited. Each phase has a queue of its
    # own: the emulator keeps serving a long poll whose client has gone (until its 20 s wait
    # ends), and such a poll would take ten messages of the next load out of sight.
    rounds = []
    for r in range(a.rounds):
        one = {}
        queue = setup("bench-%d-ceiling" % r)["queue_url"]
        one["load_seconds"] = load(queue, docs)
        cpu0 = cpu_seconds(emulator)
        ceiling = json.loads(subprocess.run([a.ceiling, ENDPOINT, queue, str(a.concurrency), str(len(docs))],
                                            capture_output=True, text=True, check=True).stdout)
        one["ceiling_per_second"] = ceiling["per_second"]
        one["ceiling_calls_per_1k"] = 1000.0 * ceiling["calls"] / max(1, ceiling["deleted"])
        for k in ("receive_errors", "empty_receives", "delete_failures"):
            one["ceiling_" + k] = ceiling.get(k)
        one["ceiling_emulator_cpu_us_per_event"] = 1e6 * (cpu_seconds(emulator) - cpu0) / len(docs)

        queue = setup("bench-%d-worker" % r)["queue_url"]
        load(queue, docs)
        cpu0 = cpu_seconds(emulator)
        start = time.monotonic()
        w = run_worker(a, queue, os.path.join(tmp, "bench-%d.db" % r), len(docs), os.path.join(tmp, "drain.prom"))
        stats, exit_code, usage, peak_kb = finish(w)
        drain = time.monotonic() - start
        one["worker_exit"] = exit_code
        one["worker_seconds"] = drain
        one["worker_per_second"] = len(docs) / drain
        one["ratio_worker_to_ceiling"] = one["worker_per_second"] / one["ceiling_per_second"]
        one["worker_cpu_us_per_event"] = 1e6 * (usage.ru_utime + usage.ru_stime) / len(docs)
        one["worker_peak_rss_mb"] = peak_kb / 1024.0
        one["drain_emulator_cpu_us_per_event"] = 1e6 * (cpu_seconds(emulator) - cpu0) / len(docs)
        last = stats.strip().splitlines()[-1] if stats.strip() else ""
        m = re.search(r"sqs calls/1k events (\d+)", last)
        one["worker_sqs_calls_per_1k"] = int(m.group(1)) if m else None
        one["worker_summary"] = last
        one["load_average"] = os.getloadavg()[0]
        rounds.append(one)
    for key in rounds[0]:
        if key != "worker_summary":
            out[key] = statistics.median(r[key] for r in rounds) if len(rounds) > 1 else rounds[0][key]
    out["worker_peak_rss_mb"] = max(r["worker_peak_rss_mb"] for r in rounds)
    out["rounds"] = rounds

    # 3. Publish -> commit latency: events published through SNS one at a time at a steady rate,
    #    each stamped with its publish time; the worker's event-age histogram is then exactly
    #    commit time minus publish time.
    sns = boto3.client("sns", endpoint_url=ENDPOINT, region_name="us-east-1")
    latency = setup("bench-latency")
    queue = latency["queue_url"]
    sends = [d for d in docs if '\\"eventType\\":\\"Send\\"' in d][:a.latency_events]
    metrics_file = os.path.join(tmp, "latency.prom")
    w = run_worker(a, queue, os.path.join(tmp, "latency.db"), len(sends), metrics_file)
    time.sleep(1.0)  # the worker's polls are waiting
    t0 = time.monotonic()
    for i, d in enumerate(sends):
        due = t0 + i / a.latency_rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        sns.publish(TopicArn=latency["topic_arn"], Message=restamped(d, int(time.time() * 1000)))
    out["latency_publish_rate"] = len(sends) / (time.monotonic() - t0)
    finish(w)
    count, (p50, p99) = histogram_quantiles(metrics_file, "mailtrack_worker_event_age_seconds", [0.5, 0.99])
    out["latency_events"] = count
    out["latency_p50_ms"] = round(p50 * 1000, 1)
    out["latency_p99_ms"] = round(p99 * 1000, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
