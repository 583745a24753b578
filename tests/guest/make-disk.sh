#!/usr/bin/env bash
# Creates an empty 16 MiB qcow2 disk for a Spirit test guest (make-domain.sh --disk PATH).
# The guest never uses it; it exists because libvirt's internal snapshots of a running guest
# (virsh snapshot-create-as) store the RAM and device state inside a qcow2 image.
# Usage: make-disk.sh PATH   (overwrites PATH)
set -euo pipefail

[ $# -eq 1 ] || {
  echo "usage: make-disk.sh PATH" >&2
  exit 2
}
command -v qemu-img >/dev/null || {
  echo "make-disk.sh: error: qemu-img not found (run tools/install-deps.sh)" >&2
  exit 1
}
mkdir -p "$(dirname "$1")"
qemu-img create -q -f qcow2 "$1" 16M
