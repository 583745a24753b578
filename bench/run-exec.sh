#!/usr/bin/env bash
# Runs bench/bench-exec.py: spiritctl exec through spiritd vs virsh qemu-agent-command guest-exec,
# every call a process, in one real TCG guest under the system libvirtd. A benchmark, not a test.
# Run as root.
#
#   bench/run-exec.sh [bench-exec.py options: --iterations N --repeat N --spiritd PATH --keep]
#
# Builds a plain (non-sanitized) tree in build-agent/ first, as bench/run-agent.sh does.
# Needs (tools/install-deps.sh): libvirtd, QEMU, qemu-guest-agent, python3-gi.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
[ -f "$repo/build-agent/build.ninja" ] || meson setup "$repo/build-agent" "$repo" >/dev/null
ninja -C "$repo/build-agent" service/spiritd cli/spiritctl agent/spirit-agent >/dev/null
exec /usr/bin/python3 "$here/bench-exec.py" --build "$repo/build-agent" "$@"
