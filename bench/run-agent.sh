#!/usr/bin/env bash
# Runs bench/bench-agent.py: spirit-agent vs qemu-guest-agent (guest-exec) vs the raw channel,
# in one real TCG guest under the system libvirtd. A benchmark, not a test. Run as root.
#
#   bench/run-agent.sh [bench-agent.py options: --iterations N --repeat N --window BYTES --keep]
#
# Builds a plain (non-sanitized) agent in build-agent/ first, unless SPIRIT_AGENT names one.
# Needs (tools/install-deps.sh): libvirtd, QEMU, qemu-guest-agent, python3-libvirt, a C compiler.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
if [ -z "${SPIRIT_AGENT:-}" ]; then
  [ -f "$repo/build-agent/build.ninja" ] || meson setup "$repo/build-agent" "$repo" >/dev/null
  ninja -C "$repo/build-agent" agent/spirit-agent >/dev/null
  export SPIRIT_AGENT="$repo/build-agent/agent/spirit-agent"
fi
# The floors, run in the guest with no agent at all: starting a program (bench-spawn-floor.c)
# and copying a command's pipe into a port (bench-relay.c).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tool in bench-spawn-floor bench-relay; do
  cc -O2 -Wall -o "$work/$tool" "$here/$tool.c"
done
/usr/bin/python3 "$here/bench-agent.py" --agent "$SPIRIT_AGENT" --spawn-floor "$work/bench-spawn-floor" \
  --relay "$work/bench-relay" "$@"
