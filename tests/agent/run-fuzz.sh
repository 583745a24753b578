#!/usr/bin/env bash
# Runs the libFuzzer decoder target for a bounded number of inputs (CI: the "fuzz-decoder"
# meson test). Usage: run-fuzz.sh FUZZER SEEDGEN DICT [RUNS]
# The seeds are generated fresh into a scratch directory (libFuzzer writes new inputs into its
# first corpus directory, never into the source tree). A crash leaves crash-* in the scratch
# directory, which is then kept and named.
set -euo pipefail
fuzzer=$(readlink -f "$1") seedgen=$(readlink -f "$2") dict=$(readlink -f "$3")
runs=${4:-${SPIRIT_FUZZ_RUNS:-500000}}
work=$(mktemp -d "${TMPDIR:-/tmp}/spirit-fuzz.XXXXXX")
"$seedgen" "$work/seeds"
mkdir "$work/corpus"
status=0
(cd "$work" && "$fuzzer" -runs="$runs" -seed=1 -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
  -max_total_time=240 -print_final_stats=1 -dict="$dict" corpus seeds) || status=$?
if [ $status -ne 0 ]; then
  echo "run-fuzz.sh: the fuzzer failed ($status); inputs kept in $work" >&2
  exit $status
fi
rm -rf "$work"
