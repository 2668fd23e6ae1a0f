#!/usr/bin/env python3
"""Redis beside the store, with processes (run via peers.py --fauxqs):

- three long-lived senders sharing a 10/s SES budget through Redis send at most 10/s together,
  keep sending at their share (10/3 each) while Redis is down, and go back to Redis when it returns;
- four `mailtrack send` processes with four databases racing on one idempotency key send it once;
- Redis killed and restarted while `mailtrack worker` ingests: commits never pause, every event
  is stored, the failures are counted;
- `mailtrack status` is served from the Redis cache, and ingesting an event for the message
  invalidates it.

Each test starts its own redis-server (tests/support/peers.py RedisServer) so it can stop and
restart it; the senders' aws-ses-v2-local is started here too, with MaxSendRate 10.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "support"))
import peers  # noqa: E402
from queues import stored_events  # noqa: E402

ARGS = None
TESTDATA = os.path.join(HERE, "..", "..", "testdata", "events")
MESSAGE_ID = "0100018a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000"


def redis_command(port, *args):
    """One RESP command over a plain socket; returns the raw first reply line(s)."""
    payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(payload)
        return s.recv(65536)


def mailtrack(*args, env=None, check=True):
    r = subprocess.run([ARGS.binary, *args], capture_output=True, text=True, timeout=120, env=env)
    if check and r.returncode != 0:
        raise AssertionError("mailtrack %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


class SharedSendRate(unittest.TestCase):
    RATE = 10

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mailtrack-redis-rate-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.redis = peers.RedisServer(os.path.join(self.tmp, "redis"))
        self.addCleanup(self.redis.stop)
        self.redis.start()
        port = peers.free_port()
        account = json.loads(peers.SES_ACCOUNT)
        account["SendQuota"]["MaxSendRate"] = self.RATE
        log = open(os.path.join(self.tmp, "ses.log"), "wb")
        self.ses = subprocess.Popen(["node", peers.node_bin("aws-ses-v2-local"), "--host", "127.0.0.1", "--port",
                                     str(port)], env={**os.environ, "AWS_SES_ACCOUNT": json.dumps(account)},
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.ses_url = "http://127.0.0.1:%d" % port
        self.addCleanup(self.stop_ses)
        peers.wait_ready(self.ses_url + "/health-check", self.ses, "aws-ses-v2-local")

    def stop_ses(self):
        os.killpg(self.ses.pid, signal.SIGKILL)
        self.ses.wait()

    def start_sender(self, n, seconds):
        env = {**os.environ, "AWS_ENDPOINT_URL_SESV2": self.ses_url}
        return subprocess.Popen(
            [ARGS.send_tool, str(seconds), "s%d" % n, "redis.url=" + self.redis.url, "redis.fallback_instances=3",
             "redis.reconnect_interval_ms=200", "store.sqlite_path=" + os.path.join(self.tmp, "s%d.db" % n),
             "log.level=error"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def test_three_senders_share_the_budget_and_keep_sending_without_redis(self):
        run, down_at, up_at = 11.0, 4.0, 7.5
        t0 = time.time()
        senders = [self.start_sender(n, run) for n in range(3)]
        time.sleep(down_at - (time.time() - t0))
        killed = time.time() * 1000
        self.redis.stop()
        time.sleep(up_at - (time.time() - t0))
        self.redis.start()
        restarted = time.time() * 1000
        lines = []
        for p in senders:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            rows = [json.loads(x) for x in out.splitlines()]
            self.assertTrue(rows and rows[-1].get("done"), out)
            summary = rows.pop()
            self.assertTrue(all(r["ok"] for r in rows), [r for r in rows if not r["ok"]][:3])
            self.assertGreater(summary["fallback"], 0, "each sender fell back while Redis was down")
            self.assertGreater(summary["redis_failures"], 0)
            lines.append(rows)
        sends = sorted(r["granted"] for rows in lines for r in rows)
        shared = sorted(r["granted"] for rows in lines for r in rows if r["shared"])
        fallback = sorted(r["granted"] for rows in lines for r in rows if not r["shared"])

        # Up: together at most RATE/s, measured over the whole shared period and in every 1 s window.
        before = [t for t in shared if t < killed]
        span = (before[-1] - before[0]) / 1000.0
        rate = (len(before) - 1) / span
        print("shared period: %d sends in %.2f s = %.2f/s" % (len(before), span, rate))
        self.assertLessEqual(rate, self.RATE * 1.05)
        self.assertGreaterEqual(rate, self.RATE * 0.7, "the budget should be used, not starved")
        worst = max(sum(1 for t in before if s <= t < s + 1000) for s in before)
        self.assertLessEqual(worst, self.RATE + 1, "sends in the busiest second")

        # Down: every sender kept sending, at its share (RATE/3 each, plus one token in hand).
        outage = [t for t in fallback if killed + 300 < t < restarted]
        out_span = (restarted - killed - 300) / 1000.0
        print("outage: %d sends in %.2f s = %.2f/s" % (len(outage), out_span, len(outage) / out_span))
        self.assertGreaterEqual(len(outage) / out_span, self.RATE * 0.5)
        self.assertLessEqual(len(outage), self.RATE * out_span + 3 + 1)
        for rows in lines:
            self.assertTrue(any(killed + 300 < r["granted"] < restarted for r in rows), "a sender stopped during the outage")

        # Back: Redis paces them again.
        after = [t for t in shared if t > restarted + 500]
        self.assertGreater(len(after), 5, "the senders went back to the shared budget")

        # What SES received: every send, and no calendar second above the budget (+ what the
        # fallback's buckets may add in the second Redis stopped).
        with urllib.request.urlopen(self.ses_url + "/store") as r:
            emails = json.load(r)["emails"]
        self.assertEqual(len(emails), len(sends))
        per_second = {}
        for e in emails:
            per_second[e["at"]] = per_second.get(e["at"], 0) + 1
        print("SES per second:", [per_second[k] for k in sorted(per_second)])
        self.assertLessEqual(max(per_second.values()), self.RATE + 3 + 1)


    def test_racing_senders_with_different_stores_send_an_idempotency_key_once(self):
        env = {**os.environ, "AWS_ENDPOINT_URL_SESV2": self.ses_url, "MAILTRACK_REDIS_URL": self.redis.url}

        def send(n):
            return subprocess.Popen(
                [ARGS.binary, "--db", os.path.join(self.tmp, "host%d.db" % n), "send", "--json",
                 "--from", "sender@example.com", "--to", "ann@example.com", "--subject", "order 42",
                 "--text", "hello", "--idempotency-key", "order-42"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        racers = [send(n) for n in range(4)]  # four hosts, four databases, one Redis
        results = [p.communicate(timeout=60) + (p.returncode,) for p in racers]
        with urllib.request.urlopen(self.ses_url + "/store") as r:
            emails = [e for e in json.load(r)["emails"] if e["subject"] == "order 42"]
        print("racers: %d sent, %d duplicate, %d in doubt" % (
            sum(1 for o, _, rc in results if rc == 0 and not json.loads(o)["duplicate"]),
            sum(1 for o, _, rc in results if rc == 0 and json.loads(o)["duplicate"]),
            sum(1 for _, _, rc in results if rc != 0)))
        self.assertEqual(len(emails), 1, results)
        winners = [json.loads(out) for out, _, rc in results if rc == 0 and not json.loads(out)["duplicate"]]
        self.assertEqual(len(winners), 1, results)
        # The others were told: a duplicate of the sent one, or in doubt while it was in flight.
        for out, err, rc in results:
            if rc == 0:
                self.assertEqual(json.loads(out)["ses_message_id"], emails[0]["messageId"])
            else:
                self.assertIn("in flight elsewhere", out + err)
        # Afterwards any host answers with the first send, without sending.
        out, err, rc = send(9).communicate(timeout=60) + (None,)
        again = json.loads(out)
        self.assertTrue(again["duplicate"], again)
        self.assertEqual(again["ses_message_id"], emails[0]["messageId"])
        self.assertEqual(again["send_id"], winners[0]["send_id"])


class WorkerWithRedisOutage(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mailtrack-redis-worker-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.redis = peers.RedisServer(os.path.join(self.tmp, "redis"))
        self.addCleanup(self.redis.stop)
        self.redis.start()
        name = "mt-redis-%d" % os.getpid()
        out = mailtrack("setup", "--json", "--queue-name", name, "--dlq-name", name + "-dlq", "--topic-name", name)
        self.queue = json.loads(out.stdout)["queue_url"]
        self.db = os.path.join(self.tmp, "worker.db")

    def stored_events(self):
        return stored_events(self.db, when_busy=None)

    def test_ingestion_never_pauses_while_redis_is_down(self):
        import boto3
        docs = json.loads(subprocess.run([ARGS.event_tool, "400", "23"], capture_output=True, text=True,
                                         check=True).stdout)
        sqs = boto3.client("sqs", endpoint_url=os.environ["MAILTRACK_TEST_FAUXQS_URL"], region_name="us-east-1")
        worker = subprocess.Popen(
            [ARGS.binary, "worker", "--db", self.db, "--stats-interval", "1", "--set", "worker.queue_urls=" + self.queue,
             "--set", "worker.wait_time_s=1", "--set", "worker.linger_ms=5", "--set", "log.level=info",
             "--set", "redis.url=" + self.redis.url, "--set", "redis.reconnect_interval_ms=200"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Publish at a steady pace for 9 s: Redis is killed at 3 s and restarted at 6 s.
        timeline = []  # (time, events stored)
        stop_sampling = threading.Event()

        def sample():
            while not stop_sampling.is_set():
                n = self.stored_events()
                if n is not None:
                    timeline.append((time.time(), n))
                time.sleep(0.1)
        sampler = threading.Thread(target=sample)
        sampler.start()
        chunks = [docs[i:i + 10] for i in range(0, len(docs), 10)]
        t0 = time.time()
        killed = restarted = None
        for i, chunk in enumerate(chunks):
            due = t0 + 9.0 * i / len(chunks)
            time.sleep(max(0.0, due - time.time()))
            if killed is None and time.time() - t0 >= 3.0:
                self.redis.stop()
                killed = time.time()
            if restarted is None and time.time() - t0 >= 6.0:
                self.redis.start()
                restarted = time.time()
            r = sqs.send_message_batch(QueueUrl=self.queue, Entries=[{"Id": str(j), "MessageBody": b}
                                                                    for j, b in enumerate(chunk)])
            self.assertFalse(r.get("Failed"), r)
        deadline = time.time() + 60
        ref_db = os.path.join(self.tmp, "ref.db")
        ndjson = os.path.join(self.tmp, "events.ndjson")
        with open(ndjson, "w") as f:
            for d in docs:
                f.write(json.dumps(json.loads(d)) + "\n")
        mailtrack("ingest", "--db", ref_db, ndjson)
        con = sqlite3.connect(ref_db)
        expected = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
        while time.time() < deadline and (self.stored_events() or 0) < expected:
            time.sleep(0.2)
        stop_sampling.set()
        sampler.join()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
        self.assertEqual(worker.returncode, 0, err)
        self.assertEqual(self.stored_events(), expected, "every event stored")

        # Commits went on during the outage: the stored count grew in every second of it.
        def stored_at(t):
            return max((n for (ts, n) in timeline if ts <= t), default=0)
        grew = []
        t = killed + 0.2
        while t + 1.0 <= restarted:
            grew.append(stored_at(t + 1.0) - stored_at(t))
            t += 1.0
        print("events committed per second while Redis was down:", grew)
        self.assertTrue(grew and all(g > 0 for g in grew), grew)
        summary = [x for x in out.splitlines() if x.startswith("events ")][-1]
        print(summary)
        errors = int(summary.split("redis errors ")[1].split()[0])
        invalidations = int(summary.split("cache invalidations ")[1].split()[0])
        self.assertGreater(errors, 0, "the outage was counted")
        self.assertGreater(invalidations, 0)
        self.assertIn("redis unavailable", err)
        self.assertIn("redis reachable again", err)
        self.assertLessEqual(err.count("redis unavailable"), 3, "failures are logged at a bounded rate:\n" + err)


class StatusCache(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mailtrack-redis-cache-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.redis = peers.RedisServer(os.path.join(self.tmp, "redis"))
        self.addCleanup(self.redis.stop)
        self.redis.start()

    def mt(self, db, *args):
        env = {**os.environ, "MAILTRACK_REDIS_URL": self.redis.url}
        return mailtrack("--db", db, *args, env=env)

    def test_status_is_served_from_cache_and_an_event_invalidates_it(self):
        db = os.path.join(self.tmp, "mt.db")
        self.mt(db, "ingest", os.path.join(TESTDATA, "send.json"))
        first = self.mt(db, "status", MESSAGE_ID).stdout
        self.assertIn("sent", first)
        key = "mailtrack:msg:" + MESSAGE_ID
        self.assertTrue(redis_command(self.redis.port, "EXISTS", key).startswith(b":1"))
        # Served from the cache: an empty database at the same path still answers.
        os.rename(db, db + ".away")
        self.mt(db, "ingest", os.devnull)  # creates the empty database (status never creates one)
        cached = self.mt(db, "status", MESSAGE_ID).stdout
        self.assertEqual(cached, first)
        os.remove(db)
        os.rename(db + ".away", db)
        # A new event for the message deletes the cached view.
        self.mt(db, "ingest", os.path.join(TESTDATA, "delivery.json"))
        self.assertTrue(redis_command(self.redis.port, "EXISTS", key).startswith(b":0"))
        after = self.mt(db, "status", MESSAGE_ID).stdout
        self.assertIn("delivered", after)
        self.assertNotEqual(after, first)
        # --json reads through the same cache; --raw needs the archive, so it goes to the store.
        as_json = json.loads(self.mt(db, "status", "--json", MESSAGE_ID).stdout)
        self.assertEqual(as_json["status"], "delivered")
        self.assertTrue(redis_command(self.redis.port, "EXISTS", key).startswith(b":1"))
        os.rename(db, db + ".away")
        self.mt(db, "ingest", os.devnull)
        self.assertEqual(json.loads(self.mt(db, "status", "--json", MESSAGE_ID).stdout), as_json)
        r = mailtrack("--db", db, "status", "--raw", MESSAGE_ID, check=False,
                      env={**os.environ, "MAILTRACK_REDIS_URL": self.redis.url})
        self.assertNotEqual(r.returncode, 0, "--raw bypasses the cache")
        self.assertIn("no message with id", r.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--send-tool", required=True)
    parser.add_argument("--event-tool", required=True)
    ARGS, rest = parser.parse_known_args()
    # Every AWS call goes to the loopback emulators (fauxqs here, aws-ses-v2-local per test).
    if not os.environ.get("MAILTRACK_TEST_FAUXQS_URL"):
        sys.exit("MAILTRACK_TEST_FAUXQS_URL is not set: run under tests/support/peers.py --fauxqs")
    os.environ["AWS_ENDPOINT_URL"] = os.environ["MAILTRACK_TEST_FAUXQS_URL"]
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
