#!/usr/bin/env python3
"""The whole mailtrack pipeline on loopback, as `scripts/run.sh` runs it and the e2e test checks it.

  pipeline_demo.py --binary build/release/mailtrack [--workdir build/run] [--keep] [--timeout 180]
                   [--fauxqs-port P] [--ses-port P] [--bulk-rows 12] [--ses-max-send-rate 14] [--quiet]
  pipeline_demo.py --stop [--workdir build/run]      # stop what an earlier --keep left running

Starts fauxqs (SQS+SNS) and aws-ses-v2-local (SES v2) on 127.0.0.1 (free ports unless given), runs
`mailtrack setup` (topic, queue, DLQ, subscription), starts `mailtrack worker` on an SQLite file, and
sends with sandbox events on (sending.sandbox_events): one email to each of several labelled mailbox
simulator addresses (success, bounce, ooto, complaint, suppressionlist), a few to ordinary addresses,
one with an attachment, one with several recipients (to, cc, bcc), one with Open/Click events, and
a bulk template send from a CSV (send-bulk). It then waits until every recipient has the final status
its address kind implies (failing loudly with the stragglers after --timeout seconds), checks the
stats counts and that the attachment reached aws-ses-v2-local byte for byte, prints the status
table, the stats and one send by its send id, says where the sent mail can be seen, and stops
everything it started (unless --keep). Every run starts from a fresh --workdir. Exit 0 only when
every check passed.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import peers as peerlib  # noqa: E402  (the same launcher the tests use)

MARKER = ".mailtrack-run"  # only a directory carrying it is ever wiped
SIM = "simulator.amazonses.com"
# What each kind of address ends as, by docs/STATUS_MODEL.md and the simulator's events.
FINAL = {"success": "delivered", "other": "delivered", "ooto": "delivered", "bounce": "bounced",
         "suppressionlist": "bounced", "complaint": "complained"}


class Failure(Exception):
    pass


def kind_of(address):
    local, _, domain = address.partition("@")
    if domain.lower() != SIM:
        return "other"
    return local.split("+")[0] if local.split("+")[0] in FINAL else "other"


def say(quiet, *lines):
    if not quiet:
        for line in lines:
            print(line, flush=True)


def stop_recorded(workdir):
    """Stops the processes an earlier --keep run recorded (only if they still look like ours)."""
    path = os.path.join(workdir, "pids.json")
    if not os.path.exists(path):
        return 0
    stopped = 0
    for entry in json.load(open(path)):
        pid = entry["pid"]
        try:
            cmdline = open("/proc/%d/cmdline" % pid, "rb").read().decode(errors="replace")
        except OSError:
            continue
        if entry["match"] not in cmdline:
            continue
        try:
            if entry.get("group"):
                os.killpg(pid, signal.SIGTERM)
            else:
                os.kill(pid, signal.SIGTERM)
            stopped += 1
        except ProcessLookupError:
            pass
    os.remove(path)
    return stopped


def fresh_workdir(workdir):
    if os.path.exists(workdir):
        if os.listdir(workdir) and not os.path.exists(os.path.join(workdir, MARKER)):
            raise Failure("%s exists and was not made by this script; give another --workdir" % workdir)
        stop_recorded(workdir)
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    open(os.path.join(workdir, MARKER), "w").close()


def toml_config(path, db, urls, pipeline=None):
    lines = ['[log]', 'level = "warn"', '[store]', 'sqlite_path = %s' % json.dumps(db),
             '[aws]', 'region = "us-east-1"',
             'sqs_endpoint_url = %s' % json.dumps(urls["fauxqs"]), 'sns_endpoint_url = %s' % json.dumps(urls["fauxqs"]),
             'sesv2_endpoint_url = %s' % json.dumps(urls["ses"]),
             '[ses]', 'from = "mailtrack demo <demo@example.com>"', 'configuration_set = "mailtrack-demo"',
             '[sending]', 'sandbox_events = true']
    if pipeline:
        lines += ['[worker]', 'queue_urls = [%s]' % json.dumps(pipeline["queue_url"]),
                  'dlq_url = %s' % json.dumps(pipeline["dlq_url"]), 'wait_time_s = 5',
                  '[sns]', 'events_topic_arn = %s' % json.dumps(pipeline["topic_arn"])]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class Run:
    def __init__(self, args):
        self.args = args
        self.workdir = os.path.abspath(args.workdir)
        self.config = os.path.join(self.workdir, "mailtrack.toml")
        self.db = os.path.join(self.workdir, "mailtrack.db")
        self.peers = None
        self.worker = None
        self.env = None
        self.expected = {}  # address -> final status
        self.messages = 0
        self.attachment = None  # (message id, file name, bytes)
        self.multi_send_id = None

    def mt(self, *argv, parse_json=False, ok_codes=(0,)):
        cmd = [self.args.binary, "--config", self.config] + list(argv)
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        if p.returncode not in ok_codes:
            raise Failure("`mailtrack %s` exited %d:\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
        return json.loads(p.stdout) if parse_json else p.stdout

    def ses_post(self, path, body):
        req = urllib.request.Request(self.peers.urls["ses"] + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              # aws-ses-v2-local wants an Authorization header; it checks no signature
                                              "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/"
                                                               "aws4_request, SignedHeaders=host, Signature=00"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def ses_store(self):
        with urllib.request.urlopen(self.peers.urls["ses"] + "/store", timeout=10) as r:
            return json.load(r)["emails"]

    # ---- phases
    def start(self):
        a = self.args
        fresh_workdir(self.workdir)
        peer_dir = os.path.join(self.workdir, "peers")
        os.makedirs(peer_dir)
        ports = {"fauxqs": a.fauxqs_port, "ses": a.ses_port}
        self.peers = peerlib.Peers({"fauxqs", "ses"}, peer_dir, ports, ses_max_send_rate=a.ses_max_send_rate)
        try:
            self.env = self.peers.start()
        except RuntimeError as e:
            raise Failure(str(e))
        say(a.quiet, "== peers on loopback: fauxqs %s, aws-ses-v2-local %s" % (self.peers.urls["fauxqs"], self.peers.urls["ses"]))
        toml_config(self.config, self.db, self.peers.urls)
        pipeline = self.mt("setup", "--json", parse_json=True)
        say(a.quiet, "== mailtrack setup: topic %s" % pipeline["topic_arn"],
            "                    queue %s (dead letters: %s)" % (pipeline["queue_url"], pipeline["dlq_url"]))
        toml_config(self.config, self.db, self.peers.urls, pipeline)
        log = open(os.path.join(self.workdir, "worker.log"), "wb")
        self.worker = subprocess.Popen([a.binary, "--config", self.config, "worker", "--stats-interval", "10"],
                                       env=self.env, stdout=log, stderr=subprocess.STDOUT)
        say(a.quiet, "== mailtrack worker started (pid %d) on %s, log %s" % (self.worker.pid, self.db,
                                                                            os.path.join(self.workdir, "worker.log")))

    def send(self, to, cc=(), bcc=(), subject="mailtrack demo", extra=()):
        argv = ["send", "--json", "--subject", subject, "--text", "Hello from the mailtrack demo.",
                "--html", '<p>Hello from the <a href="https://example.com/mailtrack">mailtrack</a> demo.</p>',
                "--tag", "campaign=demo"]
        for flag, addresses in (("--to", to), ("--cc", cc), ("--bcc", bcc)):
            for address in addresses:
                argv += [flag, address]
                self.expected[address] = FINAL[kind_of(address)]
        out = self.mt(*(argv + list(extra)), parse_json=True)
        if not out.get("ok") or out.get("warnings"):
            raise Failure("send to %s: %s" % (to, out))
        self.messages += 1
        return out

    def send_all(self):
        a = self.args
        t0 = time.time()
        for kind in ("success", "bounce", "ooto", "complaint", "suppressionlist"):
            for i in range(1, 5):
                self.send(["%s+demo%d@%s" % (kind, i, SIM)], subject="simulator: %s #%d" % (kind, i))
        for i in range(1, 6):
            self.send(["customer%d@example.com" % i], subject="order %d shipped" % i)
        # With an attachment (binary bytes, every value 0..255).
        name = "invoice-2026-11.pdf"
        content = bytes(range(256)) * 8 + "Grüße ✓".encode()
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(content)
        out = self.send(["accounts@example.com"], subject="Your invoice ✓", extra=["--attach", path + ";type=application/pdf"])
        self.attachment = (out["ses_message_id"], name, content)
        # Several recipients, each with its own fate.
        out = self.send(["success+multi@%s" % SIM, "friend@example.com"], cc=["bounce+multi@%s" % SIM],
                        bcc=["complaint+multi@%s" % SIM], subject="one email, four recipients")
        self.multi_send_id = out["send_id"]
        # Opens and clicks too.
        self.send(["reader@example.com"], subject="newsletter", extra=["--sandbox-engagement"])
        # A bulk template send from a CSV.
        self.ses_post("/v2/email/templates", {"TemplateName": "mailtrack-demo-welcome", "TemplateContent": {
            "Subject": "Welcome, {{name}}", "Text": "Hello {{name}}", "Html": "<p>Hello {{name}}</p>"}})
        csv = os.path.join(self.workdir, "recipients.csv")
        kinds = ("success", "ooto", "bounce", "complaint", "other")
        with open(csv, "w") as f:
            f.write("address,data,tags\n")
            for i in range(a.bulk_rows):
                kind = kinds[i % len(kinds)]
                address = "member%d@example.com" % i if kind == "other" else "%s+bulk%d@%s" % (kind, i, SIM)
                self.expected[address] = FINAL[kind_of(address)]
                f.write('%s,"{""name"":""Member %d""}",row=r%d\n' % (address, i, i))
        out = self.mt("send-bulk", "--json", "--template", "mailtrack-demo-welcome", "--recipients", csv,
                      parse_json=True)
        if not out["ok"] or out["sent"] != a.bulk_rows:
            raise Failure("send-bulk: %s" % out)
        self.messages += a.bulk_rows
        self.send_seconds = time.time() - t0
        say(a.quiet, "== sent %d emails to %d recipients in %.1f s (sandbox events on)" %
            (self.messages, len(self.expected), self.send_seconds))

    def wait_final(self):
        a = self.args
        deadline = time.time() + a.timeout
        t0 = time.time()
        while True:
            rows = self.mt("list", "--json", "--limit", "100000", parse_json=True)
            by_address = {}
            for r in rows:
                by_address.setdefault(r["address"], []).append(r)
            pending = []
            for address, want in sorted(self.expected.items()):
                got = by_address.get(address, [])
                status = got[0]["status"] if len(got) == 1 else ("absent" if not got else "%d rows" % len(got))
                done = status == want and (kind_of(address) != "ooto" or got[0]["soft_bounces"] >= 1)
                if not done:
                    pending.append("%s: %s, expected %s" % (address, status, want))
            if not pending:
                self.final_seconds = time.time() - t0
                say(a.quiet, "== every recipient reached its final status %.1f s after the last send" % self.final_seconds)
                return
            if time.time() > deadline or self.worker.poll() is not None:
                why = "the worker exited with status %s" % self.worker.returncode if self.worker.poll() is not None \
                    else "%d recipient(s) not final after %d s" % (len(pending), a.timeout)
                tail = open(os.path.join(self.workdir, "worker.log"), errors="replace").read()[-3000:]
                raise Failure("%s:\n  %s\n-- worker log (tail):\n%s" % (why, "\n  ".join(pending[:50]), tail))
            time.sleep(0.5 if len(self.expected) < 1000 else 2)

    def check(self):
        stats = self.mt("stats", "--json", parse_json=True)
        want = {}
        for status in self.expected.values():
            want[status] = want.get(status, 0) + 1
        problems = []
        for status, n in want.items():
            if stats["by_status"].get(status) != n:
                problems.append("stats: %s = %s, expected %d" % (status, stats["by_status"].get(status), n))
        if stats["recipients"] != len(self.expected):
            problems.append("stats: recipients = %s, expected %d" % (stats["recipients"], len(self.expected)))
        if stats["messages"] != self.messages:
            problems.append("stats: messages = %s, expected %d" % (stats["messages"], self.messages))
        if stats["opens"] != 1 or stats["clicks"] != 1:
            problems.append("stats: opens/clicks = %s/%s, expected 1/1" % (stats["opens"], stats["clicks"]))
        message_id, name, content = self.attachment
        found = [e for e in self.ses_store() if e.get("messageId") == message_id]
        if len(found) != 1:
            problems.append("aws-ses-v2-local has %d emails with message id %s" % (len(found), message_id))
        else:
            atts = found[0].get("attachments") or []
            if len(atts) != 1 or atts[0].get("filename") != name or atts[0].get("contentType") != "application/pdf" \
                    or base64.b64decode(atts[0].get("content", "")) != content:
                problems.append("the attachment did not arrive intact: %s" %
                                [{k: (v if k != "content" else "%d base64 chars" % len(v)) for k, v in x.items()} for x in atts])
            if found[0].get("subject") != "Your invoice ✓":
                problems.append("subject arrived as %r" % found[0].get("subject"))
        send = self.mt("status", "--send", self.multi_send_id, "--json", parse_json=True)
        got = {r["address"]: r["status"] for r in send["recipients"]}
        for address, status in got.items():
            if self.expected.get(address) != status:
                problems.append("status --send: %s is %s, expected %s" % (address, status, self.expected.get(address)))
        if len(got) != 4:
            problems.append("status --send lists %d recipients, expected 4" % len(got))
        cmd = [self.args.binary, "--config", self.config, "status", "--send", "snd_does_not_exist"]
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        if p.returncode == 0 or "no send with id snd_does_not_exist" not in p.stderr:
            problems.append("status --send of an unknown id: exit %d, %r" % (p.returncode, p.stderr))
        if problems:
            raise Failure("checks failed:\n  " + "\n  ".join(problems))
        say(self.args.quiet, "== checks passed: %d recipients at their expected statuses, stats counts, the attachment "
                             "intact in aws-ses-v2-local" % len(self.expected))

    def show(self):
        a = self.args
        if a.quiet:
            return
        print("\n== recipients (mailtrack list)")
        print(self.mt("list", "--limit", "100000"), end="")
        print("\n== stats (mailtrack stats)")
        print(self.mt("stats"), end="")
        print("\n== one send by its send id (mailtrack status --send %s)" % self.multi_send_id)
        print(self.mt("status", "--send", self.multi_send_id), end="")
        print("\n== the sent mail: open %s/ in a browser (aws-ses-v2-local's inbox; JSON at %s/store)%s"
              % (self.peers.urls["ses"], self.peers.urls["ses"],
                 "" if a.keep else "\n   it stops with this run: `bash scripts/run.sh --keep` leaves it (and the worker) up"))

    def stop(self, keep):
        if keep and self.worker and self.peers:
            pids = [{"pid": self.worker.pid, "match": "worker"}] + \
                   [{"pid": pid, "match": "node", "group": True} for pid in self.peers.pids()]
            with open(os.path.join(self.workdir, "pids.json"), "w") as f:
                json.dump(pids, f)
            print("\n== still running (--keep): worker pid %d, peers %s. Configuration: %s\n"
                  "   stop them with: python3 scripts/pipeline_demo.py --stop --workdir %s"
                  % (self.worker.pid, " ".join(map(str, self.peers.pids())), self.config, self.args.workdir))
            return
        worker_rc = None
        if self.worker and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                worker_rc = self.worker.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
                worker_rc = "killed: no exit within 40 s of SIGTERM"
        elif self.worker:
            worker_rc = self.worker.returncode
        self.worker = None
        if self.peers:
            self.peers.stop()
            self.peers = None
        return worker_rc


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "mailtrack"))
    p.add_argument("--workdir", default=os.path.join(ROOT, "build", "run"))
    p.add_argument("--keep", action="store_true", help="leave the worker and the emulators running")
    p.add_argument("--stop", action="store_true", help="stop what an earlier --keep run left running, then exit")
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for every final status")
    p.add_argument("--fauxqs-port", type=int, default=0, help="fixed port for fauxqs (default: a free one)")
    p.add_argument("--ses-port", type=int, default=0, help="fixed port for aws-ses-v2-local (default: a free one)")
    p.add_argument("--bulk-rows", type=int, default=12, help="rows in the send-bulk CSV")
    p.add_argument("--ses-max-send-rate", type=float, default=14, help="what aws-ses-v2-local's GetAccount reports")
    p.add_argument("--quiet", action="store_true", help="print only the result lines")
    args = p.parse_args(argv)
    if args.stop:
        n = stop_recorded(os.path.abspath(args.workdir))
        print("stopped %d process group(s)" % n)
        return 0
    if not os.access(args.binary, os.X_OK):
        print("pipeline_demo: no mailtrack binary at %s (build it first)" % args.binary, file=sys.stderr)
        return 1
    run = Run(args)
    ok = False
    try:
        run.start()
        run.send_all()
        run.wait_final()
        run.check()
        run.show()
        if not args.keep:
            rc = run.stop(False)
            if rc != 0:
                tail = open(os.path.join(run.workdir, "worker.log"), errors="replace").read()[-3000:]
                raise Failure("the worker did not stop cleanly on SIGTERM (exit %s):\n%s" % (rc, tail))
        ok = True
        print("pipeline: ok (%d emails, %d recipients; sending %.1f s, then final statuses %.1f s later)"
              % (run.messages, len(run.expected), run.send_seconds, run.final_seconds))
        return 0
    except Failure as e:
        print("pipeline: FAILED: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pipeline: interrupted", file=sys.stderr)
        return 130
    finally:
        run.stop(args.keep and ok)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
