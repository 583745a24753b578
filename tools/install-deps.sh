#!/usr/bin/env bash
# Installs every Debian 12 package Spirit needs to build, run its demo and run its whole test suite.
# Idempotent: packages already present are skipped by apt. Run as root.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config gettext itstool clang-format
  libglib2.0-dev libglib2.0-dev-bin libjson-glib-dev libgudev-1.0-dev
  libvirt-dev libvirt-glib-1.0-dev libxml2-dev libpolkit-gobject-1-dev
  libgtk-4-dev libadwaita-1-dev libsoup-3.0-dev libreadline-dev
  # fuzzing and sanitizers
  clang libclang-rt-14-dev
  # runtime: D-Bus, libvirt, QEMU, polkit
  dbus dbus-bin libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu
  qemu-system-x86 qemu-utils polkitd pkexec libvirt-dbus
  # test tools
  python3 python3-gi python3-dbusmock umockdev gir1.2-umockdev-1.0 libumockdev-dev
  linux-image-amd64 busybox-static cpio kmod xz-utils
  podman runc
  xvfb xauth desktop-file-utils appstream-util libxml2-utils
  bash-completion tmux expect procps psmisc
  # VM profiles (issue 7): the windows profile's UEFI firmware and its TPM emulator
  ovmf swtpm swtpm-tools
  # benchmarks' anchors
  qemu-guest-agent
  # bench/bench-listing.py (libvirt in-process comparison)
  python3-libvirt
  # GPU swap (issue 5): the hwdb (vendor and model names) and udevadm; libudev for the hwdb
  udev libudev-dev
  # Nexus HUD: appstreamcli validates its metainfo; bench/bench-hud.py times window maps with
  # python3-xlib and compares with virt-manager
  appstream python3-xlib virt-manager
)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
