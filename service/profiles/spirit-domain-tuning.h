/* spirit-domain-tuning.h: the performance part of a domain: vCPUs and their topology, memory,
 * CPU pinning (cputune), huge pages (memoryBacking), the guest IOMMU and the memory balloon.
 *
 * Used by spirit_domain_build() for a new VM and by spirit_domain_retune() to change an existing
 * VM's tuning: each element is replaced as a whole, the rest of the domain is kept.
 */
#pragma once

#include <libxml/tree.h>
#include <libvirt-gconfig/libvirt-gconfig.h>

#include "spirit-cpu-pinning.h"

G_BEGIN_DECLS

typedef struct
{
  guint vcpus;
  guint64 memory_kib;
  gboolean kvm; /* the IOMMU gets interrupt remapping (split I/O APIC) under KVM only */
  gboolean hugepages;
  guint64 hugepage_kib;
  const SpiritCpuPinning *pinning; /* NULL: not pinned; its n_vcpus must equal vcpus */
  gboolean keep_pinning;           /* retune only: leave cputune and the topology as they are */
  gboolean keep_current_memory;    /* retune only, memory unchanged: keep the balloon target */
  gboolean iommu;
  guint balloon_period; /* seconds between statistics; 0: none */
} SpiritDomainTuning;

void spirit_domain_tuning_apply_config (GVirConfigDomain *domain, const SpiritDomainTuning *tuning);
void spirit_domain_tuning_apply_xml (xmlNode *domain, const SpiritDomainTuning *tuning);
GVirConfigDomain *
spirit_domain_retune (GVirConfigDomain *domain, const SpiritDomainTuning *tuning, GError **error);

G_END_DECLS
