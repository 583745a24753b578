#!/usr/bin/env bash
# Prints the libvirt domain XML of a Spirit test guest (built by build-guest.sh) to stdout.
# Usage: make-domain.sh NAME OUTDIR [--socket PATH] [--disk PATH] [--console PATH]
#                       [--memory MiB] [--cmdline EXTRA]
#   OUTDIR          holds vmlinuz and initramfs.cpio.gz (direct kernel boot)
#   --console PATH  serial console file (default OUTDIR/NAME.console), appended to
#   --disk PATH     a qcow2 disk (make-disk.sh); needed for internal snapshots of a running guest
#   --socket PATH   a virtio-serial channel named spirit.0, listening on this unix socket
#   --memory MiB    default 256
#   --cmdline EXTRA appended to "console=ttyS0 quiet panic=-1"
#                   (e.g. "spirit.hostname=vm1 spirit.agent=/usr/bin/spirit-agent")
# TCG (type='qemu'): nested KVM guests hang on this kind of machine. No network, no graphics.
set -euo pipefail

die() {
  echo "make-domain.sh: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: make-domain.sh NAME OUTDIR [--socket PATH] [--disk PATH] [--console PATH] [--memory MiB] [--cmdline EXTRA]" >&2
  exit 2
}

# Escape for an XML attribute or text node.
xml() {
  local s=$1
  s=${s//&/&amp;}
  s=${s//</&lt;}
  s=${s//>/&gt;}
  s=${s//\'/&apos;}
  s=${s//\"/&quot;}
  printf '%s' "$s"
}

abspath() {
  case "$1" in
  /*) printf '%s' "$1" ;;
  *) printf '%s/%s' "$(pwd)" "$1" ;;
  esac
}

[ $# -ge 2 ] || usage
name=$1
outdir=$(abspath "$2")
shift 2
socket='' disk='' console='' memory=256 extra=''
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
  --socket) socket=$(abspath "$2") ;;
  --disk) disk=$(abspath "$2") ;;
  --console) console=$(abspath "$2") ;;
  --memory) memory=$2 ;;
  --cmdline) extra=$2 ;;
  *) usage ;;
  esac
  shift 2
done
[ -n "$name" ] || die "empty NAME"
[[ "$memory" =~ ^[1-9][0-9]*$ ]] || die "--memory must be a number of MiB, got '$memory'"
{ [ -f "$outdir/vmlinuz" ] && [ -f "$outdir/initramfs.cpio.gz" ]; } ||
  die "$outdir has no vmlinuz and initramfs.cpio.gz (run build-guest.sh $outdir)"
[ -n "$console" ] || console="$outdir/$name.console"
cmdline="console=ttyS0 quiet panic=-1${extra:+ $extra}"

# Machine type: q35. Under TCG it boots this guest as fast as pc (measured through libvirt,
# 3 boots each, virsh start to SPIRIT-GUEST-READY: q35 3.8-5.1 s, pc 3.4-5.0 s), and it is
# what libvirt/virt-manager pick for new guests. The virtio devices sit behind PCIe root
# ports (virtio 1.0 "modern" only), which virtio_pci handles; managedsave and internal
# snapshots work with it. <acpi/> is required for `virsh shutdown` (ACPI power button).
generate() {
  cat <<EOF
<domain type='qemu'>
  <name>$(xml "$name")</name>
  <memory unit='MiB'>$memory</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$(xml "$outdir/vmlinuz")</kernel>
    <initrd>$(xml "$outdir/initramfs.cpio.gz")</initrd>
    <cmdline>$(xml "$cmdline")</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
EOF
  if [ -n "$disk" ]; then
    cat <<EOF
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$(xml "$disk")'/>
      <target dev='vda' bus='virtio'/>
    </disk>
EOF
  fi
  cat <<EOF
    <serial type='file'>
      <source path='$(xml "$console")' append='on'/>
      <target port='0'/>
    </serial>
EOF
  if [ -n "$socket" ]; then
    cat <<EOF
    <channel type='unix'>
      <source mode='bind' path='$(xml "$socket")'/>
      <target type='virtio' name='spirit.0'/>
    </channel>
EOF
  fi
  cat <<EOF
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

xmltext=$(generate)
# Refuse to print XML that is not well-formed.
if command -v xmllint >/dev/null; then
  xmllint --noout - <<<"$xmltext" || die "generated XML is not well-formed"
fi
printf '%s\n' "$xmltext"
