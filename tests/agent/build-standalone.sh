#!/usr/bin/env bash
# Checks that agent/standalone (the build used for the Windows cross path) still builds the
# agent natively from the current sources, with -Werror. Usage: build-standalone.sh SOURCE_ROOT
set -euo pipefail
work=$(mktemp -d "${TMPDIR:-/tmp}/spirit-standalone.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Plain build: the suite's sanitizer variables are not for this compiler run.
env -u ASAN_OPTIONS -u UBSAN_OPTIONS meson setup "$work" "$1/agent/standalone" -Dwerror=true >/dev/null
ninja -C "$work" >/dev/null
"$work/spirit-agent" --help | grep -q -- --stdio
echo "agent/standalone builds: $(du -k "$work/spirit-agent" | cut -f1) KiB"
