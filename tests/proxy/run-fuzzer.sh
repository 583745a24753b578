#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded number of inputs, as a meson test.
#   run-fuzzer.sh FUZZER SEED_DIR DICT RUNS ARTIFACT_DIR
# New inputs go to a temporary corpus (never into the checked-in seeds); a crash leaves its
# input in ARTIFACT_DIR, and libFuzzer prints it.
set -euo pipefail

fuzzer=$1 seeds=$2 dict=$3 runs=$4 artifacts=$5
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$artifacts"

"$fuzzer" -runs="$runs" -max_len=512 -timeout=10 -rss_limit_mb=2048 -seed=1 \
  -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds"
