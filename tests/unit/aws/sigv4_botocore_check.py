#!/usr/bin/env python3
"""Cross-checks mailtrack's SigV4 signer against botocore's SigV4Auth (the reference implementation).

Generates N requests from a fixed seed (methods; paths with unicode, reserved characters and dot
segments; repeated and unsorted query parameters; header values with runs of spaces and tabs;
duplicate headers; empty, small, unicode and large bodies; session tokens; our three services),
signs each with the C++ helper (argv[1]) and with botocore, and requires identical Authorization
headers. Usage: sigv4_botocore_check.py SIGV4_TOOL [COUNT] [SEED]
"""
import datetime
import json
import random
import subprocess
import sys
from urllib.parse import quote

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICES = [("sqs", "sqs.{r}.amazonaws.com"), ("sns", "sns.{r}.amazonaws.com"), ("ses", "email.{r}.amazonaws.com")]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"]
SEGMENTS = ["v2", "email", "outbound-emails", "a b", "café", "ሴ", "x+y", "a@b.com", "semi;colon", "%", "q?uery",
            "hash#", "eq=al", "tilde~", "_-.", "(paren)", "*star*", "colon:", ".", "..", "", "日本語", "a&b", "'quote'"]
QKEYS = ["Action", "Version", "Param", "a", "B", "b", "ключ", "x y", "k+v", "empty", "~t", "Z", "n1", "n10", "n2"]
QVALS = ["", "value", "two words", "a+b", "ü", "1", "10", "2", "/slash/", "=eq", "&amp", "*", "%41", "~-._"]
HNAMES = ["X-Custom", "x-amz-target", "Content-Type", "My-Header", "x-amz-meta-Thing", "Accept", "X-Forwarded-For"]
HVALS = ["value", "  leading", "trailing   ", "runs    of   spaces", "tab\there", "mixed \t \t gaps", "a,b", "é ü",
         "application/x-amz-json-1.0", "AmazonSQS.ReceiveMessage", "", "   "]


PREVIOUS = []


def gen(rng, i):
    service, host_t = SERVICES[i % 3]
    region = rng.choice(REGIONS)
    host = host_t.format(r=region)
    if rng.random() < 0.2:
        host = "localhost:%d" % rng.randint(1024, 65535)
    method = rng.choice(["GET", "POST", "PUT", "DELETE"])
    segs = [rng.choice(SEGMENTS) for _ in range(rng.randint(0, 5))]
    path = "/" + "/".join(quote(s, safe="") if s not in (".", "..", "") else s for s in segs)
    if rng.random() < 0.3:
        path += "/"
    params = [(rng.choice(QKEYS), rng.choice(QVALS)) for _ in range(rng.choice([0, 0, 1, 2, 3, 5]))]
    if params and rng.random() < 0.4:
        params.append(params[0])  # repeated parameter
    if params and rng.random() < 0.3:
        params.append((params[0][0], rng.choice(QVALS)))  # repeated key, other value
    query = "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in params)
    headers = [("Host", host)]
    for _ in range(rng.randint(0, 4)):
        headers.append((rng.choice(HNAMES), rng.choice(HVALS)))
    if rng.random() < 0.2 and len(headers) > 1:
        headers.append((headers[1][0].upper(), rng.choice(HVALS)))  # duplicate name, other case
    kind = rng.random()
    if kind < 0.3:
        body = ""
    elif kind < 0.6:
        body = json.dumps({"QueueUrl": "https://x/1/q", "MaxNumberOfMessages": rng.randint(1, 10)})
    elif kind < 0.8:
        body = "Action=Publish&Message=" + quote("héllo wörld ✓", safe="") + "&Subject=a+b"
    elif kind < 0.95:
        body = "".join(rng.choice("abcdefghij  é✓\n{}\":,") for _ in range(rng.randint(1000, 5000)))
    else:
        body = "L" * (1 << 20)  # 1 MiB, the SQS limit
    token = "" if rng.random() < 0.5 else "FwoGZXIvYXdzE" + "".join(rng.choice("abcdefXYZ0129+/=") for _ in range(80))
    now_s = rng.randint(1_400_000_000, 2_000_000_000)
    # Some secrets are longer than HMAC's 64-byte block once "AWS4" is prepended.
    secret = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEF0123456789+/") for _ in range(rng.choice([40, 40, 40, 90])))
    if PREVIOUS and rng.random() < 0.4:
        # The signer caches the signing key per secret, day, region and service: the same
        # secret and region on the same UTC day, and sometimes another service or day.
        prev = PREVIOUS[-1]
        secret, region = prev["secret_key"], prev["region"]
        if rng.random() < 0.8:
            service = prev["service"]
        day = prev["now_ms"] // 1000 // 86400 + (1 if rng.random() < 0.15 else 0)
        now_s = day * 86400 + rng.randint(0, 86399)
        if host.endswith(".amazonaws.com"):
            host = dict(SERVICES)[service].format(r=region)
            headers[0] = ("Host", host)
    r = {"method": method, "path": path, "query": query, "headers": headers, "body": body,
         "access_key": "AKID" + "".join(rng.choice("ABCDEFGHIJKLMNOP0123456789") for _ in range(16)),
         "secret_key": secret, "token": token, "region": region, "service": service,
         "now_ms": now_s * 1000 + rng.randint(0, 999), "scheme": "https" if rng.random() < 0.8 else "http"}
    PREVIOUS.append(r)
    return r


def botocore_sign(r):
    now = datetime.datetime.fromtimestamp(r["now_ms"] // 1000, datetime.timezone.utc).replace(tzinfo=None)
    botocore.auth.get_current_datetime = lambda: now
    host = r["headers"][0][1]
    url = "%s://%s%s%s" % (r["scheme"], host, r["path"], ("?" + r["query"]) if r["query"] else "")
    req = AWSRequest(method=r["method"], url=url, data=r["body"].encode("utf-8"))
    for k, v in r["headers"]:
        req.headers[k] = v  # HTTPHeaders appends, so duplicates are kept
    SigV4Auth(Credentials(r["access_key"], r["secret_key"], r["token"] or None), r["service"], r["region"]).add_auth(req)
    return req.headers["Authorization"]


def main():
    tool = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 240
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20240611
    rng = random.Random(seed)
    reqs = [gen(rng, i) for i in range(count)]
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in reqs)
    out = subprocess.run([tool], input=stdin.encode("utf-8"), capture_output=True, check=True).stdout.decode()
    ours = out.splitlines()
    assert len(ours) == count, "helper printed %d lines for %d requests" % (len(ours), count)
    bad = 0
    per_service = {}
    for r, mine in zip(reqs, ours):
        ref = botocore_sign(r)
        per_service[r["service"]] = per_service.get(r["service"], 0) + 1
        if ref != mine:
            bad += 1
            if bad <= 5:
                print("MISMATCH %s %s?%s headers=%r\n  botocore: %s\n  mailtrack: %s"
                      % (r["method"], r["path"], r["query"], r["headers"], ref, mine))
    print("%d requests (%s), %d mismatches" % (count, ", ".join("%s %d" % kv for kv in sorted(per_service.items())), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
