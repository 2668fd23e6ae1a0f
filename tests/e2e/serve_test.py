#!/usr/bin/env python3
"""`mailtrack serve` as a user runs it: a store filled by `mailtrack ingest`, the API read over
HTTP with keep-alive, the answers equal to what the CLI prints, SIGTERM ending it with exit 0,
and the settings that must refuse to start."""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None
MID = "0100018a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000"


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("MAILTRACK_")}


def run(*args, expect=0):
    p = subprocess.run([ARGS.binary, *args], capture_output=True, text=True, env=clean_env(), timeout=60)
    if expect is not None and p.returncode != expect:
        raise AssertionError(f"mailtrack {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


class Serve(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "t.db")
        events = os.path.join(ARGS.testdata, "events")
        run("ingest", "--db", self.db, *[os.path.join(events, f) for f in sorted(os.listdir(events))], expect=None)
        self.key = run("apikey", "create", "--db", self.db, "--name", "e2e", "--scope", "read").stdout.strip()
        self.auth = {"Authorization": "Bearer " + self.key}
        self.log = open(os.path.join(self.tmp.name, "serve.log"), "w+")
        self.proc = subprocess.Popen([ARGS.binary, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                                      "--set", "log.format=json"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=clean_env())
        self.port = self.wait_for_port()

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.tmp.cleanup()

    def log_text(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def wait_for_port(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = re.search(r'"msg":"http server listening".*?"port":(\d+)', self.log_text())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                self.fail("serve exited early: " + self.log_text())
            time.sleep(0.05)
        self.fail("serve did not start listening: " + self.log_text())

    def test_the_api_answers_what_the_cli_shows_and_sigterm_exits_0(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/v1/emails/" + MID)
        r = conn.getresponse()
        self.assertEqual(r.status, 401)
        self.assertEqual(r.getheader("WWW-Authenticate"), "Bearer")
        r.read()
        conn.request("GET", "/v1/emails/" + MID, headers=self.auth)
        r = conn.getresponse()
        email = json.loads(r.read())
        self.assertEqual(r.status, 200)
        self.assertRegex(r.getheader("X-Request-Id"), r"^[0-9a-f]{16}$")
        status = json.loads(run("status", "--db", self.db, "--json", MID).stdout)
        self.assertEqual(email["message"], status)  # one view, the same JSON
        conn.request("GET", "/v1/stats", headers=self.auth)  # the same connection, kept alive
        r = conn.getresponse()
        self.assertEqual(json.loads(r.read()), json.loads(run("stats", "--db", self.db, "--json").stdout))
        conn.request("GET", "/v1/emails/no-such-id", headers={"X-Request-Id": "e2e-1", **self.auth})
        r = conn.getresponse()
        err = json.loads(r.read())
        self.assertEqual(r.status, 404)
        self.assertEqual(err["error"]["request_id"], "e2e-1")
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        metrics = r.read().decode()
        self.assertIn('mailtrack_http_requests_total{code="2xx",route="GET /v1/emails/{id}"} 1', metrics)
        conn.close()
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0)
        log = self.log_text()
        self.assertIn('"request_id":"e2e-1"', log)  # the access log, one line per request
        self.assertNotIn("no-such-id", log)  # which holds routes, not paths
        self.assertNotIn(self.key, log)  # and never a key
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=2)


    def test_a_revoked_key_is_refused_at_once(self):
        keys = json.loads(run("apikey", "list", "--db", self.db, "--json").stdout)
        self.assertEqual([k["name"] for k in keys], ["e2e"])
        self.assertTrue(self.key.startswith(keys[0]["prefix"] + "_"))
        self.assertNotIn(self.key, json.dumps(keys))
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/v1/stats", headers=self.auth)
        self.assertEqual(conn.getresponse().read() and 200, 200)
        run("apikey", "revoke", "--db", self.db, keys[0]["prefix"])
        conn.request("GET", "/v1/stats", headers=self.auth)
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 401)
        conn.close()
        p = run("apikey", "revoke", "--db", self.db, keys[0]["prefix"], expect=1)
        self.assertIn("was already revoked", p.stderr)
        p = run("apikey", "create", "--db", self.db, "--name", "x", "--scope", "root", expect=2)
        self.assertIn("--scope root: expected read, send or admin", p.stderr)


class ServeRefuses(unittest.TestCase):
    def test_bad_settings_are_refused(self):
        p = run("serve", "--db", "/tmp/unused.db", "--set", "server.port=70000", expect=1)
        self.assertIn("server.port must be 0..65535", p.stderr)
        p = run("serve", "--db", "/tmp/unused.db", "--set", "server.tls_certificate_file=/x.pem", expect=1)
        self.assertIn("server.tls_certificate_file and server.tls_private_key_file: set both or neither", p.stderr)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--testdata", required=True)
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest])
