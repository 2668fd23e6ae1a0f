#!/bin/sh
# `mailtrack send` and `mailtrack suppress` driven as a user would, against aws-ses-v2-local.
# Run via peers.py --ses.
set -eu
MAILTRACK=$1
export AWS_ENDPOINT_URL_SESV2="$MAILTRACK_TEST_SES_URL"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mt() { "$MAILTRACK" --db "$dir/mt.db" "$@"; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# The suppression list: add, import (one bad line, reported by number), list, export, remove.
mt suppress add gone@example.com --reason bounce --detail "Permanent/General"
printf 'address,reason,detail\nnope@example.com,complaint,abuse\nnot-an-address\nlater@example.com,,,2999-01-01T00:00:00Z\n' > "$dir/in.csv"
if mt suppress import "$dir/in.csv" 2>"$dir/err"; then echo "import with a bad line should exit 1"; exit 1; fi
grep -q "in.csv:3: not an email address" "$dir/err"
mt suppress list --json | python3 -c '
import json,sys
rows = {r["address"]: r for r in json.load(sys.stdin)}
assert set(rows) == {"gone@example.com", "nope@example.com", "later@example.com"}, rows
assert rows["nope@example.com"]["reason"] == "complaint"
assert rows["later@example.com"]["expires_at"].startswith("2999-01-01"), rows["later@example.com"]'
mt suppress export "$dir/out.csv"
grep -q '^gone@example.com,bounce,Permanent/General,,' "$dir/out.csv"
mt suppress remove later@example.com

# A send with an attachment: the suppressed recipient is skipped and named, the other gets it.
printf 'id,name\n1,Zoë\n' > "$dir/people.csv"
out=$(mt send --json --from "sender@example.com" --to "ann@example.com" --to "gone@example.com" \
  --subject "Grüße ✓" --text "hello" --html "<p>hello</p>" --attach "$dir/people.csv" \
  --header "X-Campaign: spring" --tag campaign=spring --configuration-set cs --idempotency-key order-1)
echo "$out"
send_id=$(echo "$out" | field send_id)
message_id=$(echo "$out" | field ses_message_id)
echo "$out" | python3 -c '
import json,sys
r = json.load(sys.stdin)
assert r["ok"] and not r["duplicate"], r
assert [s["address"] for s in r["skipped"]] == ["gone@example.com"], r
assert r["skipped"][0]["reason"] == "bounce", r'
curl -sf "$MAILTRACK_TEST_SES_URL/store" | python3 -c '
import base64,json,sys
mid = sys.argv[1]
e = [m for m in json.load(sys.stdin)["emails"] if m["messageId"] == mid][0]
assert e["subject"] == "Grüße ✓", e["subject"]
assert e["destination"]["to"] == ["ann@example.com"], e["destination"]
a = e["attachments"][0]
assert a["filename"] == "people.csv" and a["contentType"] == "text/csv", a
assert base64.b64decode(a["content"]).decode() == "id,name\n1,Zoë\n"' "$message_id"

# The same idempotency key does not send again.
again=$(mt send --json --from "sender@example.com" --to "ann@example.com" --subject "Grüße ✓" --text "hello" \
  --idempotency-key order-1)
test "$(echo "$again" | field send_id)" = "$send_id"
test "$(echo "$again" | field ses_message_id)" = "$message_id"
test "$(echo "$again" | field duplicate)" = "True"

# Everyone suppressed: refused before SES, naming them; --force sends.
if mt send --from sender@example.com --to gone@example.com --to nope@example.com --subject s --text t 2>"$dir/err"; then
  echo "expected refusal"; exit 1
fi
grep -q "gone@example.com (bounce), nope@example.com (complaint)" "$dir/err"
mt send --force --from sender@example.com --to gone@example.com --subject s --text t | grep -q "^SES message id"

# The message row carries the send id, with its recipient queued until events arrive.
mt status "$message_id" --json | python3 -c '
import json,sys
v = json.load(sys.stdin)
m = v.get("message", v)
assert m["send_id"] == sys.argv[1], m
' "$send_id"
echo "send and suppress OK"
