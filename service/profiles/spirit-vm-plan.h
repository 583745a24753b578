/* spirit-vm-plan.h: the one call behind Manager.DefineVM (and its --dry-run preview) and behind
 * editing a VM's tuning: checks a request against the host, then builds the domain.
 *
 * spirit_vm_plan() loads the profile, reads the CPU topology, computes the pinning, checks the
 * huge pages, the files the VM uses (disk, ISOs, kernel, initrd, firmware, the directories of
 * the agent socket and serial log), the PCI devices and swtpm, and returns a domain that passed
 * libvirt's schema. It does not talk to libvirt: the caller defines the result
 * (virDomainDefineXMLFlags with VIR_DOMAIN_DEFINE_VALIDATE), or prints it for a preview.
 *
 * Both calls read files only: run them on a worker thread, as every libvirt call is.
 * `profile_dirs` NULL means spirit_profile_default_dirs(); `sysfs_root` NULL means
 * $SPIRIT_SYSFS_ROOT or the real /sys.
 */
#pragma once

#include <libvirt-gconfig/libvirt-gconfig.h>

#include "spirit-vm-spec.h"

G_BEGIN_DECLS

GVirConfigDomain *spirit_vm_plan (const SpiritVmSpec *spec,
                                  const char *const *profile_dirs,
                                  const char *sysfs_root,
                                  GError **error);

/* Options: cpus u, memory t, hugepages b, hugepage-size t, pin s, iommu b, balloon-period u.
 * What is left out keeps its current value. A pinned VM whose vCPU count changes needs 'pin'. */
GVirConfigDomain *spirit_vm_plan_retune (GVirConfigDomain *current,
                                         GVariant *options,
                                         const char *sysfs_root,
                                         GError **error);

G_END_DECLS
