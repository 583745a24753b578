#!/usr/bin/env bash
# Runs bench/bench-listing.py: spiritd vs virsh vs libvirt vs libvirt-dbus on 1000 test-driver VMs,
# plus spiritd's event-to-signal latency. A benchmark, not a test: never run by the test suite.
#
#   bench/run-listing.sh [bench-listing.py options, e.g. --iterations 100]
#
# Environment:
#   SPIRITD=path      spiritd binary to measure (default: build/service/spiritd, built first)
#   BENCH_NO_BUILD=1  do not run ninja (measure whatever binary is there)
#   BENCH_KEEP=1      keep the scratch directory (XML, bus config, spiritd/libvirt-dbus logs)
#
# Needs (tools/install-deps.sh installs them): dbus-daemon, virsh, libvirt-dbus, python3-gi,
# python3-libvirt, libvirt-dev and a C compiler (for bench-shim.so).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
work=$(mktemp -d /tmp/spirit-bench.XXXXXX)
pidfile="$work/pids"
: >"$pidfile"

cleanup() {
  local rc=$?
  # Every process bench-listing.py started (it stops them itself; this is the backstop for when
  # it is killed). Only these PIDs, never by name.
  if [ -s "$pidfile" ]; then
    while read -r pid; do
      [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done <"$pidfile"
    sleep 0.2
    while read -r pid; do
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done <"$pidfile"
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
    echo "bench: scratch directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${SPIRITD:-}" ]; then
  SPIRITD="$repo/build/service/spiritd"
  if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    (cd "$repo" && { meson setup build >/dev/null 2>&1 || true; } && ninja -C build >"$work/build.log" 2>&1) ||
      {
        echo "bench: building spiritd failed (see $work/build.log):" >&2
        tail -n 20 "$work/build.log" >&2
        if [ -x "$SPIRITD" ]; then
          echo "bench: WARNING: measuring the existing, possibly stale $SPIRITD" >&2
        else
          exit 1
        fi
      }
  fi
fi
[ -x "$SPIRITD" ] || { echo "bench: no spiritd at $SPIRITD" >&2; exit 1; }
# Measure a private copy: others may rebuild build/ while the benchmark runs.
label="$SPIRITD, built $(date -r "$SPIRITD" '+%Y-%m-%d %H:%M:%S'), sha256 $(sha256sum "$SPIRITD" | cut -c1-12)"
cp "$SPIRITD" "$work/spiritd"

cc -O2 -Wall -shared -fPIC -o "$work/bench-shim.so" "$here/bench-shim.c" -ldl

# /usr/bin/python3 explicitly: python3-gi and python3-libvirt are Debian packages.
# In the background + wait, so that INT/TERM reach the trap at once.
/usr/bin/python3 "$here/bench-listing.py" --workdir "$work" --spiritd "$work/spiritd" --spiritd-label "$label" \
  --shim "$work/bench-shim.so" --pidfile "$pidfile" "$@" &
py=$!
echo "$py" >>"$pidfile"
wait "$py"
