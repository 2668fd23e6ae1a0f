#!/bin/bash
# Build the mailtrack .deb and check it the way Debian 12 will use it.
#
# Usage: bash tests/deploy/package_check.sh [BUILD_DIR]
#   BUILD_DIR: an existing configured (Release) CMake build of the project; it is
#   brought up to date and packaged with cpack. Without it, deploy/package.sh
#   configures and builds build/package itself.
#
# Checks: control data (dpkg-deb -I), file list and modes (dpkg-deb -c), the
# unit's offline security exposure (systemd-analyze security --offline), then a
# real `dpkg -i` on this (throwaway) machine: system user and group, config
# ownership, unit enabled, PAM hook registered, `systemd-analyze verify` on the
# installed unit (works on files; systemd need not be PID 1); finally `dpkg -P`
# and checks that everything is gone again.
# Refuses to run where mailtrack is already installed, so it never clobbers a
# real installation. Exits non-zero if any check fails.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
max_exposure=2.0

passed=0
failed=0
failures=()
ok() { passed=$((passed + 1)); echo "  ok   $1"; }
bad() { failed=$((failed + 1)); failures+=("$1"); echo "  FAIL $1"; }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
finish() {
  echo
  echo "package_check: $passed passed, $failed failed"
  if [ "$failed" -ne 0 ]; then
    printf '  failed: %s\n' "${failures[@]}"
    exit 1
  fi
  exit 0
}

for tool in dpkg dpkg-deb cpack cmake systemd-analyze; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "package_check: $tool not found (see deploy/apt-packages.txt)" >&2
    exit 2
  fi
done

work=$(mktemp -d)
installed_by_us=0
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  if [ "$installed_by_us" = 1 ] && dpkg -s mailtrack >/dev/null 2>&1; then
    dpkg -P mailtrack >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)
echo "== build the package"
if [ $# -ge 1 ]; then
  build=$(cd "$1" && pwd) || { echo "package_check: no build dir $1" >&2; exit 2; }
  if [ ! -f "$build/CPackConfig.cmake" ]; then
    echo "package_check: $build has no CPackConfig.cmake (configure the project first)" >&2
    exit 2
  fi
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
  case "$build_type" in
    Release | RelWithDebInfo | MinSizeRel) ok "build dir is a $build_type build" ;;
    *) bad "build dir is a release build (CMAKE_BUILD_TYPE='$build_type')" ;;
  esac
  cmake --build "$build" --parallel "$(nproc)" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; bad "cmake --build"; finish; }
  rm -f "$build"/mailtrack_*.deb
  (cd "$build" && cpack -G DEB -C "${build_type:-Release}") >"$work/cpack.log" 2>&1 || { tail -20 "$work/cpack.log"; bad "cpack -G DEB"; finish; }
  debs=("$build"/mailtrack_*.deb)
  deb=${debs[0]}
else
  deb=$(bash "$root/deploy/package.sh" 2>"$work/package.log" | tail -1) || { tail -20 "$work/package.log"; bad "deploy/package.sh"; finish; }
fi
if [ -z "${deb:-}" ] || [ ! -f "$deb" ]; then
  bad "a mailtrack_*.deb was produced"
  finish
fi
ok "built $(basename "$deb")"

echo "== control data (dpkg-deb -I)"
dpkg-deb -I "$deb" >"$work/info"
field() { dpkg-deb -f "$deb" "$1"; }
check "Package is mailtrack" test "$(field Package)" = mailtrack
check "Architecture is $(dpkg --print-architecture)" test "$(field Architecture)" = "$(dpkg --print-architecture)"
for dep in passwd util-linux libpam-runtime libpam-modules init-system-helpers libc6; do
  check "Depends names $dep" grep -Eq "(^|, )$dep( |,|$)" <<<"$(field Depends)"
done
for script in postinst prerm postrm conffiles; do
  check "control member $script" grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\*? +$script( |$)" "$work/info"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$work/conffiles" 2>/dev/null
check "conffiles lists /etc/mailtrack/mailtrack.toml" grep -qx /etc/mailtrack/mailtrack.toml "$work/conffiles"

echo "== contents (dpkg-deb -c)"
dpkg-deb -c "$deb" >"$work/contents"
expect_file() { # MODE PATH
  if awk -v m="$1" -v p="./${2#/}" '$1 == m && $6 == p { found = 1 } END { exit !found }' "$work/contents"; then
    ok "$2 ($1)"
  else
    bad "$2 with mode $1: $(awk -v p="./${2#/}" '$6 == p { print $1 }' "$work/contents")"
  fi
}
expect_file -rwxr-xr-x /usr/bin/mailtrack
expect_file -rw-r--r-- /lib/systemd/system/mailtrack.service
expect_file -rw-r----- /etc/mailtrack/mailtrack.toml
expect_file -rwxr-xr-x /usr/libexec/mailtrack/pam-login-notify
expect_file -rw-r--r-- /usr/share/pam-configs/mailtrack-login-notify
# shellcheck disable=SC2016 # awk programs
check "every file owned by root:root" awk '$2 != "root/root" { exit 1 }' "$work/contents"
# shellcheck disable=SC2016 # awk programs
check "nothing outside /usr /etc /lib" awk '$6 !~ /^\.\/((usr|etc|lib)(\/|$))?$/ && $6 !~ /^\.\/(usr|etc|lib)\// { exit 1 }' "$work/contents"

echo "== unit security (systemd-analyze security --offline on the extracted package)"
mkdir -p "$work/root"
dpkg-deb -x "$deb" "$work/root"
exposure=$(systemd-analyze security --offline=yes --root="$work/root" mailtrack.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for mailtrack.service: \([0-9.]*\).*/\1/p')
if [ -n "$exposure" ] && awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
  ok "systemd-analyze security exposure $exposure <= $max_exposure"
else
  bad "systemd-analyze security exposure '${exposure:-?}' <= $max_exposure"
fi

echo "== install (dpkg -i)"
if dpkg -s mailtrack >/dev/null 2>&1; then
  bad "mailtrack is already installed here; refusing to install over it (dpkg -P mailtrack first)"
  finish
fi
cp /etc/pam.d/common-session "$work/common-session.before" 2>/dev/null || true
installed_by_us=1
if dpkg -i "$deb" >"$work/dpkg-i.log" 2>&1; then
  ok "dpkg -i"
else
  cat "$work/dpkg-i.log"
  bad "dpkg -i"
  finish
fi
check "dpkg reports mailtrack installed" sh -c "dpkg-query -W -f='\${Status}' mailtrack | grep -q 'install ok installed'"
check "postinst created group mailtrack" getent group mailtrack
check "postinst created user mailtrack" getent passwd mailtrack
uid=$(id -u mailtrack 2>/dev/null || echo 65535)
check "mailtrack is a system user (uid $uid < 1000)" test "$uid" -lt 1000
check "mailtrack has no login shell" test "$(getent passwd mailtrack | cut -d: -f7)" = /usr/sbin/nologin
check "config is root:mailtrack 0640" test "$(stat -c '%U:%G %a' /etc/mailtrack/mailtrack.toml)" = "root:mailtrack 640"
check "mailtrack.service enabled (multi-user.target.wants)" test -L /etc/systemd/system/multi-user.target.wants/mailtrack.service
check "PAM hook registered in common-session" grep -q 'pam_exec.so quiet /usr/libexec/mailtrack/pam-login-notify' /etc/pam.d/common-session
if out=$(systemd-analyze verify /lib/systemd/system/mailtrack.service 2>&1) && [ -z "$out" ]; then
  ok "systemd-analyze verify on the installed unit"
else
  bad "systemd-analyze verify on the installed unit: $out"
fi
# Not an sshd session: the hook must return 0 at once without calling anything.
check "PAM hook ignores non-sshd sessions" env PAM_TYPE=open_session PAM_SERVICE=cron PAM_USER=root \
  timeout 5 /usr/libexec/mailtrack/pam-login-notify

echo "== purge (dpkg -P)"
if dpkg -P mailtrack >"$work/dpkg-p.log" 2>&1; then
  ok "dpkg -P"
else
  cat "$work/dpkg-p.log"
  bad "dpkg -P"
fi
installed_by_us=0
check "user mailtrack removed on purge" sh -c '! getent passwd mailtrack'
check "group mailtrack removed on purge" sh -c '! getent group mailtrack'
check "binary removed" test ! -e /usr/bin/mailtrack
check "/etc/mailtrack removed on purge" test ! -e /etc/mailtrack
check "unit enablement removed" test ! -L /etc/systemd/system/multi-user.target.wants/mailtrack.service
check "PAM hook withdrawn" sh -c '! grep -q mailtrack /etc/pam.d/common-session'
if [ -f "$work/common-session.before" ]; then
  check "common-session back to its previous content" cmp -s "$work/common-session.before" /etc/pam.d/common-session
fi

echo "(took $(($(date +%s) - start)) s)"
finish
