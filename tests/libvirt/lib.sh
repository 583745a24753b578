# shellcheck shell=bash
# Shared helpers for tests/libvirt/*.sh: start the system D-Bus daemon, virtlogd and
# libvirtd (qemu driver) without systemd, and wait for them by polling with a deadline.
# Sourced, not executed. Callers set -euo pipefail themselves.

SPIRIT_LIBVIRT_URI=${SPIRIT_LIBVIRT_URI:-qemu:///system}
# Seconds to wait for a daemon to answer before giving up.
SPIRIT_LIBVIRT_TIMEOUT=${SPIRIT_LIBVIRT_TIMEOUT:-60}
SPIRIT_LIBVIRT_LOCK=${SPIRIT_LIBVIRT_LOCK:-/run/lock/spirit-libvirtd.lock}

DBUS_PIDFILE=/run/dbus/pid
VIRTLOGD_PIDFILE=/run/virtlogd.pid
VIRTLOGD_SOCK=/run/libvirt/virtlogd-sock
LIBVIRTD_PIDFILE=/run/libvirtd.pid

die() {
  echo "$(basename "$0"): error: $*" >&2
  exit 1
}

log() {
  echo "$(basename "$0"): $*" >&2
}

# Serialise concurrent callers (tests may run in parallel) on one lock file. Daemons are
# started with fd 9 closed so that they do not inherit (and hold) the lock.
take_lock() {
  mkdir -p "$(dirname "$SPIRIT_LIBVIRT_LOCK")"
  exec 9>"$SPIRIT_LIBVIRT_LOCK"
  flock -w "$SPIRIT_LIBVIRT_TIMEOUT" 9 || die "could not take $SPIRIT_LIBVIRT_LOCK within ${SPIRIT_LIBVIRT_TIMEOUT}s"
}

# pid_from PIDFILE COMM: print the pid in PIDFILE if that process is alive and named COMM.
pid_from() {
  local pidfile=$1 comm=$2 pid
  [ -r "$pidfile" ] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  [ -n "$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  echo "$pid"
}

# wait_for DESCRIPTION COMMAND...: run COMMAND every 0.2 s until it succeeds or the deadline passes.
wait_for() {
  local what=$1
  shift
  local start=$SECONDS deadline=$((SECONDS + SPIRIT_LIBVIRT_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      return 1
    fi
    sleep 0.2
  done
  log "$what (after $((SECONDS - start))s)"
}

dbus_answers() {
  dbus-send --system --print-reply --dest=org.freedesktop.DBus \
    /org/freedesktop/DBus org.freedesktop.DBus.GetId
}

ensure_dbus() {
  if dbus_answers >/dev/null 2>&1; then
    return 0
  fi
  if ! pid_from "$DBUS_PIDFILE" dbus-daemon >/dev/null; then
    # A stale pid file makes dbus-daemon refuse to start.
    rm -f "$DBUS_PIDFILE"
    mkdir -p /run/dbus
    log "starting the system D-Bus daemon"
    dbus-daemon --system --fork 9>&- || die "dbus-daemon --system --fork failed"
  fi
  wait_for "system D-Bus answers" dbus_answers || die "the system D-Bus daemon does not answer after ${SPIRIT_LIBVIRT_TIMEOUT}s"
}

virtlogd_up() {
  pid_from "$VIRTLOGD_PIDFILE" virtlogd >/dev/null && [ -S "$VIRTLOGD_SOCK" ]
}

ensure_virtlogd() {
  if virtlogd_up; then
    return 0
  fi
  mkdir -p /var/log/libvirt
  if ! pid_from "$VIRTLOGD_PIDFILE" virtlogd >/dev/null; then
    log "starting virtlogd"
    virtlogd -d 9>&- || die "virtlogd -d failed"
  fi
  wait_for "virtlogd is listening" virtlogd_up || die "virtlogd did not create $VIRTLOGD_SOCK after ${SPIRIT_LIBVIRT_TIMEOUT}s"
}

libvirtd_answers() {
  timeout 10 virsh -c "$SPIRIT_LIBVIRT_URI" uri
}

# libvirtd finds hugetlbfs mounts only when it starts: mount one for 2 MB pages before, so that
# VMs backed by huge pages (<memoryBacking><hugepages/>) can start. The pages themselves are
# reserved when needed (nr_hugepages); an empty pool costs nothing.
ensure_hugetlbfs() {
  if awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; then
    return 0
  fi
  mkdir -p /dev/hugepages
  if mount -t hugetlbfs -o pagesize=2M hugetlbfs /dev/hugepages; then
    log "mounted hugetlbfs (2 MB pages) on /dev/hugepages"
  else
    log "could not mount hugetlbfs on /dev/hugepages: VMs backed by huge pages will not start"
  fi
}

start_libvirtd() {
  mkdir -p /var/log/libvirt
  ensure_hugetlbfs
  log "starting libvirtd"
  # SPIRIT_LIBVIRTD_ARGS: extra arguments, e.g. "--listen -f FILE" for a test's own configuration.
  # shellcheck disable=SC2086 # word splitting of the arguments is wanted
  libvirtd -d ${SPIRIT_LIBVIRTD_ARGS:-} 9>&- || die "libvirtd -d failed (see /var/log/libvirt/ and journal-less stderr above)"
}

ensure_libvirtd() {
  if libvirtd_answers >/dev/null 2>&1; then
    return 0
  fi
  # Not answering: either not running, or still starting up.
  if ! pid_from "$LIBVIRTD_PIDFILE" libvirtd >/dev/null; then
    start_libvirtd
  fi
  wait_for "libvirtd answers on $SPIRIT_LIBVIRT_URI" libvirtd_answers ||
    die "libvirtd does not answer on $SPIRIT_LIBVIRT_URI after ${SPIRIT_LIBVIRT_TIMEOUT}s: $(libvirtd_answers 2>&1 | tail -1)"
}
