#!/usr/bin/env bash
# The README's "run" command: installs what is missing, builds Spirit, and runs its main job on an
# embedded default: spiritd on a private D-Bus over libvirt's test driver (data/demo-vms.xml),
# spiritctl listing the VMs, and state changes reaching a live `spiritctl vm watch`.
# Needs no root-only host setup: no libvirtd, no QEMU, no system bus, no polkit.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$top/build-demo"

if [ "$(id -u)" = 0 ]; then
  bash "$top/tools/install-deps.sh"
fi
[ -f "$build/build.ninja" ] || meson setup "$build" "$top" >/dev/null
ninja -C "$build" >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A private bus, so the demo touches nothing on the host.
cat >"$work/bus.conf" <<CONF
<busconfig>
  <type>session</type>
  <listen>unix:path=$work/bus</listen>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile 2>/dev/null &
pids+=($!)
export SPIRIT_BUS_ADDRESS="unix:path=$work/bus"
export DBUS_SESSION_BUS_ADDRESS="$SPIRIT_BUS_ADDRESS"
for _ in $(seq 100); do [ -S "$work/bus" ] && break; read -rt 0.05 <> <(:) || true; done

"$build/service/spiritd" --session --no-polkit --uri "test://$top/data/demo-vms.xml" 2>"$work/spiritd.log" &
pids+=($!)
gdbus wait --session --timeout 10 org.crom.Spirit

ctl() {
  printf '\n$ spiritctl %s\n' "$*"
  "$build/cli/spiritctl" "$@"
}

echo "== Spirit $("$build/cli/spiritctl" --version | cut -d' ' -f2): spiritd on a private bus over libvirt's test driver"
ctl status
ctl vm list

printf '\n$ spiritctl vm watch &   # prints every state change as spiritd publishes it\n'
"$build/cli/spiritctl" vm watch >"$work/watch.log" &
pids+=($!)
watch_pid=$!
# The watcher prints one "present" line per VM first; wait for them (no fixed sleep).
for _ in $(seq 200); do [ "$(grep -c present "$work/watch.log" 2>/dev/null)" -ge 3 ] && break; read -rt 0.05 <> <(:) || true; done

ctl vm pause Windows-Spirit
ctl vm resume Windows-Spirit
ctl vm save Linux-Spirit
ctl vm start Docker-Host
ctl vm snapshot create Windows-Spirit before-gpu-swap
ctl vm start Linux-Spirit
ctl vm resume Docker-Host || true
ctl vm list

# The @target language: an alias (targets.conf), a control, and a line across targets.
printf '[windows]\nvm=Windows-Spirit\nos=windows\n' >"$work/targets.conf"
export SPIRIT_TARGETS_CONF="$work/targets.conf"
ctl @windows --pause
ctl @windows --resume
ctl run "@spirit uname -sr | @spirit tr a-z A-Z > @spirit $work/kernel.txt"
printf '$ cat %s\n' "$work/kernel.txt"
cat "$work/kernel.txt"

# Every change above reached the watcher as a PropertiesChanged signal.
for _ in $(seq 200); do [ "$(grep -c changed "$work/watch.log")" -ge 5 ] && break; read -rt 0.05 <> <(:) || true; done
kill "$watch_pid"
printf '\n== What `spiritctl vm watch` saw, live:\n'
cat "$work/watch.log"
