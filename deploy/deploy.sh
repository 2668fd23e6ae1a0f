#!/bin/bash
# Deploy mailtrack to AWS with one command (AWS CLI v1 or v2, CMake, python3).
#
# Usage: deploy/deploy.sh [--params FILE] [--release-only] [--package DEB] [--dry-run]
#
#   --params FILE    parameters file (default deploy/parameters.json); copy
#                    deploy/parameters.example.json and fill it in
#   --release-only   build and upload a new package and roll it onto the running
#                    instances with SSM Run Command; no stack changes
#   --package DEB    use this .deb instead of building one with deploy/package.sh
#   --dry-run        print every AWS call instead of making it (no account needed)
#
# Steps, in dependency order:
#   1. build the .deb (deploy/package.sh)
#   2. deploy the artifacts bucket stack <StackName>-artifacts (it must exist
#      before anything can be uploaded or any instance boots)
#   3. upload the .deb twice: packages/mailtrack_<version>_<arch>_<sha>.deb
#      (immutable, what a release installs) and packages/mailtrack_current_<arch>.deb
#      (what a new instance installs at first boot; a fixed key, so a release
#      never changes the launch template and never replaces an instance)
#   4. `aws cloudformation package` uploads the nested templates
#   5. `aws cloudformation deploy` the root stack with the parameters file
#   6. on an update, SSM Run Command installs the new package on every instance
#      tagged mailtrack:release-target (one at a time)
#   7. print the outputs and the manual steps left
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
params_file="$here/parameters.json"
release_only=0
dry_run=0
package=""

while [ $# -gt 0 ]; do
  case "$1" in
    --params) params_file=$2; shift 2 ;;
    --release-only) release_only=1; shift ;;
    --package) package=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\n==> %s\n' "$*" >&2; }
die() { echo "deploy.sh: $*" >&2; exit 1; }

[ -f "$params_file" ] || die "no parameters file $params_file (copy deploy/parameters.example.json)"
command -v python3 >/dev/null || die "python3 is required"
if [ "$dry_run" = 0 ]; then
  command -v aws >/dev/null || die "the AWS CLI is required"
fi

# Read the parameters file: StackName, Region, Parameters {Key: Value}.
read_params() {
  python3 - "$params_file" "$1" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
what = sys.argv[2]
if what == "overrides":
    for key, value in data["Parameters"].items():
        print(f"{key}={value}")
else:
    print(data[what])
PY
}
stack=$(read_params StackName)
region=$(read_params Region)
artifacts_stack="$stack-artifacts"
mapfile -t overrides < <(read_params overrides)

# Every AWS call goes through here; --dry-run prints it and answers a placeholder.
aws_call() {
  if [ "$dry_run" = 1 ]; then
    printf '[dry-run] aws --region %s' "$region" >&2
    printf ' %q' "$@" >&2
    printf '\n' >&2
    echo "dry-run-value"
    return 0
  fi
  aws --region "$region" "$@"
}

stack_output() { # STACK KEY
  aws_call cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

stack_exists() {
  [ "$dry_run" = 1 ] && return 1
  aws --region "$region" cloudformation describe-stacks --stack-name "$1" >/dev/null 2>&1
}

log "1. package"
if [ -z "$package" ]; then
  if [ "$dry_run" = 1 ]; then
    package="build/package/mailtrack_0.0.0-1_amd64.deb"
    echo "[dry-run] deploy/package.sh" >&2
  else
    package=$("$here/package.sh" | tail -1)
  fi
fi
if [ "$dry_run" = 0 ]; then
  [ -f "$package" ] || die "no package $package"
  digest=$(sha256sum "$package" | cut -c1-12)
else
  digest=000000000000
fi
deb_name=$(basename "$package" .deb)
arch=${deb_name##*_}
release_key="packages/${deb_name}_${digest}.deb"
current_key="packages/mailtrack_current_${arch}.deb"

if [ "$release_only" = 0 ]; then
  log "2. artifacts bucket stack $artifacts_stack"
  aws_call cloudformation deploy --stack-name "$artifacts_stack" \
    --template-file "$here/templates/artifacts-bucket.yaml" --no-fail-on-empty-changeset >&2
fi
bucket=$(stack_output "$artifacts_stack" ArtifactsBucketName)
if [ -z "$bucket" ] || [ "$bucket" = None ]; then
  die "artifacts stack $artifacts_stack has no bucket output"
fi

log "3. upload $package"
aws_call s3 cp --only-show-errors "$package" "s3://$bucket/$release_key" >&2
aws_call s3 cp --only-show-errors "$package" "s3://$bucket/$current_key" >&2

updating=0
if stack_exists "$stack"; then updating=1; fi

if [ "$release_only" = 0 ]; then
  log "4. package nested templates"
  packaged=$(mktemp --suffix=.yaml)
  trap 'rm -f "$packaged"' EXIT
  aws_call cloudformation package --template-file "$here/templates/root.yaml" \
    --s3-bucket "$bucket" --s3-prefix templates --output-template-file "$packaged" >&2

  log "5. deploy root stack $stack"
  aws_call cloudformation deploy --stack-name "$stack" --template-file "$packaged" \
    --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides[@]}" "ArtifactsBucketName=$bucket" "PackageKey=$current_key" >&2
fi

if [ "$updating" = 1 ] || [ "$release_only" = 1 ]; then
  log "6. roll $release_key onto the running instances (SSM Run Command)"
  document=$(stack_output "$stack" ReleaseDocumentName)
  target=$(stack_output "$stack" ReleaseTargetTagValue)
  command_id=$(aws_call ssm send-command --document-name "$document" \
    --targets "Key=tag:mailtrack:release-target,Values=$target" \
    --parameters "packageUri=s3://$bucket/$release_key" \
    --max-concurrency 1 --max-errors 0 --comment "mailtrack release $deb_name" \
    --query Command.CommandId --output text)
  if [ "$dry_run" = 0 ]; then
    status=Pending
    for _ in $(seq 1 120); do
      status=$(aws --region "$region" ssm list-commands --command-id "$command_id" \
        --query 'Commands[0].Status' --output text)
      case "$status" in Pending | InProgress) sleep 5 ;; *) break ;; esac
    done
    echo "release command $command_id: $status" >&2
    [ "$status" = Success ] || die "release did not succeed everywhere: aws ssm list-command-invocations --command-id $command_id --details"
  fi
fi

log "7. outputs of $stack"
aws_call cloudformation describe-stacks --stack-name "$stack" --query 'Stacks[0].Outputs' --output table

cat >&2 <<EOF

Manual steps left (AWS does not let a template do them):
  - Confirm the alert subscription: click the link AWS mailed to the AlertEmail address.
  - Publish the DKIM CNAME records of the DkimRecords output in the DNS of the
    sender domain; SES verifies the identity once they resolve.
  - Request SES production access (the account starts in the sandbox and can
    only mail verified addresses): aws sesv2 put-account-details ...
  - For Session Manager login alerts the account needs a CloudTrail trail
    recording management events.
  - A CustomRedirectDomain needs its CNAME (and certificate) before tracking links use it.
EOF
