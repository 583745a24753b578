# linux.profile: a Linux guest on a q35 machine with virtio everything.
# Installed to DATADIR/spirit/profiles. To change a key, put only that key in
# /etc/spirit/profiles/linux.profile: it overrides this file key by key (docs/profiles.md).

[Profile]
Description=Linux guest: q35, virtio disk, network, video and balloon; direct kernel boot allowed

[Machine]
Type=q35
Arch=x86_64
Firmware=bios
DirectKernelBoot=true
Features=acpi;apic;vmcoreinfo;
Clock=utc
Tpm=no
Memory=2048
Cpus=2

[Devices]
DiskBus=virtio
Network=default
NetModel=virtio
Video=virtio
Graphics=spice
Tablet=true

[Tuning]
Iommu=false
BalloonPeriod=5
