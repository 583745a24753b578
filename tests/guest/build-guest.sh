#!/usr/bin/env bash
# Builds Spirit's tiny test guest for libvirt direct kernel boot:
#   OUTDIR/vmlinuz            the host's Debian kernel (linux-image-amd64), uncompressed
#                             to an ELF vmlinux that QEMU boots via PVH (see below)
#   OUTDIR/initramfs.cpio.gz  busybox-static, tests/guest/init as /init, the modules for
#                             virtio-serial + the ACPI power button, and the --add binaries
#                             (with their shared libraries and dynamic loader) in /usr/bin.
# Usage: build-guest.sh OUTDIR [--add BINARY]... [--init FILE] [--module NAME]...
#   --init FILE    use FILE as /init instead of tests/guest/init (tests/gpu uses its own)
#   --module NAME  also load module NAME (and its `modprobe --show-depends` dependencies),
#                  after the default ones; listed in /etc/spirit/modules in load order
# Skips the build when OUTDIR is up to date (newer than this script, init, the kernel and
# the added binaries, built with the same arguments).
# Environment: SPIRIT_GUEST_KERNEL=/boot/vmlinuz-VERSION to pick a kernel (default: the
# newest /boot/vmlinuz-* that has a matching /lib/modules/VERSION);
# SPIRIT_GUEST_BZIMAGE=1 to copy the compressed bzImage as is (boots ~4.5 s slower).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me="$here/$(basename "${BASH_SOURCE[0]}")"
init_src="$here/init"

die() {
  echo "build-guest.sh: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: build-guest.sh OUTDIR [--add BINARY]... [--init FILE] [--module NAME]..." >&2
  exit 2
}

[ $# -ge 1 ] || usage
outdir=$1
shift
adds=()
extra_modules=()
custom_init=
while [ $# -gt 0 ]; do
  case "$1" in
  --add)
    [ $# -ge 2 ] || usage
    [ -f "$2" ] || die "--add $2: no such file"
    adds+=("$(readlink -f "$2")")
    shift 2
    ;;
  --init)
    [ $# -ge 2 ] || usage
    [ -f "$2" ] || die "--init $2: no such file"
    custom_init=$(readlink -f "$2")
    init_src=$custom_init
    shift 2
    ;;
  --module)
    [ $# -ge 2 ] || usage
    extra_modules+=("$2")
    shift 2
    ;;
  *) usage ;;
  esac
done

for tool in busybox cpio gzip ldd modprobe; do
  command -v "$tool" >/dev/null || die "$tool not found (run tools/install-deps.sh)"
done
busybox_bin=$(command -v busybox)
# Debian's busybox-static is /bin/busybox; make sure it really is static.
if ldd "$busybox_bin" >/dev/null 2>&1; then
  die "$busybox_bin is dynamically linked; install busybox-static"
fi

# The kernel and its modules must be of the same version.
if [ -n "${SPIRIT_GUEST_KERNEL:-}" ]; then
  kernel=$SPIRIT_GUEST_KERNEL
else
  kernel=
  while read -r k; do
    if [ -d "/lib/modules/${k#/boot/vmlinuz-}" ]; then kernel=$k; fi
  done < <(printf '%s\n' /boot/vmlinuz-* | sort -V)
fi
{ [ -n "$kernel" ] && [ -f "$kernel" ]; } || die "no /boot/vmlinuz-* with matching /lib/modules (install linux-image-amd64)"
kver=${kernel##*/vmlinuz-}
[ -d "/lib/modules/$kver" ] || die "/lib/modules/$kver missing for $kernel"

# Under TCG, decompressing Debian's XZ bzImage takes 4-5 s, about half of the boot. QEMU
# can boot the uncompressed ELF vmlinux directly through its PVH entry point (CONFIG_PVH=y
# in Debian's kernels), so OUTDIR/vmlinuz is that ELF, extracted from the host's bzImage,
# unless SPIRIT_GUEST_BZIMAGE=1 or the extraction fails (then it is the bzImage itself).
kernel_format="ELF vmlinux (uncompressed, PVH boot)"
extract_pvh_vmlinux() { # extract_pvh_vmlinux BZIMAGE OUT
  local bz=$1 out=$2 magic pattern dec off
  for magic in xz zstd gzip; do
    case "$magic" in
    xz) pattern='\xfd7zXZ\x00' dec=(xz -dc --single-stream) ;;
    zstd) pattern='\x28\xb5\x2f\xfd' dec=(zstd -dcq) ;;
    gzip) pattern='\x1f\x8b\x08' dec=(gzip -dc) ;;
    esac
    command -v "${dec[0]}" >/dev/null || continue
    off=$(LC_ALL=C grep -obUaP "$pattern" "$bz" | head -1 | cut -d: -f1 || true)
    [ -n "$off" ] || continue
    # Trailing bytes after the compressed stream make some decompressors complain: ignore
    # their status and check the result instead.
    tail -c +"$((off + 1))" "$bz" | "${dec[@]}" >"$out" 2>/dev/null || true
    if [ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ] &&
      { ! command -v readelf >/dev/null || readelf -n "$out" | grep -qE 'Xen.*(0x00000012|PHYS32)'; }; then
      return 0
    fi
  done
  rm -f "$out"
  return 1
}

# --- cache check -------------------------------------------------------------
stamp="$outdir/.build-stamp"
want_stamp=$(printf '%s\n' "kernel $kernel" "bzimage ${SPIRIT_GUEST_BZIMAGE:-0}" "${adds[@]/#/add }")
# Only present when used, so that the stamps of plain builds stay as they were.
[ -z "$custom_init" ] || want_stamp+=$'\n'"init $custom_init"
[ ${#extra_modules[@]} -eq 0 ] || want_stamp+=$'\n'"$(printf 'module %s\n' "${extra_modules[@]}")"
up_to_date() {
  [ -f "$outdir/vmlinuz" ] && [ -f "$outdir/initramfs.cpio.gz" ] && [ -f "$stamp" ] || return 1
  [ "$(cat "$stamp")" = "$want_stamp" ] || return 1
  local input
  for input in "$me" "$init_src" "$kernel" "$busybox_bin" "${adds[@]}"; do
    [ "$input" -nt "$stamp" ] && return 1
  done
  return 0
}
if up_to_date; then
  echo "build-guest.sh: $outdir is up to date"
  exit 0
fi

# --- build -------------------------------------------------------------------
mkdir -p "$outdir"
stage=$(mktemp -d "${TMPDIR:-/tmp}/spirit-guest-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc/spirit,root}
cp "$busybox_bin" "$stage/bin/busybox"
# One symlink per applet, at the path busybox itself reports (bin/ls, sbin/poweroff, ...).
while read -r applet; do
  [ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done < <("$busybox_bin" --list-full)
[ -e "$stage/bin/sh" ] || ln -s /bin/busybox "$stage/bin/sh"
install -m 0755 "$init_src" "$stage/init"
echo "spirit-guest" >"$stage/etc/hostname"
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
# The kernel opens /dev/console for /init before devtmpfs is mounted.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$stage/dev/null" c 1 3 2>/dev/null || true

# Modules: virtio-serial needs the PCI transport (virtio_pci) and virtio_console; the power
# button needs button (ACPI) and evdev (/dev/input/event*). Take each one's
# `modprobe --show-depends` order, drop duplicates and built-ins.
modlist=()
for mod in virtio_pci virtio_console button evdev "${extra_modules[@]}"; do
  deps=$(modprobe -S "$kver" --show-depends "$mod") || die "modprobe --show-depends $mod failed for $kver"
  while read -r kind path _; do
    [ "$kind" = insmod ] || continue # "builtin NAME" lines need nothing
    case " ${modlist[*]} " in *" $path "*) ;; *) modlist+=("$path") ;; esac
  done <<<"$deps"
done
: >"$stage/etc/spirit/modules"
for path in "${modlist[@]}"; do
  dest="$stage$path"
  # busybox insmod cannot read compressed modules: store them uncompressed.
  case "$path" in
  *.ko.xz) dest=${dest%.xz} && mkdir -p "$(dirname "$dest")" && xz -dc "$path" >"$dest" ;;
  *.ko.zst) dest=${dest%.zst} && mkdir -p "$(dirname "$dest")" && zstd -qdc "$path" >"$dest" ;;
  *.ko.gz) dest=${dest%.gz} && mkdir -p "$(dirname "$dest")" && gzip -dc "$path" >"$dest" ;;
  *) mkdir -p "$(dirname "$dest")" && cp "$path" "$dest" ;;
  esac
  echo "${dest#"$stage"}" >>"$stage/etc/spirit/modules"
done

# Added binaries and everything ldd says they load (including the dynamic loader), at the
# same paths as on the host, so that the loader's default search path finds them.
copy_lib() {
  local lib=$1
  [ -e "$stage$lib" ] && return 0
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
}
for bin in "${adds[@]}"; do
  install -m 0755 "$bin" "$stage/usr/bin/$(basename "$bin")"
  if ! out=$(ldd "$bin" 2>&1); then
    # Static binaries and scripts: "not a dynamic executable".
    grep -q 'not a dynamic executable' <<<"$out" || die "ldd $bin: $out"
    continue
  fi
  if grep -q 'not found' <<<"$out"; then
    die "ldd $bin: missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t\n' ' ')"
  fi
  while read -r first arrow target _; do
    if [ "$arrow" = "=>" ] && [ "${target#/}" != "$target" ]; then
      copy_lib "$target"
    elif [ "${first#/}" != "$first" ]; then
      copy_lib "$first" # the dynamic loader: "/lib64/ld-linux-x86-64.so.2 (0x...)"
    fi
  done <<<"$out"
done

# Write both outputs beside their final names, then move them into place.
(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
  cpio --null --create --format=newc --owner=0:0 --quiet) |
  gzip -6 >"$outdir/initramfs.cpio.gz.tmp"
if [ "${SPIRIT_GUEST_BZIMAGE:-0}" = 1 ] || ! extract_pvh_vmlinux "$kernel" "$outdir/vmlinuz.tmp"; then
  kernel_format="bzImage (compressed)"
  cp "$kernel" "$outdir/vmlinuz.tmp"
fi
mv "$outdir/initramfs.cpio.gz.tmp" "$outdir/initramfs.cpio.gz"
mv "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
# QEMU runs as libvirt-qemu: the files must be readable by it (libvirt relabels the files,
# not the directories above them).
chmod 0755 "$outdir"
chmod 0644 "$outdir/vmlinuz" "$outdir/initramfs.cpio.gz"
printf '%s\n' "$want_stamp" >"$stamp"
echo "build-guest.sh: built $outdir (kernel $kver as $kernel_format, $(du -k "$outdir/initramfs.cpio.gz" | cut -f1) KiB initramfs, modules: ${modlist[*]##*/})"
