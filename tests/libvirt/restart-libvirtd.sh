#!/usr/bin/env bash
# Restarts libvirtd only (by the pid in its pid file): running QEMU guests, virtlogd and
# D-Bus are left alone, so tests can check that state survives a daemon restart.
# Waits until the old process is gone and the new one answers on qemu:///system.
# Environment: SPIRIT_LIBVIRT_TIMEOUT (seconds, default 60), SPIRIT_LIBVIRT_URI.
set -euo pipefail
# shellcheck source=tests/libvirt/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "must run as root"
take_lock
ensure_dbus
ensure_virtlogd

if pid=$(pid_from "$LIBVIRTD_PIDFILE" libvirtd); then
  log "stopping libvirtd (pid $pid)"
  kill -TERM "$pid"
  gone() { [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != libvirtd ]; }
  if ! wait_for "old libvirtd exited" gone; then
    log "libvirtd (pid $pid) ignored SIGTERM for ${SPIRIT_LIBVIRT_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for "old libvirtd exited" gone || die "libvirtd (pid $pid) does not exit"
  fi
else
  log "libvirtd was not running"
fi
start_libvirtd
wait_for "libvirtd answers on $SPIRIT_LIBVIRT_URI" libvirtd_answers ||
  die "libvirtd does not answer on $SPIRIT_LIBVIRT_URI after ${SPIRIT_LIBVIRT_TIMEOUT}s: $(libvirtd_answers 2>&1 | tail -1)"
