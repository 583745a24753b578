# windows.profile: a Windows 10/11 guest: UEFI with Secure Boot, a TPM 2.0 where swtpm is
# installed, Hyper-V enlightenments, virtio disk and network (install the virtio-win drivers).
# Installed to DATADIR/spirit/profiles. To change a key, put only that key in
# /etc/spirit/profiles/windows.profile: it overrides this file key by key (docs/profiles.md).

[Profile]
Description=Windows guest: q35, OVMF with Secure Boot, TPM, Hyper-V enlightenments, virtio disk and network

[Machine]
Type=q35
Arch=x86_64
Firmware=efi
# Debian's ovmf package: firmware with Secure Boot, and variables with Microsoft's keys enrolled.
Loader=/usr/share/OVMF/OVMF_CODE_4M.ms.fd
NvramTemplate=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
SecureBoot=true
DirectKernelBoot=false
Features=acpi;apic;
HyperV=relaxed;vapic;spinlocks;vpindex;runtime;synic;stimer;reset;frequencies;
Clock=localtime
Tpm=auto
Memory=8192
Cpus=4

[Devices]
DiskBus=virtio
DiskCache=none
DiskIo=native
Network=default
NetModel=virtio
Video=qxl
Graphics=spice
Tablet=true

[Tuning]
Iommu=false
BalloonPeriod=5
