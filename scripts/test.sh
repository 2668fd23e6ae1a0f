#!/usr/bin/env bash
# The whole test suite: bootstrap, then the debug build with every test (unit, integration,
# e2e), the ASan+UBSan build with the unit and e2e tests, the parser fuzzer on its corpus,
# and the deployment checks. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
step() { printf '\n==== %s (%ds)\n' "$*" $((SECONDS - start)); }

step bootstrap
bash scripts/bootstrap.sh

jobs=$(nproc)
# ccache hits across clones: hash paths relative to the checkout.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1

step "debug build"
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"

step "format check"
cmake --build --preset debug --target format-check

step "debug tests (unit, integration, e2e)"
# No reruns: a test that fails once is a bug to fix, not noise to absorb.
ctest --preset debug -j "$jobs" --timeout 600

step "asan+ubsan build"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

step "asan+ubsan tests (unit, e2e)"
ctest --preset asan -j "$jobs" -L 'unit|e2e' --timeout 900

step "fuzz the event parser"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
bash tests/fuzz/run.sh build/fuzz "${MAILTRACK_FUZZ_SECONDS:-30}"

if [[ -f tests/deploy/validate.sh ]]; then
  step "deploy: templates, policies, scripts"
  bash tests/deploy/validate.sh
fi
if [[ -f tests/deploy/package_check.sh ]]; then
  step "deploy: Debian package"
  bash tests/deploy/package_check.sh
fi

step "all tests passed"
