#!/bin/bash
# Build the mailtrack Debian package in one command.
#
# Usage: deploy/package.sh [BUILD_DIR]
#   BUILD_DIR defaults to build/package under the repository root. Configures a
#   Release build there, builds it, runs CPack (DEB) and prints the .deb path
#   as the last line of standard output (everything else goes to stderr).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build/package}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMAILTRACK_BUILD_TESTS=OFF -DMAILTRACK_BUILD_BENCH=OFF >&2
cmake --build "$build" --parallel "$(nproc)" >&2
rm -f "$build"/mailtrack_*.deb
(cd "$build" && cpack -G DEB -C Release) >&2

shopt -s nullglob
debs=("$build"/mailtrack_*.deb)
if [ "${#debs[@]}" -ne 1 ]; then
  echo "package.sh: expected one mailtrack_*.deb in $build, found ${#debs[@]}" >&2
  exit 1
fi
echo "${debs[0]}"
