#!/usr/bin/env bash
# Builds the root filesystem of the podman tests' image: Debian's static busybox and a link for
# each of its applets, as a tarball for `podman import` (no registry, no network).
#   build-busybox-rootfs.sh OUTPUT.tar
# The tarball appears atomically, so a cache hit never sees half of one.
set -euo pipefail

out=$1
busybox=/bin/busybox
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$busybox" ] || readelf -l "$busybox" | grep -q INTERP; then
  echo "$busybox is missing or not statically linked (install busybox-static)" >&2
  exit 1
fi
mkdir -p "$work"/rootfs/{bin,dev,etc,proc,sys,tmp,root}
cp "$busybox" "$work/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$work/rootfs/bin/$applet" ] || ln -s busybox "$work/rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
echo 'root:x:0:' >"$work/rootfs/etc/group"
chmod 1777 "$work/rootfs/tmp"

mkdir -p "$(dirname "$out")"
tar -C "$work/rootfs" --owner=0 --group=0 -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$out"
