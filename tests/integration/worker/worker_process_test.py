#!/usr/bin/env python3
"""`mailtrack setup` and `mailtrack worker` as processes against fauxqs (run via peers.py):
kill -9 at random points then a restart, three workers on one queue and one SQLite file, and
SIGTERM. Each ends with the store compared to a clean `mailtrack ingest` of the same events."""
import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from queues import depth, publish_all, sqs, stored_events  # noqa: E402

ARGS = None
ENDPOINT = os.environ.get("MAILTRACK_TEST_FAUXQS_URL", "")


def mailtrack(*args, check=True):
    r = subprocess.run([ARGS.binary, *args], capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("mailtrack %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def store_state(db):
    """Every row the status model derives, in a canonical order; the archive (batch-shaped) is left out."""
    con = sqlite3.connect(db)
    out = {}
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for t in sorted(tables):
        if t in ("event_archive", "schema_migrations") or t.startswith("send"):
            continue
        cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % t) if not r[1].startswith("archive_")]
        rows = con.execute("SELECT %s FROM %s" % (",".join(cols), t)).fetchall()
        out[t] = sorted(repr(r) for r in rows)
    con.close()
    return out


def event_set(tmp, name, emails, seed):
    """SNS-wrapped events of `emails` emails, and the store state of a clean `mailtrack ingest` of them."""
    docs = json.loads(subprocess.run([ARGS.event_tool, str(emails), str(seed)], capture_output=True, text=True,
                                     check=True).stdout)
    ndjson = os.path.join(tmp, name + ".ndjson")
    with open(ndjson, "w") as f:
        for d in docs:
            f.write(json.dumps(json.loads(d)) + "\n")
    db = os.path.join(tmp, name + "-reference.db")
    mailtrack("ingest", "--db", db, ndjson)
    return docs, store_state(db)


class WorkerProcesses(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mailtrack-worker-")
        cls.docs, cls.reference = event_set(cls.tmp.name, "events", ARGS.emails, 17)
        cls.counter = 0

    def setUp(self):
        WorkerProcesses.counter += 1
        name = "mt-proc-%d-%d" % (os.getpid(), self.counter)
        out = mailtrack("setup", "--json", "--queue-name", name, "--dlq-name", name + "-dlq", "--topic-name", name)
        self.pipeline = json.loads(out.stdout)
        self.queue = self.pipeline["queue_url"]
        self.db = os.path.join(self.tmp.name, name + ".db")

    def publish_all(self, docs=None):
        publish_all(self.queue, self.docs if docs is None else docs)

    def depth(self):
        return depth(self.queue)

    def start_worker(self, *extra, stdout=subprocess.DEVNULL):
        return subprocess.Popen([ARGS.binary, "worker", "--db", self.db, "--set", "worker.queue_urls=" + self.queue,
                                 "--set", "worker.wait_time_s=1", "--set", "worker.visibility_timeout_s=3",
                                 "--set", "worker.linger_ms=5", "--set", "log.level=warn",
                                 "--set", "worker.store_backoff_max_ms=1000", *extra],
                                stdout=stdout, stderr=subprocess.PIPE, text=True)

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        return out, err

    def stored_events(self):
        return stored_events(self.db)

    def wait_drained(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.depth() == (0, 0):
                return
            time.sleep(0.2)
        self.fail("queue not drained: %s" % (self.depth(),))

    def test_kill9_at_random_points_while_20000_events_flow_then_restart_matches_a_clean_run(self):
        docs, reference = event_set(self.tmp.name, "soak", ARGS.soak_emails, 23)
        self.assertGreaterEqual(len(docs), ARGS.soak_emails * 2)
        self.publish_all(docs)
        rng = random.Random(4)
        kills_with_work_left = 0
        for _ in range(ARGS.kills):
            w = self.start_worker()
            time.sleep(rng.uniform(0.3, 2.0))
            w.kill()
            w.communicate()
            kills_with_work_left += sum(self.depth()) > 0
        # The kills must land while events flow, or the test proves nothing.
        self.assertEqual(kills_with_work_left, ARGS.kills)
        w = self.start_worker()
        self.wait_drained(timeout=180)
        self.stop(w)
        state = store_state(self.db)
        self.assertEqual(len(state["events"]), len(docs))  # nothing missing, nothing twice
        self.assertEqual(state, reference)

    def test_three_workers_on_one_queue_and_one_database_match_one_worker(self):
        self.publish_all()
        workers = [self.start_worker() for _ in range(3)]
        try:
            self.wait_drained()
        except AssertionError:
            for w in workers:
                w.kill()
                print(w.communicate()[1][-3000:], file=sys.stderr)
            raise
        for w in workers:
            self.stop(w)
        self.assertEqual(store_state(self.db), self.reference)

    def test_sigterm_exits_0_having_deleted_what_it_committed(self):
        self.publish_all()
        w = self.start_worker()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.stored_events() <= 200:
            time.sleep(0.05)
        self.stop(w)
        stored = len(store_state(self.db)["events"])
        visible, hidden = self.depth()
        # Every message whose event is committed is gone from the queue, and nothing else is.
        self.assertEqual(stored + visible + hidden, len(self.docs))

    def test_store_outage_mid_run_then_recovery_loses_nothing(self):
        self.publish_all()
        w = self.start_worker("--stats-interval", "1", "--set", "store.sqlite_busy_timeout_ms=100",
                              stdout=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.stored_events() <= 100:
            time.sleep(0.05)
        # Another writer holds the database for 3 s: the worker's transactions fail as unavailable.
        con = sqlite3.connect(self.db, timeout=10, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        time.sleep(3)
        con.execute("ROLLBACK")
        con.close()
        self.wait_drained()
        out, err = self.stop(w)
        self.assertIn("store unavailable", err)
        self.assertIn("events ", out)  # the --stats-interval lines
        self.assertEqual(store_state(self.db), self.reference)

    def test_stop_after_exits_by_itself_and_writes_prometheus_metrics(self):
        self.publish_all()
        metrics = os.path.join(self.tmp.name, "worker.prom")
        w = self.start_worker("--stop-after", str(len(self.docs)), "--metrics-file", metrics)
        _, err = w.communicate(timeout=120)
        self.assertEqual(w.returncode, 0, err)
        self.assertEqual(self.depth(), (0, 0))
        self.assertEqual(store_state(self.db), self.reference)
        with open(metrics) as f:
            text = f.read()
        self.assertIn("mailtrack_worker_messages_deleted_total %d\n" % len(self.docs), text)
        self.assertIn('mailtrack_worker_event_age_seconds_bucket{le="+Inf"} %d\n' % len(self.docs), text)
        self.assertIn("# TYPE mailtrack_worker_apply_duration_seconds histogram", text)
        self.assertIn('mailtrack_worker_apply_duration_seconds_bucket{le="0.004"}', text)
        self.assertFalse(os.path.exists(metrics + ".tmp"))

    def test_poison_interleaved_goes_to_the_dlq_and_redrive_apply_after_a_fix_applies_it(self):
        good = self.docs[:300]
        # Events the worker will refuse as too large under a deliberately tight limit (the "bug"),
        # and messages that are not SES events at all (poison for good).
        oversized = []
        for d in self.docs[300:305]:
            outer = json.loads(d)
            inner = json.loads(outer["Message"])
            inner["mail"]["headers"].append({"name": "X-Padding", "value": "p" * 20000})
            outer["Message"] = json.dumps(inner)
            oversized.append(json.dumps(outer))
        broken = ["not json", '{"eventType":"Bounce","mail":{}}']
        mixed = list(good)
        for i, p in enumerate(oversized + broken):
            mixed.insert(40 * i + 7, p)
        self.publish_all(mixed)
        dlq = self.pipeline["dlq_url"]
        limit = ["--set", "ingest.max_document_bytes=16384"]
        w = self.start_worker("--set", "worker.dlq_url=" + dlq, "--set", "worker.max_receive_count=1", *limit)
        self.wait_drained()
        self.stop(w)
        self.assertEqual(len(store_state(self.db)["events"]), len(good))
        where = ["--db", self.db, "--set", "worker.queue_urls=" + self.queue, "--set", "worker.dlq_url=" + dlq]
        letters = json.loads(mailtrack("dlq", "inspect", "--json", *where, *limit).stdout)
        self.assertEqual(len(letters), len(oversized) + len(broken))
        for d in letters:
            self.assertTrue(d["reject_reason"], d)
        self.assertEqual(sum("over the limit" in d["parse_error"] for d in letters),
                         len(oversized), letters)
        # The fix: the default limit. --apply puts what now parses straight into the store.
        r = mailtrack("dlq", "redrive", "--apply", "--json", *where, check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        report = json.loads(r.stdout)
        self.assertEqual(report["applied"], len(oversized))
        self.assertEqual(report["new_events"], len(oversized))
        self.assertEqual(len(report["still_failing"]), len(broken))
        self.assertEqual(len(store_state(self.db)["events"]), len(good) + len(oversized))
        left = json.loads(mailtrack("dlq", "inspect", "--json", *where).stdout)
        self.assertEqual(sorted(d["body"] for d in left), sorted(broken))

    def test_cli_setup_prints_toml_and_dlq_inspect_and_redrive(self):
        name = "mt-cli-%d" % os.getpid()
        text = mailtrack("setup", "--queue-name", name, "--dlq-name", name + "-dlq", "--topic-name", name).stdout
        conf = tomllib.loads(text)
        queue, dlq = conf["worker"]["queue_urls"][0], conf["worker"]["dlq_url"]
        self.assertTrue(conf["sns"]["events_topic_arn"].endswith(":" + name))
        self.queue = queue
        poison = ["not json", '{"eventType":"Bounce","mail":{}}', "[1]"]
        client = sqs()
        for p in poison:
            client.send_message(QueueUrl=queue, MessageBody=p)
        w = self.start_worker("--set", "worker.queue_urls=" + queue, "--set", "worker.dlq_url=" + dlq,
                              "--set", "worker.max_receive_count=1")
        self.wait_drained()
        self.stop(w)
        where = ["--set", "worker.queue_urls=" + queue, "--set", "worker.dlq_url=" + dlq]
        letters = json.loads(mailtrack("dlq", "inspect", "--json", *where).stdout)
        self.assertEqual(sorted(d["body"] for d in letters), sorted(poison))
        for d in letters:
            self.assertTrue(d["parse_error"], d)
            self.assertTrue(d["reject_reason"], d)
        human = mailtrack("dlq", "inspect", *where).stdout
        self.assertIn("3 dead letter(s)", human)
        moved = json.loads(mailtrack("dlq", "redrive", "--json", *where).stdout)
        self.assertEqual(moved["moved"], 3)
        self.assertEqual(self.depth(), (3, 0))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--event-tool", required=True)
    parser.add_argument("--emails", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--soak-emails", type=int, default=6700, help="~3 events each: 6,700 make 20,000")
    ARGS, rest = parser.parse_known_args()
    if not ENDPOINT:
        sys.exit("MAILTRACK_TEST_FAUXQS_URL is not set: run through tests/support/peers.py")
    os.environ["AWS_ENDPOINT_URL"] = ENDPOINT  # for the mailtrack processes, as a user would set it
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
