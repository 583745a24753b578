#!/usr/bin/env bash
# Makes sure the system D-Bus daemon, virtlogd and libvirtd (qemu driver) are running on a
# machine without systemd, starting whichever is missing, and waits until qemu:///system
# answers. Idempotent and safe to run concurrently. Run as root.
# Environment: SPIRIT_LIBVIRT_TIMEOUT (seconds, default 60), SPIRIT_LIBVIRT_URI.
set -euo pipefail
# shellcheck source=tests/libvirt/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || die "must run as root"
take_lock
ensure_dbus
ensure_virtlogd
ensure_libvirtd
