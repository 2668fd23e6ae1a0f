#!/bin/bash
# Validate mailtrack's infrastructure as code without an AWS account.
#
# Usage: bash tests/deploy/validate.sh
#
#  1. yamllint on every template (and the broken ones)
#  2. cfn-lint with the mailtrack policy rules (E9001..E9011) on every template;
#     the root stack's local TemplateURLs make cfn-lint check each nested
#     stack's parameters and outputs. Any finding, even a warning, fails.
#  3. the proof the rules can fail: each tests/deploy/broken/E9xxx-*.yaml must be
#     rejected by exactly rule E9xxx and nothing else, and every rule must have
#     such a template
#  4. the launch template's user data rendered as CloudFormation would; that
#     script and the scripts it writes go through shellcheck, and the config it
#     renders and the package's default config are checked against the TOML
#     contract
#  5. shellcheck on every script under deploy/ and tests/deploy/
#  6. the SSH login PAM hook, run against a stub `mailtrack`: publishes user,
#     source, host and time; returns at once even when the publish hangs; stays
#     silent for other PAM services and phases
#  7. the systemd unit's directives (systemd-analyze verify on a copy whose
#     ExecStart is /bin/true, since the binary is not built here) and its
#     offline security exposure
#  8. deploy.sh --dry-run and the example parameters file against the root stack
#
# Nothing here installs anything or contacts AWS. Exits non-zero if any check
# fails; the last line is the count.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
templates="$root/deploy/templates"
rules="$root/deploy/policy/cfnlint_rules"
broken="$here/broken"
max_exposure=2.0

passed=0
failed=0
failures=()
ok() { passed=$((passed + 1)); echo "  ok   $1"; }
bad() { failed=$((failed + 1)); failures+=("$1"); echo "  FAIL $1"; }
# run DESCRIPTION COMMAND...: passes on exit 0; shows the command's output on failure.
run() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then
    ok "$what"
  else
    bad "$what"
    printf '%s\n' "$out" | sed 's/^/       /' | head -40
  fi
}

missing=()
for tool in cfn-lint yamllint shellcheck python3 systemd-analyze; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -ne 0 ]; then
  echo "validate.sh: missing tools: ${missing[*]} (deploy/apt-packages.txt lists the Debian packages; cfn-lint comes with the machine image)" >&2
  echo "validate: 0 passed, 1 failed"
  exit 1
fi

if ! python3 -c 'import cfnlint, tomllib' 2>/dev/null; then
  echo "validate.sh: python3 must be the one cfn-lint runs on (3.11+, imports cfnlint)" >&2
  echo "validate: 0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d)
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
start=$(date +%s)
cfnlint=(cfn-lint --append-rules "$rules" --mandatory-checks E9 --format parseable --)

echo "== 1. yamllint"
for f in "$templates"/*.yaml "$broken"/*.yaml; do
  run "yamllint ${f#"$root"/}" yamllint -c "$root/deploy/.yamllint.yaml" -f parsable "$f"
done

echo "== 2. cfn-lint + policy rules on the templates ($(cfn-lint --version))"
# One cfn-lint run over the templates and the broken ones (it is slow to
# start); findings are sorted out per file below.
"${cfnlint[@]}" "$templates"/*.yaml "$broken"/*.yaml >"$work/lint.out" 2>&1
lint_status=$?
for f in "$templates"/*.yaml; do
  findings=$(grep -F "$f:" "$work/lint.out")
  if [ -z "$findings" ]; then
    ok "cfn-lint ${f#"$root"/}"
  else
    bad "cfn-lint ${f#"$root"/}"
    printf '%s\n' "$findings" | sed 's/^/       /' | head -20
  fi
done
# The broken templates make the run fail; anything but parseable findings
# (a traceback, a parse error) means cfn-lint itself did not work.
unparsed=$(grep -Ev '^/[^:]+:[0-9]+:[0-9]+:[0-9]+:[0-9]+:[EWI][0-9]+:' "$work/lint.out" | grep -v '^$')
if [ "$lint_status" -eq 0 ] || [ -n "$unparsed" ]; then
  bad "cfn-lint ran (exit $lint_status) and printed only findings"
  printf '%s\n' "$unparsed" | sed 's/^/       /' | head -20
else
  ok "cfn-lint ran (exit $lint_status) and printed only findings"
fi

echo "== 3. each broken template is rejected by exactly its rule"
mapfile -t rule_ids < <(python3 "$here/cfn_checks.py" rule-ids "$rules")
if [ "${#rule_ids[@]}" -eq 0 ]; then
  bad "policy rules found in $rules"
fi
for id in "${rule_ids[@]}"; do
  shopt -s nullglob
  cases=("$broken/$id"-*.yaml)
  shopt -u nullglob
  if [ "${#cases[@]}" -eq 0 ]; then
    bad "$id has a broken template under tests/deploy/broken"
    continue
  fi
  for f in "${cases[@]}"; do
    findings=$(grep -F "$f:" "$work/lint.out")
    got=$(printf '%s\n' "$findings" | awk -F: 'NF >= 6 { print $6 }' | sort -u | paste -sd' ' -)
    name=${f#"$root"/}
    if [ -z "$findings" ]; then
      bad "$name passed cfn-lint: rule $id did not fire"
    elif [ "$got" = "$id" ]; then
      ok "$name rejected by $id only"
    else
      bad "$name rejected by [${got:-nothing parseable}], expected exactly $id"
      printf '%s\n' "$findings" | sed 's/^/       /' | head -20
    fi
  done
done
for f in "$broken"/*.yaml; do
  id=$(basename "$f" | cut -d- -f1)
  if ! printf '%s\n' "${rule_ids[@]}" | grep -qx "$id"; then
    bad "${f#"$root"/} targets $id, which is not a policy rule"
  fi
done

echo "== 4. rendered user data and configs"
if run "render user data of app-instance.yaml" python3 "$here/cfn_checks.py" render-userdata "$templates/app-instance.yaml" "$work/userdata"; then
  for f in "$work"/userdata/*.sh; do
    run "shellcheck rendered $(basename "$f")" shellcheck -s bash "$f"
  done
  run "rendered mailtrack.toml matches the config contract" \
    python3 "$here/cfn_checks.py" check-config "$work/userdata/mailtrack.toml" --rendered
fi
run "default mailtrack.toml matches the config contract" \
  python3 "$here/cfn_checks.py" check-config "$root/deploy/packaging/mailtrack.toml"

echo "== 5. shellcheck"
scripts=("$root"/deploy/*.sh "$root/deploy/packaging/pam-login-notify"
  "$root"/deploy/packaging/debian/{postinst,prerm,postrm} "$here"/*.sh)
for f in "${scripts[@]}"; do
  run "shellcheck ${f#"$root"/}" shellcheck "$f"
done

echo "== 6. PAM login hook"
hook_dir="$work/hook"
mkdir -p "$hook_dir"
cat >"$hook_dir/mailtrack" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$hook_dir/args.tmp"
mv "$hook_dir/args.tmp" "$hook_dir/args"
sleep "\${STUB_SLEEP:-0}"
EOF
chmod +x "$hook_dir/mailtrack"
: >"$hook_dir/mailtrack.toml"
# Same script, pointed at the stub and at a user that does not exist (so it
# does not drop privileges to a real mailtrack user during the test).
sed -e "s|^MAILTRACK=.*|MAILTRACK=$hook_dir/mailtrack|" \
  -e "s|^CONFIG=.*|CONFIG=$hook_dir/mailtrack.toml|" \
  -e "s|getent passwd mailtrack|getent passwd mailtrack-hook-test-no-such-user|" \
  "$root/deploy/packaging/pam-login-notify" >"$hook_dir/hook"
chmod +x "$hook_dir/hook"
hook_env=(PAM_TYPE=open_session PAM_SERVICE=sshd PAM_USER=alice PAM_RHOST=203.0.113.7 PAM_TTY=ssh)
t0=$(date +%s%N)
env "${hook_env[@]}" STUB_SLEEP=3 "$hook_dir/hook"
status=$?
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$status" -eq 0 ] && [ "$elapsed_ms" -lt 2000 ]; then
  ok "hook returns 0 at once while the publish hangs (${elapsed_ms} ms)"
else
  bad "hook returns 0 at once while the publish hangs (status $status, ${elapsed_ms} ms)"
fi
for _ in $(seq 1 50); do [ -f "$hook_dir/args" ] && break; sleep 0.1; done
args=$(cat "$hook_dir/args" 2>/dev/null)
host=$(uname -n)
run "hook calls 'mailtrack notify' with --subject and --message" \
  grep -qx -e notify <<<"$args"
run "hook message names user, source address, host and UTC time" \
  python3 -c '
import re, sys
args = sys.argv[1].split("\n")
msg = args[args.index("--message") + 1]
subject = args[args.index("--subject") + 1]
assert "alice" in msg and "203.0.113.7" in msg and sys.argv[2] in msg, msg
assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", msg), msg
assert "alice" in subject and sys.argv[2] in subject, subject
assert "--topic-arn" not in args  # the topic comes from the config
' "$args" "$host"
rm -f "$hook_dir/args"
env PAM_TYPE=open_session PAM_SERVICE=cron PAM_USER=root "$hook_dir/hook"
env PAM_TYPE=close_session PAM_SERVICE=sshd PAM_USER=alice "$hook_dir/hook"
sleep 0.3
run "hook ignores other PAM services and session close" test ! -e "$hook_dir/args"
rm -f "$hook_dir/mailtrack"
run "hook exits 0 when mailtrack is not installed" env "${hook_env[@]}" "$hook_dir/hook"

echo "== 7. systemd unit"
mkdir -p "$work/unit"
sed 's|^ExecStart=/usr/bin/mailtrack |ExecStart=/bin/true |' "$root/deploy/packaging/mailtrack.service" >"$work/unit/mailtrack.service"
if out=$(systemd-analyze verify "$work/unit/mailtrack.service" 2>&1) && [ -z "$out" ]; then
  ok "systemd-analyze verify mailtrack.service (ExecStart stubbed)"
else
  bad "systemd-analyze verify mailtrack.service: $out"
fi
exposure=$(systemd-analyze security --offline=yes "$work/unit/mailtrack.service" 2>/dev/null |
  sed -n 's/.*Overall exposure level for mailtrack.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] && awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
  ok "systemd-analyze security exposure $exposure <= $max_exposure"
else
  bad "systemd-analyze security exposure '${exposure:-?}' <= $max_exposure"
fi

echo "== 8. deploy scripts"
run "parameters.example.json fits the root stack" \
  python3 "$here/cfn_checks.py" check-params "$templates/root.yaml" "$root/deploy/parameters.example.json"
dry=$(bash "$root/deploy/deploy.sh" --params "$root/deploy/parameters.example.json" --dry-run 2>&1)
status=$?
order=$(printf '%s\n' "$dry" | sed -n 's/^\[dry-run\] aws --region [^ ]* \([a-z0-9]* [a-z-]*\).*/\1/p' | paste -sd, -)
want="cloudformation deploy,cloudformation describe-stacks,s3 cp,s3 cp,cloudformation package,cloudformation deploy,cloudformation describe-stacks"
if [ "$status" -eq 0 ] && [ "$order" = "$want" ]; then
  ok "deploy.sh --dry-run: bucket, upload, package, deploy root, outputs (in order)"
else
  bad "deploy.sh --dry-run order: got [$order]"
fi
run "deploy.sh --dry-run passes the package key and bucket to the root stack" \
  grep -q 'PackageKey=packages/mailtrack_current_amd64.deb' <<<"$dry"
release=$(bash "$root/deploy/deploy.sh" --params "$root/deploy/parameters.example.json" --dry-run --release-only 2>&1)
if grep -q "ssm send-command" <<<"$release" && ! grep -q "cloudformation deploy" <<<"$release"; then
  ok "deploy.sh --release-only rolls out with SSM Run Command, no stack change"
else
  bad "deploy.sh --release-only rolls out with SSM Run Command, no stack change"
fi
run "destroy.sh --dry-run" bash "$root/deploy/destroy.sh" --params "$root/deploy/parameters.example.json" \
  --dry-run --disable-deletion-protection --delete-artifacts

echo
echo "(took $(($(date +%s) - start)) s)"
if [ "$failed" -ne 0 ]; then
  echo "failed checks:"
  printf '  - %s\n' "${failures[@]}"
fi
echo "validate: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
