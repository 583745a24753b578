/* spirit-vm-plan.c: checks a VM request against the host, then builds its domain. */
#define G_LOG_DOMAIN "spirit-vm-plan"

#include "spirit-vm-plan.h"
#include "spirit-cpu-pinning.h"
#include "spirit-domain-builder.h"
#include "spirit-domain-tuning.h"
#include "spirit-domain-xml.h"
#include "spirit-host-sysfs.h"
#include "spirit-hugepages.h"
#include "spirit-profile.h"
#include "spirit-profiles-private.h"
#include "spirit-error.h"

#include <unistd.h>

static const char *const retune_options[] = {
  "cpus", "memory", "hugepages", "hugepage-size", "pin", "iommu", "balloon-period", NULL,
};

static gboolean
check_file (const char *what, const char *key, const char *path, gboolean block_ok, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The %s %s does not exist: create it, or fix '%s'", what, path, key);
      return FALSE;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR)
      || (!block_ok && !g_file_test (path, G_FILE_TEST_IS_REGULAR)))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The %s %s is not a %s: fix '%s'", what, path,
                   block_ok ? "file or block device" : "regular file", key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_parent_dir (const char *what, const char *key, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The directory of the %s %s does not exist: create %s, or fix '%s'", what, path,
                   dir, key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_files (const SpiritVmSpec *spec, const SpiritProfile *profile, GError **error)
{
  if (spec->disk != NULL && !check_file ("disk", "disk", spec->disk, TRUE, error))
    return FALSE;
  for (guint i = 0; spec->cdroms[i] != NULL; i++)
    if (!check_file ("CD-ROM image", "cdrom", spec->cdroms[i], TRUE, error))
      return FALSE;
  if (spec->kernel != NULL && !check_file ("kernel", "kernel", spec->kernel, FALSE, error))
    return FALSE;
  if (spec->initrd != NULL && !check_file ("initrd", "initrd", spec->initrd, FALSE, error))
    return FALSE;
  if (spec->agent_socket != NULL
      && !check_parent_dir ("agent socket", "agent-socket", spec->agent_socket, error))
    return FALSE;
  if (spec->serial_log != NULL
      && !check_parent_dir ("serial log", "serial-log", spec->serial_log, error))
    return FALSE;
  if (profile->loader != NULL && !g_file_test (profile->loader, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The %s profile's firmware %s does not exist: install the ovmf package, or "
                   "set Loader= in /etc/spirit/profiles/%s.profile",
                   profile->name, profile->loader, profile->name);
      return FALSE;
    }
  if (profile->nvram_template != NULL
      && !g_file_test (profile->nvram_template, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The %s profile's UEFI variable template %s does not exist: install the ovmf "
                   "package, or set NvramTemplate= in /etc/spirit/profiles/%s.profile",
                   profile->name, profile->nvram_template, profile->name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_devices (const SpiritVmSpec *spec,
               const SpiritProfile *profile,
               const char *sysfs_root,
               GError **error)
{
  for (guint i = 0; spec->gpus[i] != NULL; i++)
    {
      g_autofree char *path = g_strconcat ("/sys/bus/pci/devices/", spec->gpus[i], NULL);
      if (!spirit_host_sysfs_exists (sysfs_root, path))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "This host has no PCI device %s: pick one from lspci -D, or leave it out "
                       "of 'gpus'",
                       spec->gpus[i]);
          return FALSE;
        }
    }
  if (spec->tpm == SPIRIT_CHOICE_YES)
    {
      g_autofree char *swtpm = g_find_program_in_path ("swtpm");
      if (swtpm == NULL)
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "A TPM needs swtpm, which is not installed: install the swtpm and "
                       "swtpm-tools packages, or set 'tpm' to false");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_vcpus (guint n_cpus, guint vcpus, GError **error)
{
  if (vcpus > n_cpus)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The VM asks for %u vCPUs and this host has %u online CPUs: ask for at most %u",
                   vcpus, n_cpus, n_cpus);
      return FALSE;
    }
  return TRUE;
}

/* The topology is needed for pinning. Without pinning only the CPU count is, and a sysfs tree
 * without CPU topology (a container, a test root made for other code) falls back to the
 * online count the C library reports. */
static gboolean
read_host_cpus (const char *sysfs_root,
                gboolean pinning,
                SpiritCpuTopology **topology,
                guint *n_cpus,
                GError **error)
{
  g_autoptr (GError) local_error = NULL;

  *topology = spirit_cpu_topology_read (sysfs_root, &local_error);
  if (*topology != NULL)
    {
      *n_cpus = spirit_cpu_topology_get_n_cpus (*topology);
      return TRUE;
    }
  if (pinning)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_debug ("%s: counting online CPUs instead", local_error->message);
  *n_cpus = (guint)MAX (1, sysconf (_SC_NPROCESSORS_ONLN));
  return TRUE;
}

GVirConfigDomain *
spirit_vm_plan (const SpiritVmSpec *spec,
                const char *const *profile_dirs,
                const char *sysfs_root,
                GError **error)
{
  g_autoptr (SpiritProfile) profile = NULL;
  g_autoptr (SpiritCpuTopology) topology = NULL;
  g_autoptr (SpiritCpuPinning) pinning = NULL;
  guint vcpus, n_cpus;
  guint64 memory_kib;

  g_return_val_if_fail (spec != NULL, NULL);

  profile = spirit_profile_load (spec->profile, profile_dirs, error);
  if (profile == NULL)
    return NULL;
  vcpus = spec->vcpus ? spec->vcpus : profile->vcpus;
  memory_kib = spec->memory_kib ? spec->memory_kib : profile->memory_kib;

  if (!read_host_cpus (sysfs_root, spec->pin != NULL, &topology, &n_cpus, error)
      || !check_vcpus (n_cpus, vcpus, error))
    return NULL;
  if (spec->pin != NULL)
    {
      pinning = spirit_cpu_pinning_compute (topology, vcpus, spec->pin, error);
      if (pinning == NULL)
        return NULL;
    }
  if (spec->hugepages
      && !spirit_hugepages_check (sysfs_root, memory_kib, spec->hugepage_kib, error))
    return NULL;
  if (!check_files (spec, profile, error) || !check_devices (spec, profile, sysfs_root, error))
    return NULL;
  return spirit_domain_build (spec, profile, pinning, error);
}

/* The page size of <memoryBacking><hugepages><page size unit='KiB'>, 0 without huge pages. */
static guint64
current_hugepage_kib (xmlNode *root)
{
  xmlNode *backing = spirit_xml_child (root, "memoryBacking");
  xmlNode *hugepages = backing ? spirit_xml_child (backing, "hugepages") : NULL;
  xmlNode *page = hugepages ? spirit_xml_child (hugepages, "page") : NULL;
  xmlChar *size;
  guint64 kib;

  if (hugepages == NULL)
    return 0;
  if (page == NULL)
    return SPIRIT_HUGEPAGE_2M_KIB;
  size = xmlGetProp (page, BAD_CAST "size");
  kib = size ? g_ascii_strtoull ((const char *)size, NULL, 10) : SPIRIT_HUGEPAGE_2M_KIB;
  xmlFree (size);
  return kib;
}

static guint
current_balloon_period (xmlNode *root)
{
  xmlNode *devices = spirit_xml_child (root, "devices");
  xmlNode *balloon = devices ? spirit_xml_child (devices, "memballoon") : NULL;
  xmlNode *stats = balloon ? spirit_xml_child (balloon, "stats") : NULL;
  xmlChar *period;
  guint value;

  if (stats == NULL)
    return 0;
  period = xmlGetProp (stats, BAD_CAST "period");
  value = period ? (guint)g_ascii_strtoull ((const char *)period, NULL, 10) : 0;
  xmlFree (period);
  return value;
}

GVirConfigDomain *
spirit_vm_plan_retune (GVirConfigDomain *current,
                       GVariant *options,
                       const char *sysfs_root,
                       GError **error)
{
  g_autoptr (SpiritVmSpec) spec = spirit_vm_spec_new (gvir_config_domain_get_name (current), NULL);
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (SpiritCpuTopology) topology = NULL;
  g_autoptr (SpiritCpuPinning) pinning = NULL;
  g_autoptr (GVariant) hugepages_given = NULL;
  g_autoptr (GVariant) pin_given = NULL;
  SpiritDomainTuning tuning = { 0 };
  xmlNode *root, *devices;
  guint n_cpus;
  guint64 current_page_kib;
  gboolean pinned;

  g_return_val_if_fail (GVIR_CONFIG_IS_DOMAIN (current), NULL);

  if (!spirit_vm_spec_update (spec, options, retune_options, error))
    return NULL;
  doc = spirit_domain_xml_parse (current, error);
  if (doc == NULL)
    return NULL;
  root = xmlDocGetRootElement (doc);
  devices = spirit_xml_child (root, "devices");
  pinned = spirit_xml_child (root, "cputune") != NULL;
  current_page_kib = current_hugepage_kib (root);
  hugepages_given = g_variant_lookup_value (options, "hugepages", G_VARIANT_TYPE_BOOLEAN);
  pin_given = g_variant_lookup_value (options, "pin", G_VARIANT_TYPE_STRING);

  tuning.vcpus = spec->vcpus ? spec->vcpus : (guint)gvir_config_domain_get_vcpus (current);
  tuning.memory_kib = spec->memory_kib ? spec->memory_kib : gvir_config_domain_get_memory (current);
  tuning.keep_current_memory = spec->memory_kib == 0;
  tuning.kvm = gvir_config_domain_get_virt_type (current) == GVIR_CONFIG_DOMAIN_VIRT_KVM;
  tuning.hugepages = hugepages_given ? spec->hugepages : current_page_kib != 0;
  tuning.hugepage_kib = hugepages_given    ? spec->hugepage_kib
                        : current_page_kib ? current_page_kib
                                           : SPIRIT_HUGEPAGE_2M_KIB;
  tuning.iommu = spec->iommu != SPIRIT_CHOICE_DEFAULT
                   ? spec->iommu == SPIRIT_CHOICE_YES
                   : devices != NULL && spirit_xml_child (devices, "iommu") != NULL;
  tuning.balloon_period
    = spec->balloon_period >= 0 ? (guint)spec->balloon_period : current_balloon_period (root);

  if (!read_host_cpus (sysfs_root, spec->pin != NULL, &topology, &n_cpus, error)
      || !check_vcpus (n_cpus, tuning.vcpus, error))
    return NULL;
  if (pin_given == NULL && pinned && spec->vcpus != 0
      && spec->vcpus != gvir_config_domain_get_vcpus (current))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The VM is pinned to host CPUs, and its vCPU count changes: pass 'pin' too "
                   "(\"auto\", a CPU list, or \"\" to unpin)");
      return NULL;
    }
  tuning.keep_pinning = pin_given == NULL && spec->vcpus == 0;
  if (spec->pin != NULL)
    {
      pinning = spirit_cpu_pinning_compute (topology, tuning.vcpus, spec->pin, error);
      if (pinning == NULL)
        return NULL;
    }
  tuning.pinning = pinning;
  if (tuning.hugepages && (hugepages_given != NULL || spec->memory_kib != 0)
      && !spirit_hugepages_check (sysfs_root, tuning.memory_kib, tuning.hugepage_kib, error))
    return NULL;
  return spirit_domain_retune (current, &tuning, error);
}
