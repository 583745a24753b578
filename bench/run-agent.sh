#!/usr/bin/env bash
# Runs bench/bench-agent.py: spirit-agent vs qemu-guest-agent (guest-exec) vs the raw channel,
# in one real TCG guest under the system libvirtd. A benchmark, not a test. Run as root.
#
#   bench/run-agent.sh [bench-agent.py options: --iterations N --repeat N --window BYTES --keep]
#
# Builds a plain (non-sanitized) agent in build-agent/ first, unless SPIRIT_AGENT names one.
# Needs (tools/install-deps.sh): libvirtd, QEMU, qemu-guest-agent, python3-libvirt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
if [ -z "${SPIRIT_AGENT:-}" ]; then
  [ -f "$repo/build-agent/build.ninja" ] || meson setup "$repo/build-agent" "$repo" >/dev/null
  ninja -C "$repo/build-agent" agent/spirit-agent >/dev/null
  export SPIRIT_AGENT="$repo/build-agent/agent/spirit-agent"
fi
exec /usr/bin/python3 "$here/bench-agent.py" --agent "$SPIRIT_AGENT" "$@"
