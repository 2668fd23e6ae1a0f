#!/usr/bin/env bash
# clang-format over mailtrack's C++ sources (src/, tests/, bench/) with the committed .clang-format.
#   bash scripts/format.sh          # rewrite files in place
#   bash scripts/format.sh --check  # change nothing; list the files that differ, exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=${CLANG_FORMAT:-clang-format}
if [[ -d .git ]] || git rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
    'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp' 'bench/*.hpp')
else
  mapfile -t files < <(find src tests bench -name node_modules -prune -o \( -name '*.cpp' -o -name '*.hpp' \) -print | sort)
fi
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    [[ -f $f ]] || continue
    if ! "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
  done
  if ((${#bad[@]})); then
    printf 'format-check: %d file(s) differ from .clang-format (run bash scripts/format.sh):\n' "${#bad[@]}" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "format-check: ${#files[@]} files formatted"
else
  existing=()
  for f in "${files[@]}"; do [[ -f $f ]] && existing+=("$f"); done
  "$clang_format" -i "${existing[@]}"
fi
