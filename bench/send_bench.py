#!/usr/bin/env python3
"""Send throughput against aws-ses-v2-local with the rate limit lifted (issue 5 §7).

  send_bench.py --build build/release [--emails 2000] [--mode single|bulk] [--sandbox] [--bulk-concurrency 4]

Starts aws-ses-v2-local (GetAccount reports MaxSendRate 1,000,000/s, so the token bucket never
waits) and, with --sandbox, fauxqs plus `mailtrack setup` so every send also publishes its sandbox
events; runs BUILD/bench/send_bench; prints its result and the emulators' CPU over the run
(/proc/PID/stat utime+stime), since on one machine the emulator's share bounds the rate.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import peers as peerlib  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    p.add_argument("--emails", type=int, default=2000)
    p.add_argument("--mode", default="single", choices=["single", "bulk"])
    p.add_argument("--sandbox", action="store_true")
    p.add_argument("--bulk-concurrency", type=int, default=4)
    a = p.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="mailtrack-send-bench-")
    peers = peerlib.Peers({"ses", "fauxqs"} if a.sandbox else {"ses"}, tmp, ses_max_send_rate=1000000)
    try:
        env = peers.start()
        env["MAILTRACK_AWS_SESV2_ENDPOINT_URL"] = peers.urls["ses"]
        env["MAILTRACK_SENDING_BULK_CONCURRENCY"] = str(a.bulk_concurrency)
        if a.sandbox:
            env["MAILTRACK_AWS_SQS_ENDPOINT_URL"] = env["MAILTRACK_AWS_SNS_ENDPOINT_URL"] = peers.urls["fauxqs"]
            out = subprocess.run([os.path.join(a.build, "mailtrack"), "--db", os.path.join(tmp, "setup.db"), "setup",
                                  "--json"], env=env, check=True, capture_output=True, text=True).stdout
            env["MAILTRACK_SNS_EVENTS_TOPIC_ARN"] = json.loads(out)["topic_arn"]
            env["MAILTRACK_SENDING_SANDBOX_EVENTS"] = "true"
        if a.mode == "bulk":
            req = urllib.request.Request(peers.urls["ses"] + "/v2/email/templates", method="POST", data=json.dumps(
                {"TemplateName": "bench-template", "TemplateContent": {"Subject": "Hi {{name}}", "Text": "Hello {{name}}",
                                                                       "Html": "<p>Hello {{name}}</p>"}}).encode(),
                headers={"Content-Type": "application/json", "Authorization": "AWS4-HMAC-SHA256 Credential=t/20260101/"
                         "us-east-1/ses/aws4_request, SignedHeaders=host, Signature=00"})
            urllib.request.urlopen(req, timeout=10).read()
        before = {pid: cpu_of(pid) for pid in peers.pids()}
        rc = subprocess.call([os.path.join(a.build, "bench", "send_bench"), "--emails", str(a.emails), "--mode", a.mode,
                              "--dir", tmp], env=env)
        for (name, proc) in peers.procs:
            used = cpu_of(proc.pid) - before[proc.pid]
            print("%s CPU during the run: %.1f s (%.2f ms per email)" % (name, used, used * 1000 / a.emails))
        return rc
    except RuntimeError as e:
        print("send_bench.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        peers.stop()
        subprocess.call(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
