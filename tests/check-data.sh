#!/usr/bin/env bash
# Validates the files that make spiritd a system service, with the tools that consume them:
# the polkit policy against polkit's DTD, the systemd unit with systemd-analyze, the D-Bus
# bus policy by loading it into a real dbus-daemon, the interface XML as introspection data.
# Usage: check-data.sh SOURCE_DIR BUILD_DIR SPIRITD
set -euo pipefail
src=$1 build=$2 spiritd=$3
tmp=$(mktemp -d)
trap 'kill "${bus_pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
fail=0
check() {
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    echo "ok - $what"
  else
    echo "not ok - $what"
    sed 's/^/# /' "$tmp/out"
    fail=1
  fi
}

check "polkit policy is valid against policyconfig-1.dtd" \
  xmllint --noout --dtdvalid /usr/share/polkit-1/policyconfig-1.dtd "$build/data/org.crom.Spirit.policy"
check "polkit policy carries the pt_BR translation" \
  grep -q 'xml:lang="pt_BR"' "$build/data/org.crom.Spirit.policy"

# systemd-analyze needs ExecStart to exist: point it at the built binary.
sed "s|^ExecStart=.*|ExecStart=$spiritd|" "$build/data/spiritd.service" >"$tmp/spiritd.service"
check "spiritd.service passes systemd-analyze verify" systemd-analyze verify --man=no "$tmp/spiritd.service"
check "spiritd.service is Type=dbus on org.crom.Spirit" \
  grep -qx 'BusName=org.crom.Spirit' "$tmp/spiritd.service"
check "activation file names the unit" grep -qx 'SystemdService=spiritd.service' "$build/data/org.crom.Spirit.service"

for xml in "$src"/dbus/*.xml; do
  check "$(basename "$xml") is well-formed introspection data" \
    /usr/bin/python3 -c 'import sys, gi; gi.require_version("Gio", "2.0"); from gi.repository import Gio; Gio.DBusNodeInfo.new_for_xml(open(sys.argv[1]).read())' "$xml"
done

# The bus policy, loaded by a real system-type dbus-daemon.
mkdir "$tmp/system.d"
cp "$src/data/org.crom.Spirit.conf" "$tmp/system.d/"
cat >"$tmp/bus.conf" <<CONF
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/sock</listen>
  <policy context="default"><allow user="*"/></policy>
  <includedir>$tmp/system.d</includedir>
</busconfig>
CONF
check "org.crom.Spirit.conf loads into dbus-daemon" dbus-daemon --config-file="$tmp/bus.conf" --print-address --fork --print-pid=3 3>"$tmp/pid"
bus_pid=$(cat "$tmp/pid" 2>/dev/null || true)

exit $fail
