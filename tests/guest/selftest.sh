#!/usr/bin/env bash
# End-to-end check of the real-guest test infrastructure against the real libvirtd
# (qemu:///system, TCG): builds the guest, defines and starts a domain named
# spirit-guesttest-<pid>, and checks boot, ticks, the virtio-serial channel and the agent
# respawn, a libvirtd restart under a running guest, managed save/restore, an internal
# snapshot and its revert, and a graceful ACPI shutdown. Prints the measured timings and a
# closing "N passed, N failed" line. Cleans up its domain and files. Run as root.
# Environment: SPIRIT_GUEST_TIMEOUT (seconds per wait, default 90),
#              SPIRIT_GUEST_KEEP=1 to keep the work directory (console log) for debugging,
#              SPIRIT_GUEST_SKIP_RESTART=1 not to restart libvirtd (others may be using it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
libvirt_dir=$(cd "$here/../libvirt" && pwd)
uri=qemu:///system
timeout_s=${SPIRIT_GUEST_TIMEOUT:-90}
name="spirit-guesttest-$$"
passed=0
failed=0

virsh() { command virsh -q -c "$uri" "$@"; }

work=$(mktemp -d /tmp/spirit-guesttest.XXXXXX)
chmod 0755 "$work" # QEMU (libvirt-qemu) must reach the files inside
console="$work/console.log"
socket="$work/spirit.0.sock"
disk="$work/disk.qcow2"

cleanup() {
  set +e
  if virsh dominfo "$name" >/dev/null 2>&1; then
    virsh destroy "$name" >/dev/null 2>&1
    virsh undefine "$name" --managed-save --snapshots-metadata >/dev/null
  fi
  if [ "${SPIRIT_GUEST_KEEP:-0}" = 1 ]; then
    echo "kept $work"
  else
    rm -rf "$work"
    rm -f "/var/log/libvirt/qemu/$name.log"
  fi
}
trap cleanup EXIT

ok() {
  passed=$((passed + 1))
  echo "ok: $*"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*"
}
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# poll DESCRIPTION COMMAND...: every 0.1 s until COMMAND succeeds; fails after the deadline.
poll() {
  local what=$1 deadline=$((SECONDS + timeout_s))
  shift
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${timeout_s}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

lines() { if [ -f "$console" ]; then wc -l <"$console"; else echo 0; fi; }
# console_since LINE: the complete lines of the console file after line LINE.
console_since() { [ -f "$console" ] && tail -n +"$(($1 + 1))" "$console"; }
has_since() { console_since "$1" | grep -q -- "$2"; }
# ticks_since LINE: "n uptime" of each complete tick line after LINE.
ticks_since() { console_since "$1" | awk '$1 == "SPIRIT-TICK" && NF == 3 { print $2, $3 }'; }
tick_count_since() { [ "$(ticks_since "$1" | wc -l)" -ge "$2" ]; }
state_is() { [ "$(virsh domstate "$1" 2>/dev/null)" = "$2" ]; }
reason_is() { [ "$(virsh domstate "$1" --reason 2>/dev/null)" = "$2" ]; }
agent_starts_at_least() { [ "$(grep -c SPIRIT-AGENT-START "$console")" -ge "$1" ]; }

# chat COMMANDS...: connects to the channel socket, expects HELLO, sends each line and
# prints every reply line ("ECHO ..." or the "OUT ..."/"RC n" of an EXEC).
chat() {
  python3 - "$socket" "$timeout_s" "$@" <<'EOF'
import socket, sys, time
path, timeout, cmds = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
s = socket.socket(socket.AF_UNIX)
s.settimeout(timeout)
s.connect(path)
f = s.makefile("rw", encoding="utf-8", newline="\n")
print(f.readline().rstrip("\n"))
for c in cmds:
    f.write(c + "\n")
    f.flush()
    while True:
        line = f.readline().rstrip("\n")
        print(line)
        if not c.startswith("EXEC ") or line.startswith("RC "):
            break
s.close()
EOF
}

echo "== setup"
"$libvirt_dir/ensure-libvirtd.sh"
t=$(now)
"$here/build-guest.sh" "$work/guest" --add "$here/echo-agent" --add "$(command -v gdbus)"
echo "build: $(elapsed "$t") s"
"$here/make-disk.sh" "$disk"
"$here/make-domain.sh" "$name" "$work/guest" --disk "$disk" --socket "$socket" \
  --console "$console" --cmdline "spirit.hostname=$name spirit.agent=/usr/bin/echo-agent" >"$work/domain.xml"
virsh define "$work/domain.xml" >/dev/null

echo "== boot"
t=$(now)
virsh start "$name" >/dev/null
start_s=$(elapsed "$t")
if poll "SPIRIT-GUEST-READY" has_since 0 SPIRIT-GUEST-READY; then
  ok "boot: virsh start took ${start_s} s, SPIRIT-GUEST-READY after $(elapsed "$t") s"
else
  fail "boot: no SPIRIT-GUEST-READY"
  exit 1
fi
check "ticks appear and increase" poll "3 ticks" tick_count_since 0 3
first=$(ticks_since 0 | head -1)
echo "first tick: $first (n, guest uptime)"

echo "== virtio-serial channel and agent"
check "port linked (/init says SPIRIT-PORT spirit.0)" has_since 0 'SPIRIT-PORT spirit.0 /dev/vport'
if out=$(chat ping "EXEC readlink /dev/virtio-ports/spirit.0" "EXEC hostname" "EXEC gdbus help"); then
  printf '%s\n' "$out" | sed 's/^/  guest: /' | head -12
  check "agent says HELLO with the hostname from spirit.hostname" grep -qx "HELLO $name" <<<"$out"
  check "agent echoes" grep -qx "ECHO ping" <<<"$out"
  check "/dev/virtio-ports/spirit.0 -> /dev/vportNpM" grep -qE '^OUT /dev/vport[0-9]+p[0-9]+$' <<<"$out"
  check "an --add'ed dynamic binary (gdbus) runs with its libraries" grep -q '^OUT Usage:' <<<"$out"
else
  fail "could not talk to the agent over $socket"
fi
check "agent respawned after the host disconnected" \
  poll "second SPIRIT-AGENT-START" agent_starts_at_least 2
check "agent stderr reaches the console with a prefix" has_since 0 'SPIRIT-AGENT: serving'

if [ "${SPIRIT_GUEST_SKIP_RESTART:-0}" != 1 ]; then
  echo "== libvirtd restart under a running guest"
  qemu_pid=$(pgrep -f -- "-name guest=$name," | head -1 || true)
  "$libvirt_dir/restart-libvirtd.sh"
  check "domain still running after a libvirtd restart" state_is "$name" running
  check "same QEMU process after the restart" test -n "$qemu_pid" -a -d "/proc/$qemu_pid"
  mark=$(lines)
  check "ticks continue after the restart" poll "ticks" tick_count_since "$mark" 2
fi

echo "== managed save"
before=$(ticks_since 0 | tail -1)
t=$(now)
virsh managedsave "$name" >/dev/null
save_s=$(elapsed "$t")
check "managedsave leaves the domain shut off (saved)" reason_is "$name" "shut off (saved)"
mark=$(lines)
t=$(now)
virsh start "$name" >/dev/null
restore_s=$(elapsed "$t")
poll "ticks after restore" tick_count_since "$mark" 2 || true
after=$(ticks_since "$mark" | head -1)
echo "managedsave ${save_s} s, restore (virsh start) ${restore_s} s; last tick before: $before, first after: $after"
check "after restore n continues (not 1)" awk -v b="${before% *}" -v a="${after% *}" 'BEGIN { exit !(a > 1 && a >= b && a <= b + 2) }'
check "after restore uptime continues" awk -v b="${before#* }" -v a="${after#* }" 'BEGIN { exit !(a >= b) }'

echo "== internal snapshot and revert"
mark=$(lines)
poll "a tick" tick_count_since "$mark" 1 || true
t=$(now)
virsh snapshot-create-as "$name" snap1 >/dev/null
snap_s=$(elapsed "$t")
at_snap=$(ticks_since 0 | tail -1)
mark=$(lines)
poll "6 more ticks" tick_count_since "$mark" 6 || true
before=$(ticks_since 0 | tail -1)
mark=$(lines)
t=$(now)
virsh snapshot-revert "$name" snap1 >/dev/null
revert_s=$(elapsed "$t")
poll "ticks after revert" tick_count_since "$mark" 2 || true
after=$(ticks_since "$mark" | head -1)
echo "snapshot-create ${snap_s} s, snapshot-revert ${revert_s} s; tick at snapshot: $at_snap, last before revert: $before, first after: $after"
check "after revert the ticks go back to the snapshot's count" \
  awk -v s="${at_snap% *}" -v b="${before% *}" -v a="${after% *}" 'BEGIN { exit !(a < b && a >= s && a <= s + 2) }'
check "domain running after revert" state_is "$name" running

echo "== graceful shutdown"
t=$(now)
virsh shutdown "$name" >/dev/null
if poll "shut off" state_is "$name" "shut off"; then
  ok "virsh shutdown: shut off after $(elapsed "$t") s"
else
  fail "virsh shutdown: still $(virsh domstate "$name") after ${timeout_s}s"
fi
check "shut off by the guest (reason shutdown), not destroyed" \
  reason_is "$name" "shut off (shutdown)"
check "the guest saw the power button" has_since 0 SPIRIT-POWEROFF

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
