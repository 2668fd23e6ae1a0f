#!/bin/sh
# `mailtrack send-bulk` driven as a user would, against aws-ses-v2-local. Run via peers.py --ses.
set -eu
MAILTRACK=$1
export AWS_ENDPOINT_URL_SESV2="$MAILTRACK_TEST_SES_URL"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mt() { "$MAILTRACK" --db "$dir/mt.db" "$@"; }
emails() { curl -sf "$MAILTRACK_TEST_SES_URL/store" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["emails"]))'; }

# (aws-ses-v2-local wants some Authorization header; it does not check the signature.)
curl -sf -X POST "$MAILTRACK_TEST_SES_URL/v2/email/templates" -H 'Content-Type: application/json' \
  -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=00' \
  -d '{"TemplateName":"bulk-welcome","TemplateContent":{"Subject":"Hi {{name}}","Text":"Hello {{name}}","Html":"<p>Hello {{name}}</p>"}}' >/dev/null
before=$(emails)

# 60 good rows (two SendBulkEmail calls), one suppressed, three bad rows with their line numbers.
python3 - "$dir/rows.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("address,data,tags\n")
    for i in range(60):
        f.write(f'user{i}@example.com,"{{""name"":""User {i}""}}",campaign=bulk;row-{i}=x\n')
    f.write("gone@example.com,{}\n")
    f.write("not-an-address,{}\n")
    f.write("bad@example.com,{oops\n")
    f.write("tag@example.com,{},bad tag\n")
PY
mt suppress add gone@example.com --reason complaint
set +e
mt send-bulk --from sender@example.com --template bulk-welcome --recipients "$dir/rows.csv" --json >"$dir/out" 2>"$dir/err"
rc=$?
set -e
cat "$dir/out" "$dir/err"
test "$rc" = 2  # bad rows make it partial
python3 - "$dir/out" <<'PY'
import json,sys
r = json.load(open(sys.argv[1]))
assert r["sent"] == 60 and r["suppressed"] == 1 and r["failed"] == 0, r
assert [b["line"] for b in r["bad_rows"]] == [63, 64, 65], r["bad_rows"]
assert [x["address"] for x in r["rows"]] == ["gone@example.com"], r["rows"]
PY
test "$(emails)" = "$((before + 60))"
curl -sf "$MAILTRACK_TEST_SES_URL/store" | python3 -c '
import json,sys
subjects = {m["subject"] for m in json.load(sys.stdin)["emails"]}
assert "Hi User 0" in subjects and "Hi User 59" in subjects, sorted(subjects)[:5]'

# Re-running the same file sends nothing again; plain output names the counts.
mt send-bulk --from sender@example.com --template bulk-welcome --recipients "$dir/rows.csv" >"$dir/out2" 2>"$dir/err2" || true
cat "$dir/out2"
grep -q "^sent 0, already sent 60, suppressed 1, failed 0, in doubt 0, bad rows 3" "$dir/out2"
grep -q "rows.csv:64: template data is not a JSON object" "$dir/err2"
grep -q "send-bulk: 61/61 rows" "$dir/err2"
test "$(emails)" = "$((before + 60))"
echo "cli_send_bulk: ok"
