/* spirit-domain-tuning.c: writes the tuning elements; libvirt-gconfig where it can, libxml2 else.
 */
#define G_LOG_DOMAIN "spirit-domain-tuning"

#include "spirit-domain-tuning.h"
#include "spirit-domain-xml.h"
#include "spirit-profiles-private.h"
#include "spirit-error.h"

/* vcpus, memory and the guest CPU topology: libvirt-gconfig has API for these. */
void
spirit_domain_tuning_apply_config (GVirConfigDomain *domain, const SpiritDomainTuning *tuning)
{
  g_autoptr (GVirConfigDomainCpu) cpu = gvir_config_domain_get_cpu (domain);
  g_autoptr (GVirConfigCapabilitiesCpuTopology) topology
    = gvir_config_capabilities_cpu_topology_new ();
  const SpiritCpuPinning *pinning = tuning->pinning;

  g_return_if_fail (pinning == NULL || pinning->n_vcpus == tuning->vcpus);

  gvir_config_domain_set_vcpus (domain, tuning->vcpus);
  gvir_config_domain_set_memory (domain, tuning->memory_kib);
  /* The balloon starts deflated: the guest boots with all of its memory. A retune that leaves
   * the memory alone keeps the target a SetMemory gave. */
  if (!tuning->keep_current_memory)
    gvir_config_domain_set_current_memory (domain, tuning->memory_kib);

  if (tuning->keep_pinning)
    return;
  if (cpu == NULL)
    {
      g_autoptr (GVirConfigDomainCpu) fresh = gvir_config_domain_cpu_new ();
      /* set_cpu replaces the <cpu> node: never hand it the node it already has. */
      gvir_config_domain_set_cpu (domain, fresh);
      cpu = gvir_config_domain_get_cpu (domain);
    }
  /* One socket unless the pinning spans several: Windows client editions use two at most. */
  gvir_config_capabilities_cpu_topology_set_sockets (topology, pinning ? pinning->sockets : 1);
  gvir_config_capabilities_cpu_topology_set_cores (topology,
                                                   pinning ? pinning->cores : tuning->vcpus);
  gvir_config_capabilities_cpu_topology_set_threads (topology, pinning ? pinning->threads : 1);
  gvir_config_capabilities_cpu_set_topology (GVIR_CONFIG_CAPABILITIES_CPU (cpu), topology);
}

static void
apply_cputune (xmlNode *domain, const SpiritCpuPinning *pinning)
{
  xmlNode *cputune;

  spirit_xml_remove_children (domain, "cputune");
  if (pinning == NULL)
    return;
  cputune = spirit_xml_add_child (domain, "cputune");
  for (guint i = 0; i < pinning->n_vcpus; i++)
    {
      xmlNode *pin = spirit_xml_add_child (cputune, "vcpupin");
      spirit_xml_set_uint (pin, "vcpu", i);
      spirit_xml_set_uint (pin, "cpuset", pinning->vcpu_cpus[i]);
    }
  spirit_xml_set (spirit_xml_add_child (cputune, "emulatorpin"), "cpuset",
                  pinning->emulator_cpuset);
}

static void
apply_hugepages (xmlNode *domain, const SpiritDomainTuning *tuning)
{
  xmlNode *backing = spirit_xml_child (domain, "memoryBacking");
  xmlNode *page;

  if (backing != NULL)
    spirit_xml_remove_children (backing, "hugepages");
  if (tuning->hugepages)
    {
      if (backing == NULL)
        backing = spirit_xml_add_child (domain, "memoryBacking");
      page = spirit_xml_add_child (spirit_xml_add_child (backing, "hugepages"), "page");
      spirit_xml_set_uint (page, "size", tuning->hugepage_kib);
      spirit_xml_set (page, "unit", "KiB");
    }
  else if (backing != NULL && xmlFirstElementChild (backing) == NULL)
    {
      xmlUnlinkNode (backing);
      xmlFreeNode (backing);
    }
}

/* Intel's vIOMMU. Under KVM with interrupt remapping, which needs QEMU's split I/O APIC; with
 * assigned devices also caching mode, so VFIO sees the guest's mappings. */
static void
apply_iommu (xmlNode *domain, xmlNode *devices, const SpiritDomainTuning *tuning)
{
  xmlNode *features = spirit_xml_ensure_child (domain, "features");
  xmlNode *iommu, *driver;
  gboolean hostdevs = spirit_xml_child (devices, "hostdev") != NULL;

  spirit_xml_remove_children (devices, "iommu");
  spirit_xml_remove_children (features, "ioapic");
  if (!tuning->iommu)
    return;
  iommu = spirit_xml_add_child (devices, "iommu");
  spirit_xml_set (iommu, "model", "intel");
  if (!tuning->kvm && !hostdevs)
    return;
  driver = spirit_xml_add_child (iommu, "driver");
  if (tuning->kvm)
    {
      spirit_xml_set (driver, "intremap", "on");
      spirit_xml_set (spirit_xml_add_child (features, "ioapic"), "driver", "qemu");
    }
  if (hostdevs)
    spirit_xml_set (driver, "caching_mode", "on");
}

static void
apply_balloon (xmlNode *devices, const SpiritDomainTuning *tuning)
{
  xmlNode *balloon = spirit_xml_ensure_child (devices, "memballoon");

  spirit_xml_set (balloon, "model", "virtio");
  spirit_xml_remove_children (balloon, "stats");
  if (tuning->balloon_period > 0)
    spirit_xml_set_uint (spirit_xml_add_child (balloon, "stats"), "period", tuning->balloon_period);
}

void
spirit_domain_tuning_apply_xml (xmlNode *domain, const SpiritDomainTuning *tuning)
{
  xmlNode *devices = spirit_xml_ensure_child (domain, "devices");

  if (!tuning->keep_pinning)
    apply_cputune (domain, tuning->pinning);
  apply_hugepages (domain, tuning);
  apply_iommu (domain, devices, tuning);
  apply_balloon (devices, tuning);
}

GVirConfigDomain *
spirit_domain_retune (GVirConfigDomain *domain, const SpiritDomainTuning *tuning, GError **error)
{
  g_autoptr (xmlDoc) copy_doc = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (GVirConfigDomain) copy = NULL;
  g_autoptr (GVirConfigDomain) result = NULL;

  g_return_val_if_fail (GVIR_CONFIG_IS_DOMAIN (domain), NULL);
  if (tuning->pinning != NULL && tuning->pinning->n_vcpus != tuning->vcpus)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The pinning is for %u vCPUs, the VM gets %u: compute it for %u",
                   tuning->pinning->n_vcpus, tuning->vcpus, tuning->vcpus);
      return NULL;
    }
  /* Work on a copy: the caller's domain stays as it was if anything fails. */
  copy_doc = spirit_domain_xml_parse (domain, error);
  if (copy_doc == NULL)
    return NULL;
  copy = spirit_domain_xml_finish (copy_doc, error);
  if (copy == NULL)
    return NULL;
  spirit_domain_tuning_apply_config (copy, tuning);
  doc = spirit_domain_xml_parse (copy, error);
  if (doc == NULL)
    return NULL;
  spirit_domain_tuning_apply_xml (xmlDocGetRootElement (doc), tuning);
  result = spirit_domain_xml_finish (doc, error);
  if (result == NULL || !spirit_domain_xml_validate (result, error))
    return NULL;
  return g_steal_pointer (&result);
}
