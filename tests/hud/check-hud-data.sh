#!/usr/bin/env bash
# Validates the Nexus HUD's data files with the tools that consume them: the desktop entry
# (desktop-file-validate), the AppStream metainfo (appstreamcli and appstream-util, offline), the
# systemd user unit (systemd-analyze verify), the session-bus activation file, and the icons.
# TAP output. Usage: check-hud-data.sh SOURCE_DIR BUILD_DIR NEXUS_HUD
set -euo pipefail
src=$1 build=$2 hud=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
check() {
  local what=$1
  shift
  n=$((n + 1))
  if "$@" >"$tmp/out" 2>&1; then
    echo "ok $n - $what"
  else
    echo "not ok $n - $what"
    sed 's/^/# /' "$tmp/out"
    fail=1
  fi
}

desktop=$build/data/org.crom.Spirit.Nexus.desktop
metainfo=$build/data/org.crom.Spirit.Nexus.metainfo.xml

check "desktop entry passes desktop-file-validate" desktop-file-validate "$desktop"
check "desktop entry is D-Bus activatable under the application id" \
  grep -qx 'DBusActivatable=true' "$desktop"
check "desktop entry carries the pt_BR translation" grep -q '^Comment\[pt_BR\]=' "$desktop"
check "metainfo passes appstreamcli validate" appstreamcli validate --no-net --pedantic "$metainfo"
check "metainfo passes appstream-util validate-relax" appstream-util validate-relax --nonet "$metainfo"
check "metainfo carries the pt_BR translation" grep -q 'xml:lang="pt_BR"' "$metainfo"
check "metainfo's screenshot is in docs/" test -s "$src/docs/nexus-hud.png"

# systemd-analyze wants ExecStart to exist: point it at the built binary.
sed "s|^ExecStart=.*|ExecStart=$hud|" "$build/data/nexus-hud.service" >"$tmp/nexus-hud.service"
check "nexus-hud.service passes systemd-analyze verify (user unit)" \
  env XDG_RUNTIME_DIR="$tmp" systemd-analyze --user verify --man=no "$tmp/nexus-hud.service"
check "nexus-hud.service is Type=dbus on the application id" \
  grep -qx 'BusName=org.crom.Spirit.Nexus' "$tmp/nexus-hud.service"
check "activation file names the unit and the application id" \
  grep -qx 'SystemdService=nexus-hud.service' "$build/data/org.crom.Spirit.Nexus.service"
check "activation file's name is the application id" \
  grep -qx 'Name=org.crom.Spirit.Nexus' "$build/data/org.crom.Spirit.Nexus.service"

for icon in "$src"/data/org.crom.Spirit.Nexus.svg "$src"/data/org.crom.Spirit.Nexus-symbolic.svg; do
  check "$(basename "$icon") is well-formed SVG" xmllint --noout "$icon"
done

echo "1..$n"
exit $fail
