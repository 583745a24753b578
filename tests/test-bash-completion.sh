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
expect "exec" spiritctl ex
expect "--cwd" spiritctl exec --cw
expect "" spiritctl exec alpha -- ls
complete -p spirit >/dev/null && echo "ok - 'spirit' completes too" || { echo "not ok - spirit"; fail=1; }
exit $fail
