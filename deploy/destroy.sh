#!/bin/bash
# Tear mailtrack down (AWS CLI, python3).
#
# Usage: deploy/destroy.sh [--params FILE] [--disable-deletion-protection] [--delete-artifacts] [--dry-run]
#
#   --disable-deletion-protection  turn off the database's deletion protection
#                                  first (otherwise the delete stops at RDS)
#   --delete-artifacts             also empty (every object version) and delete
#                                  the artifacts bucket and its stack
#   --dry-run                      print every AWS call instead of making it
#
# RDS keeps a final snapshot (DeletionPolicy: Snapshot); delete it by hand
# when it is no longer wanted.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
params_file="$here/parameters.json"
unprotect=0
delete_artifacts=0
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    --params) params_file=$2; shift 2 ;;
    --disable-deletion-protection) unprotect=1; shift ;;
    --delete-artifacts) delete_artifacts=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "destroy.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ -f "$params_file" ] || { echo "destroy.sh: no parameters file $params_file" >&2; exit 1; }
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$params_file" "$1"; }
stack=$(field StackName)
region=$(field Region)

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
output() {
  aws_call cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

if [ "$unprotect" = 1 ]; then
  db=$(output "$stack" DbInstanceId)
  echo "==> disabling deletion protection of $db" >&2
  aws_call rds modify-db-instance --db-instance-identifier "$db" \
    --no-deletion-protection --apply-immediately >/dev/null
fi

echo "==> deleting stack $stack (nested stacks go with it)" >&2
aws_call cloudformation delete-stack --stack-name "$stack" >/dev/null
aws_call cloudformation wait stack-delete-complete --stack-name "$stack" >/dev/null

if [ "$delete_artifacts" = 1 ]; then
  bucket=$(output "$stack-artifacts" ArtifactsBucketName)
  echo "==> emptying s3://$bucket (all versions)" >&2
  while :; do
    batch=$(aws_call s3api list-object-versions --bucket "$bucket" --max-items 500 --output json \
      --query '{Objects: [Versions[].{Key: Key, VersionId: VersionId}, DeleteMarkers[].{Key: Key, VersionId: VersionId}][]}')
    [ "$dry_run" = 1 ] && break
    count=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("Objects") or []))' <<<"$batch")
    [ "$count" -gt 0 ] || break
    aws_call s3api delete-objects --bucket "$bucket" --delete "$batch" >/dev/null
  done
  aws_call s3api delete-bucket --bucket "$bucket" >/dev/null
  aws_call cloudformation delete-stack --stack-name "$stack-artifacts" >/dev/null
  aws_call cloudformation wait stack-delete-complete --stack-name "$stack-artifacts" >/dev/null
fi
echo "==> done" >&2
