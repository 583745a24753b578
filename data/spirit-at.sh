# spirit-at.sh: type "@linux ls -la" at a bash prompt and it runs in the VM.
#
# Installed as /etc/profile.d/spirit-at.sh (login shells read it); for other shells add
#   . /etc/profile.d/spirit-at.sh
# to ~/.bashrc. A command word that starts with '@' is not a program, so bash calls
# command_not_found_handle, which this file extends: "@target words…" becomes
# "spiritctl @target words…". Any handle defined before (Debian's command-not-found) still
# gets every other unknown command.
#
# Pipes and redirections on the prompt are bash's: "@linux ls | wc -l" counts on the host, and
# "@linux uname -r > f" writes f on the host. For the @target language's own operators, quote
# the line: spiritctl run '@linux ls > /tmp/list'.

if [ -n "${BASH_VERSION-}" ]; then
  if declare -F command_not_found_handle >/dev/null 2>&1 \
    && ! declare -F __spirit_previous_command_not_found_handle >/dev/null 2>&1; then
    eval "__spirit_previous_$(declare -f command_not_found_handle)"
  fi

  command_not_found_handle() {
    case "$1" in
      @?*)
        spiritctl "$@"
        return $?
        ;;
    esac
    if declare -F __spirit_previous_command_not_found_handle >/dev/null 2>&1; then
      __spirit_previous_command_not_found_handle "$@"
      return $?
    fi
    printf 'bash: %s: command not found\n' "$1" >&2
    return 127
  }
fi
