#!/usr/bin/env bash
# Installs everything mailtrack needs to build, test and run locally on Debian 12, as root.
# Idempotent: packages already present are not touched, and apt-get update runs only when
# something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(cat scripts/apt-packages.d/*.txt deploy/apt-packages.txt 2>/dev/null |
  sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js and npm run the test peers. This image carries NodeSource's nodejs (with npm built
# in), which conflicts with Debian's npm package: install Debian's only when there is none.
if ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap: installing nodejs npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Test peers from npm (pinned by their lockfiles).
for dir in tests/peers tests/deploy; do
  if [[ -f $dir/package-lock.json ]]; then
    if [[ ! -d $dir/node_modules ]] || [[ $dir/package-lock.json -nt $dir/node_modules ]]; then
      echo "bootstrap: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      touch "$dir/node_modules"
    fi
  fi
done
echo "bootstrap: ready"
