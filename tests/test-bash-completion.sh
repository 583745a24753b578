#!/usr/bin/env bash
# The bash completion of spiritctl, driven as bash would: sets COMP_WORDS and reads COMPREPLY.
# Usage: test-bash-completion.sh COMPLETION_FILE
set -uo pipefail
# shellcheck disable=SC1091
. /usr/share/bash-completion/bash_completion
# shellcheck disable=SC1090
. "$1"
fail=0
expect() {
  local want=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _spiritctl
  local got="${COMPREPLY[*]}"
  if [ "$got" = "$want" ]; then
    echo "ok - '${COMP_WORDS[*]}' → $want"
  else
    echo "not ok - '${COMP_WORDS[*]}': want '$want', got '$got'"
    fail=1
  fi
}
expect "vm" spiritctl v
expect "pause" spiritctl vm pa
expect "start stop save snapshot" spiritctl vm s
expect "revert" spiritctl vm snapshot r
expect "on off" spiritctl vm autostart alpha ""
expect "--json" spiritctl --js
expect "status shell" spiritctl s
expect "@spirit" spiritctl @sp
expect "--pause" spiritctl @linux --pa
expect "--start --stop --snapshot" spiritctl @linux --s
expect "" spiritctl @linux ls --al
expect "profiles" spiritctl pro
expect "hugepages" spiritctl host h
expect "create" spiritctl vm cr
expect "--dry-run" spiritctl vm create new --dr
expect "--hugepages --hugepage-size" spiritctl vm retune alpha --hugepage
expect "auto none" spiritctl vm create new --pin ""
expect "kvm qemu" spiritctl vm create new --virt-type ""
expect "--reserve" spiritctl host hugepages --r
expect "gpu" spiritctl g
expect "passthrough" spiritctl gpu pa
expect "reclaim" spiritctl --gpu 0000:01:00.0 gpu r
expect "--force" spiritctl gpu passthrough alpha --fo
expect "exec" spiritctl ex
expect "--cwd" spiritctl exec --cw
expect "" spiritctl exec alpha -- ls
complete -p spirit >/dev/null && echo "ok - 'spirit' completes too" || { echo "not ok - spirit"; fail=1; }
exit $fail
