#!/usr/bin/env python3
"""`mailtrack worker` processes writing to MariaDB (run via peers.py --fauxqs --mariadb):
three workers on one queue, ~20,000 events shuffled with duplicates, end in the state one
clean SQLite ingest of the same documents gives; and the MariaDB server killed and restarted
mid-run: nothing is lost and the workers recover by themselves."""
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
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from queues import depth, publish_all  # noqa: E402

ARGS = None
ENDPOINT = os.environ.get("MAILTRACK_TEST_FAUXQS_URL", "")
MYSQL_URL = os.environ.get("MAILTRACK_TEST_MYSQL_URL", "")
MYSQL_PASSWORD = os.environ.get("MAILTRACK_TEST_MYSQL_PASSWORD", "")
# The tables the status model derives, compared column by column (the archive is batch-shaped, left out).
TABLES = ["messages", "recipients", "events", "suppressions", "address_stats"]


def is_running(pid):
    """False once the process is gone or a zombie (peers.py, its parent, reaps it only at the end)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def mailtrack(*args):
    r = subprocess.run([ARGS.binary, *args], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError("mailtrack %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def mysql_host_port():
    hostport = MYSQL_URL.split("@", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    return host, port


def columns(sqlite_db, table):
    """(name, is_integer) of the SQLite table, archive pointers left out."""
    con = sqlite3.connect(sqlite_db)
    cols = [(r[1], r[2].upper() == "INTEGER") for r in con.execute("PRAGMA table_info(%s)" % table)
            if not r[1].startswith("archive_")]
    con.close()
    return cols


def select_sql(table, cols):
    # Text and blobs as hex: the same bytes print the same from both databases.
    return "SELECT %s FROM %s" % (",".join(c if is_int else "CASE WHEN %s IS NULL THEN 'NULL' ELSE HEX(%s) END" % (c, c)
                                           for c, is_int in cols), table)


def sqlite_state(db, shape):
    con = sqlite3.connect(db)
    out = {}
    for t in TABLES:
        rows = con.execute(select_sql(t, shape[t])).fetchall()
        out[t] = sorted("\t".join("NULL" if v is None else str(v) for v in r) for r in rows)
    con.close()
    return out


def mysql_query(database, sql):
    host, port = mysql_host_port()
    r = subprocess.run(["mariadb", "--no-defaults", "-h", host, "-P", port, "-umailtrack", "--batch",
                        "--skip-column-names", database, "-e", sql],
                       capture_output=True, text=True, env={**os.environ, "MYSQL_PWD": MYSQL_PASSWORD})
    if r.returncode != 0:
        raise AssertionError("mariadb: %s" % r.stderr)
    return [line for line in r.stdout.split("\n") if line != ""]


def mysql_state(database, shape):
    return {t: sorted(mysql_query(database, select_sql(t, shape[t]))) for t in TABLES}


class WorkersOnMariaDB(unittest.TestCase):
    maxDiff = 2000  # a failed comparison of 20,000 rows must not spend minutes building its diff

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mailtrack-worker-mysql-")
        docs = json.loads(subprocess.run([ARGS.event_tool, str(ARGS.emails), "23"], capture_output=True, text=True,
                                         check=True).stdout)
        rng = random.Random(5)
        # Duplicates (a tenth again), all shuffled.
        docs = docs + [docs[rng.randrange(len(docs))] for _ in range(len(docs) // 10)]
        rng.shuffle(docs)
        cls.docs = docs
        ndjson = os.path.join(cls.tmp.name, "events.ndjson")
        with open(ndjson, "w") as f:
            for d in docs:
                f.write(json.dumps(json.loads(d)) + "\n")
        # Reference: the same documents into SQLite in one process.
        cls.ref_db = os.path.join(cls.tmp.name, "reference.db")
        start = time.monotonic()
        mailtrack("ingest", "--db", cls.ref_db, ndjson)
        print("reference ingest of %d documents in %.1f s" % (len(docs), time.monotonic() - start), file=sys.stderr)
        cls.shape = {t: columns(cls.ref_db, t) for t in TABLES}
        cls.reference = sqlite_state(cls.ref_db, cls.shape)
        # The restart test runs on a smaller stream (its own reference) to keep the suite short.
        small = json.loads(subprocess.run([ARGS.event_tool, str(ARGS.restart_emails), "29"], capture_output=True,
                                          text=True, check=True).stdout)
        small = small + [small[rng.randrange(len(small))] for _ in range(len(small) // 10)]
        rng.shuffle(small)
        cls.small_docs = small
        small_ndjson = os.path.join(cls.tmp.name, "small.ndjson")
        with open(small_ndjson, "w") as f:
            for d in small:
                f.write(json.dumps(json.loads(d)) + "\n")
        cls.small_db = os.path.join(cls.tmp.name, "small.db")
        mailtrack("ingest", "--db", cls.small_db, small_ndjson)
        cls.small_reference = sqlite_state(cls.small_db, cls.shape)
        cls.counter = 0

    def setUp(self):
        WorkersOnMariaDB.counter += 1
        name = "mt-mysql-%d-%d" % (os.getpid(), self.counter)
        out = mailtrack("setup", "--json", "--queue-name", name, "--dlq-name", name + "-dlq", "--topic-name", name)
        self.queue = json.loads(out.stdout)["queue_url"]
        self.database = "worker_%d_%d" % (os.getpid(), self.counter)
        host, port = mysql_host_port()
        self.url = "mysql://mailtrack@%s:%s/%s?ssl-mode=DISABLED" % (host, port, self.database)

    def publish_all(self, docs=None):
        docs = self.docs if docs is None else docs
        start = time.monotonic()
        publish_all(self.queue, docs)
        print("published %d messages in %.1f s" % (len(docs), time.monotonic() - start), file=sys.stderr)

    def depth(self):
        return depth(self.queue)

    def start_worker(self):
        proc = subprocess.Popen([ARGS.binary, "worker", "--set", "store.backend=mysql", "--set", "store.mysql_url=" + self.url,
                                 "--set", "store.mysql_create_database=true",
                                 "--set", "worker.queue_urls=" + self.queue,
                                 "--set", "worker.wait_time_s=1", "--set", "worker.visibility_timeout_s=10",
                                 "--set", "worker.linger_ms=5", "--set", "log.level=warn",
                                 "--set", "worker.store_backoff_max_ms=1000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "MAILTRACK_MYSQL_PASSWORD": MYSQL_PASSWORD})
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err[-3000:])
        return err

    def wait_drained(self, workers, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.depth() == (0, 0):
                return
            for w in workers:
                if w.poll() is not None:
                    self.fail("a worker exited with %s: %s" % (w.returncode, w.stderr.read()[-3000:]))
            time.sleep(0.3)
        for w in workers:
            w.kill()
            print(w.communicate()[1][-3000:], file=sys.stderr)
        self.fail("queue not drained: %s" % (self.depth(),))

    def stored_events(self):
        try:
            return int(mysql_query(self.database, "SELECT COUNT(*) FROM events")[0])
        except (AssertionError, IndexError, ValueError):
            return 0

    def test_three_workers_on_one_queue_match_one_sqlite_ingest(self):
        self.publish_all()
        start = time.monotonic()
        workers = [self.start_worker() for _ in range(3)]
        self.wait_drained(workers, 240)
        print("three workers drained %d messages in %.1f s" % (len(self.docs), time.monotonic() - start),
              file=sys.stderr)
        for w in workers:
            self.stop(w)
        start = time.monotonic()
        got = mysql_state(self.database, self.shape)
        print("state read in %.1f s" % (time.monotonic() - start), file=sys.stderr)
        self.assertEqual(got, self.reference)

    def test_mariadb_restarted_mid_run_loses_nothing_and_workers_recover(self):
        self.publish_all(self.small_docs)
        workers = [self.start_worker() for _ in range(2)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.stored_events() < len(self.small_docs) // 5:
            time.sleep(0.1)
        self.assertGreater(self.stored_events(), 0)
        pidfile = os.environ["MAILTRACK_TEST_MARIADB_PIDFILE"]
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGKILL)
        while is_running(pid):
            time.sleep(0.05)
        # A worker started while the server is down waits for it instead of exiting.
        workers.append(self.start_worker())
        time.sleep(2)  # the workers see the server gone
        for w in workers:
            self.assertIsNone(w.poll(), "a worker exited while the database was down")
        subprocess.Popen(json.loads(os.environ["MAILTRACK_TEST_MARIADB_CMD"]), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_drained(workers, 240)
        errs = [self.stop(w) for w in workers]
        self.assertTrue(any("store unavailable" in e for e in errs), errs[0][-2000:])
        self.assertIn("store unavailable at start; waiting for it", errs[-1])
        self.assertEqual(mysql_state(self.database, self.shape), self.small_reference)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--event-tool", required=True)
    parser.add_argument("--emails", type=int, default=6700)  # about 20,100 events, 22,100 with the duplicates
    parser.add_argument("--restart-emails", type=int, default=1500)
    ARGS, rest = parser.parse_known_args()
    if not ENDPOINT or not MYSQL_URL:
        sys.exit("MAILTRACK_TEST_FAUXQS_URL / MAILTRACK_TEST_MYSQL_URL are not set: run through "
                 "tests/support/peers.py --fauxqs --mariadb")
    os.environ["AWS_ENDPOINT_URL"] = ENDPOINT
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
