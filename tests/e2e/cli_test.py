#!/usr/bin/env python3
"""End-to-end tests: the mailtrack binary driven as a user would, on temp files."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

ARGS = None
MID = "0100018a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000"


def run(*args, stdin=None, env=None, expect=0):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILTRACK_")}
    full_env.update(env or {})
    p = subprocess.run([ARGS.binary, *args], input=stdin, capture_output=True, text=True, env=full_env, timeout=60)
    if expect is not None and p.returncode != expect:
        raise AssertionError(f"mailtrack {' '.join(args)} exited {p.returncode}, wanted {expect}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def fixture(name):
    return os.path.join(ARGS.testdata, "events", name + ".json")


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.tmp.name, "t.db")

    def tearDown(self):
        self.tmp.cleanup()

    def ingest(self, *files, expect=0):
        return json.loads(run("ingest", "--db", self.db, "--json", *files, expect=expect).stdout)

    def test_ingest_every_fixture_then_status_json(self):
        names = ["send", "delivery", "bounce-permanent", "complaint", "open", "click", "delivery-delay",
                 "sns-delivery", "unknown-type"]
        report = self.ingest(*[fixture(n) for n in names])
        self.assertEqual(report["rejected"], 0)
        self.assertEqual(report["unknown"], 1)
        # sns-delivery wraps the same SES JSON as delivery: a duplicate.
        self.assertEqual(report["duplicates"], 1)
        self.assertEqual(report["applied"], 7)
        status = json.loads(run("status", "--db", self.db, "--json", MID).stdout)
        self.assertEqual(status["message_id"], MID)
        by_addr = {r["address"]: r for r in status["recipients"]}
        self.assertEqual(by_addr["recipient@example.com"]["status"], "complained")
        self.assertEqual(by_addr["Other.Person@example.org"]["status"], "delivered")
        types = [e["type"] for e in status["events"]]
        self.assertEqual(len(types), 8)
        self.assertIn("unknown", types)
        for e in status["events"]:
            self.assertRegex(e["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        human = run("status", "--db", self.db, MID).stdout
        self.assertIn("complained", human)
        self.assertIn("Échantillon ✓", human)

    def test_rejected_inputs_exit_2_with_file_and_line(self):
        bad = os.path.join(self.tmp.name, "mixed.ndjson")
        with open(fixture("open")) as f:
            good = json.dumps(json.load(f))
        with open(bad, "w") as f:
            f.write(good + "\n{\"eventType\": \"Send\"\n[1]\n")
        p = run("ingest", "--db", self.db, bad, expect=2)
        self.assertIn("applied 1", p.stdout)
        self.assertIn("rejected 2", p.stdout)
        self.assertIn("mixed.ndjson:2: invalid input: not valid JSON", p.stdout)
        self.assertIn("mixed.ndjson:3: invalid input: expected a JSON object", p.stdout)
        # The valid one was applied all the same.
        self.assertEqual(json.loads(run("status", "--db", self.db, "--json", MID).stdout)["recipients"][0]["status"],
                         "delivered")

    def test_stdin_and_duplicates(self):
        with open(fixture("send")) as f:
            doc = f.read()
        first = json.loads(run("ingest", "--db", self.db, "--json", "-", stdin=doc).stdout)
        second = json.loads(run("ingest", "--db", self.db, "--json", "-", stdin=doc).stdout)
        self.assertEqual((first["applied"], second["applied"], second["duplicates"]), (1, 0, 1))

    def test_list_filters_and_stats(self):
        self.ingest(fixture("send"), fixture("delivery"), fixture("bounce-permanent"))
        rows = json.loads(run("list", "--db", self.db, "--json", "--status", "bounced").stdout)
        self.assertEqual([r["address"] for r in rows], ["recipient@example.com"])
        rows = json.loads(run("list", "--db", self.db, "--json", "--recipient", " Other.Person@EXAMPLE.ORG ").stdout)
        self.assertEqual(len(rows), 1)
        self.assertEqual(json.loads(run("list", "--db", self.db, "--json", "--since", "2099-01-01").stdout), [])
        p = run("list", "--db", self.db, "--status", "exploded", expect=2)
        self.assertIn("unknown status", p.stderr)
        stats = json.loads(run("stats", "--db", self.db, "--json").stdout)
        self.assertEqual(stats["sent"], 2)
        self.assertEqual(stats["bounced"], 1)
        self.assertAlmostEqual(stats["bounce_rate"], 0.5)
        self.assertEqual(stats["bounce_verdict"], "AT RISK")
        self.assertIn("AT RISK", run("stats", "--db", self.db).stdout)

    def test_status_of_unknown_message_fails_clearly(self):
        self.ingest(fixture("send"))
        p = run("status", "--db", self.db, "no-such-id", expect=1)
        self.assertIn("no message with id no-such-id", p.stderr)

    def test_read_commands_on_a_missing_database_say_so_and_create_nothing(self):
        missing = os.path.join(self.tmp.name, "nope.db")
        for args in (["status", "some-id"], ["status", "--send", "snd_x"], ["list"], ["stats", "--json"],
                     ["suppress", "list"], ["suppress", "export"], ["apikey", "list"]):
            p = run(*args, "--db", missing, expect=1)
            self.assertIn("the SQLite database " + missing + " does not exist (store.sqlite_path)", p.stderr)
            self.assertFalse(os.path.exists(missing), "mailtrack %s created %s" % (args[0], missing))
        # A command that writes still creates it.
        self.ingest(fixture("send"))
        p = run("status", "--db", self.db, "--send", "snd_nosuch", expect=1)
        self.assertIn("no send with id snd_nosuch in the SQLite database " + self.db, p.stderr)

    def test_config_layers_and_masking(self):
        cfg = os.path.join(self.tmp.name, "m.toml")
        with open(cfg, "w") as f:
            f.write('[store]\nsqlite_path = "file.db"\n[ingest]\nbatch_size = 3\n')
        shown = json.loads(run("config", "show", "--json", "--config", cfg,
                               env={"MAILTRACK_INGEST_BATCH_SIZE": "5"}).stdout)
        self.assertEqual(shown["store.sqlite_path"], {"value": "file.db", "source": "file"})
        self.assertEqual(shown["ingest.batch_size"], {"value": "5", "source": "environment"})
        flagged = json.loads(run("config", "show", "--json", "--config", cfg, "--set", "ingest.batch_size=9").stdout)
        self.assertEqual(flagged["ingest.batch_size"]["source"], "flag")
        with open(cfg, "w") as f:
            f.write('[store]\nsqlite_pth = "x"\n')
        p = run("config", "show", "--config", cfg, expect=1)
        self.assertIn("unknown setting store.sqlite_pth", p.stderr)

    def test_sqlite_synchronous_is_full_or_normal(self):
        self.ingest(fixture("send"))
        for mode in ("full", "normal"):
            p = run("stats", "--db", self.db, "--json", "--set", "store.sqlite_synchronous=" + mode)
            self.assertEqual(json.loads(p.stdout)["sent"], 2)  # the send fixture has two recipients
        p = run("stats", "--db", self.db, "--set", "store.sqlite_synchronous=off", expect=1)
        self.assertIn('store.sqlite_synchronous: "off" is not full or normal', p.stderr)

    def test_archive_zstd_level_is_one_of_zstds_levels(self):
        # The extremes of zstd's range are accepted, and what they archive reads back.
        for level in ("-5", "19"):
            db = os.path.join(self.tmp.name, "level%s.db" % level)
            run("ingest", "--db", db, fixture("delivery"), "--set=store.archive_zstd_level=" + level)
            status = json.loads(run("status", "--db", db, "--json", "--raw", MID).stdout)
            self.assertEqual(status["events"][0]["raw"]["eventType"], "Delivery")
        # Outside it zstd would quietly use its nearest level (99 -> 22, a few MB/s).
        for level in ("23", "-200000"):
            p = run("ingest", "--db", self.db, fixture("delivery"), "--set=store.archive_zstd_level=" + level, expect=1)
            self.assertRegex(p.stderr, r"store\.archive_zstd_level must be -\d+\.\.22 \(zstd's levels\), got " + level)
        self.assertFalse(os.path.exists(self.db), "a refused setting must not create the database")

    def test_packaged_default_config_is_accepted(self):
        packaged = os.path.join(ARGS.testdata, "..", "..", "deploy", "packaging", "mailtrack.toml")
        shown = json.loads(run("config", "show", "--json", "--config", packaged).stdout)
        self.assertEqual(shown["store.sqlite_path"]["source"], "file")

    def test_unreadable_input_and_unwritable_db(self):
        p = run("ingest", "--db", self.db, os.path.join(self.tmp.name, "missing.json"), expect=1)
        self.assertIn("cannot read", p.stderr)
        p = run("ingest", "--db", os.path.join(self.tmp.name, "no", "such", "dir", "x.db"), fixture("send"), expect=1)
        self.assertIn("sqlite", p.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--testdata", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])
