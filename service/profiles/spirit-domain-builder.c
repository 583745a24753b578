/* spirit-domain-builder.c: SpiritVmSpec + SpiritProfile → GVirConfigDomain. */
#define G_LOG_DOMAIN "spirit-domain-builder"

#include "spirit-domain-builder.h"
#include "spirit-domain-tuning.h"
#include "spirit-domain-xml.h"
#include "spirit-profiles-private.h"
#include "spirit-error.h"

#include <stdio.h>

#define SPICE_AGENT_CHANNEL "com.redhat.spice.0"
/* Hyper-V's recommended spinlock retry count, as virt-manager and libvirt's docs use. */
#define HYPERV_SPINLOCK_RETRIES 8191

static guint64
resolved_memory (const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  return spec->memory_kib ? spec->memory_kib : profile->memory_kib;
}

static guint
resolved_vcpus (const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  return spec->vcpus ? spec->vcpus : profile->vcpus;
}

static gboolean
resolved_choice (SpiritChoice choice, gboolean profile_value)
{
  return choice == SPIRIT_CHOICE_DEFAULT ? profile_value : choice == SPIRIT_CHOICE_YES;
}

/* Tpm=auto: a TPM when swtpm is there to emulate it. */
gboolean
spirit_domain_build_wants_tpm (const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  g_autofree char *swtpm = NULL;

  if (spec->tpm != SPIRIT_CHOICE_DEFAULT)
    return spec->tpm == SPIRIT_CHOICE_YES;
  if (profile->tpm != SPIRIT_PROFILE_TPM_AUTO)
    return profile->tpm == SPIRIT_PROFILE_TPM_YES;
  swtpm = g_find_program_in_path ("swtpm");
  return swtpm != NULL;
}

static gboolean
check_request (const SpiritVmSpec *spec,
               const SpiritProfile *profile,
               const SpiritCpuPinning *pinning,
               GError **error)
{
  guint vcpus = resolved_vcpus (spec, profile);

  if (spec->kernel != NULL && !profile->direct_kernel_boot)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The %s profile does not boot a kernel directly: leave out 'kernel', "
                   "'initrd' and 'cmdline', or use a profile that allows it (linux)",
                   profile->name);
      return FALSE;
    }
  if (pinning != NULL && pinning->n_vcpus != vcpus)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The CPU pinning is for %u vCPUs, the VM has %u: compute it for %u",
                   pinning->n_vcpus, vcpus, vcpus);
      return FALSE;
    }
  if (resolved_choice (spec->iommu, profile->iommu) && !g_str_equal (profile->machine, "q35"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "A guest IOMMU needs a q35 machine and the %s profile uses %s: leave out "
                   "'iommu', or use a q35 profile",
                   profile->name, profile->machine);
      return FALSE;
    }
  return TRUE;
}

static void
build_os (GVirConfigDomain *domain, const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  g_autoptr (GVirConfigDomainOs) os = gvir_config_domain_os_new ();

  gvir_config_domain_os_set_os_type (os, GVIR_CONFIG_DOMAIN_OS_TYPE_HVM);
  gvir_config_domain_os_set_arch (os, profile->arch);
  gvir_config_domain_os_set_machine (os, profile->machine);
  if (profile->efi && profile->loader != NULL)
    gvir_config_domain_os_set_loader (os, profile->loader);
  else if (profile->efi)
    gvir_config_domain_os_set_firmware (os, GVIR_CONFIG_DOMAIN_OS_FIRMWARE_EFI);
  if (spec->kernel != NULL)
    {
      gvir_config_domain_os_set_kernel (os, spec->kernel);
      if (spec->initrd != NULL)
        gvir_config_domain_os_set_ramdisk (os, spec->initrd);
      if (spec->cmdline != NULL)
        gvir_config_domain_os_set_cmdline (os, spec->cmdline);
    }
  else
    {
      GList *boot = NULL;
      if (spec->disk != NULL)
        boot = g_list_append (boot, GINT_TO_POINTER (GVIR_CONFIG_DOMAIN_OS_BOOT_DEVICE_HD));
      if (spec->cdroms[0] != NULL)
        boot = g_list_append (boot, GINT_TO_POINTER (GVIR_CONFIG_DOMAIN_OS_BOOT_DEVICE_CDROM));
      gvir_config_domain_os_set_boot_devices (os, boot);
      g_list_free (boot);
    }
  gvir_config_domain_set_os (domain, os);
}

static void
build_features_and_clock (GVirConfigDomain *domain, const SpiritProfile *profile)
{
  g_autoptr (GPtrArray) features = g_ptr_array_new ();
  g_autoptr (GVirConfigDomainClock) klock = gvir_config_domain_clock_new ();

  for (guint i = 0; profile->features[i] != NULL; i++)
    g_ptr_array_add (features, profile->features[i]);
  if (profile->secure_boot)
    g_ptr_array_add (features, (gpointer) "smm");
  g_ptr_array_add (features, NULL);
  gvir_config_domain_set_features (domain, (GStrv)features->pdata);

  gvir_config_domain_clock_set_offset (
    klock, profile->localtime ? GVIR_CONFIG_DOMAIN_CLOCK_LOCALTIME : GVIR_CONFIG_DOMAIN_CLOCK_UTC);
  /* What Windows guests want (as virt-manager sets them): the RTC catches up, the PIT
   * delays, no HPET. The hypervclock timer is added with the enlightenments. */
  if (profile->hyperv[0] != NULL)
    {
      g_autoptr (GVirConfigDomainTimer) rtc
        = GVIR_CONFIG_DOMAIN_TIMER (gvir_config_domain_timer_rtc_new ());
      g_autoptr (GVirConfigDomainTimer) pit
        = GVIR_CONFIG_DOMAIN_TIMER (gvir_config_domain_timer_pit_new ());
      g_autoptr (GVirConfigDomainTimer) hpet
        = GVIR_CONFIG_DOMAIN_TIMER (gvir_config_domain_timer_hpet_new ());

      gvir_config_domain_timer_set_tick_policy (rtc, GVIR_CONFIG_DOMAIN_TIMER_TICK_POLICY_CATCHUP);
      gvir_config_domain_timer_set_tick_policy (pit, GVIR_CONFIG_DOMAIN_TIMER_TICK_POLICY_DELAY);
      gvir_config_domain_timer_set_present (hpet, FALSE);
      gvir_config_domain_clock_add_timer (klock, rtc);
      gvir_config_domain_clock_add_timer (klock, pit);
      gvir_config_domain_clock_add_timer (klock, hpet);
    }
  gvir_config_domain_set_clock (domain, klock);
}

/* qcow2 by its magic, else raw; a block device is always raw. A disk that does not exist yet
 * is taken as qcow2, the format Spirit would create. */
static GVirConfigDomainDiskFormat
disk_format (const char *path, gboolean *is_block)
{
  static const guchar qcow2_magic[4] = { 'Q', 'F', 'I', 0xfb };
  guchar magic[4] = { 0 };
  FILE *file;
  gsize got;

  *is_block = g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_REGULAR)
              && !g_file_test (path, G_FILE_TEST_IS_DIR);
  if (*is_block)
    return GVIR_CONFIG_DOMAIN_DISK_FORMAT_RAW;
  file = fopen (path, "rbe");
  if (file == NULL)
    return GVIR_CONFIG_DOMAIN_DISK_FORMAT_QCOW2;
  got = fread (magic, 1, sizeof magic, file);
  fclose (file);
  return got == sizeof magic && memcmp (magic, qcow2_magic, sizeof magic) == 0
           ? GVIR_CONFIG_DOMAIN_DISK_FORMAT_QCOW2
           : GVIR_CONFIG_DOMAIN_DISK_FORMAT_RAW;
}

static GVirConfigDomainDiskCacheType
cache_type (const char *cache)
{
  if (cache == NULL)
    return GVIR_CONFIG_DOMAIN_DISK_CACHE_DEFAULT;
  if (g_str_equal (cache, "none"))
    return GVIR_CONFIG_DOMAIN_DISK_CACHE_NONE;
  if (g_str_equal (cache, "writeback"))
    return GVIR_CONFIG_DOMAIN_DISK_CACHE_WRITEBACK;
  if (g_str_equal (cache, "writethrough"))
    return GVIR_CONFIG_DOMAIN_DISK_CACHE_WRITETHROUGH;
  if (g_str_equal (cache, "directsync"))
    return GVIR_CONFIG_DOMAIN_DISK_CACHE_DIRECTSYNC;
  return GVIR_CONFIG_DOMAIN_DISK_CACHE_UNSAFE;
}

static void
add_system_disk (GVirConfigDomain *domain, const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  g_autoptr (GVirConfigDomainDisk) disk = gvir_config_domain_disk_new ();
  g_autoptr (GVirConfigDomainDiskDriver) driver = gvir_config_domain_disk_driver_new ();
  gboolean virtio = g_str_equal (profile->disk_bus, "virtio");
  gboolean is_block;
  GVirConfigDomainDiskFormat format = disk_format (spec->disk, &is_block);

  gvir_config_domain_disk_set_type (disk, is_block ? GVIR_CONFIG_DOMAIN_DISK_BLOCK
                                                   : GVIR_CONFIG_DOMAIN_DISK_FILE);
  gvir_config_domain_disk_set_guest_device_type (disk, GVIR_CONFIG_DOMAIN_DISK_GUEST_DEVICE_DISK);
  gvir_config_domain_disk_set_source (disk, spec->disk);
  gvir_config_domain_disk_set_target_bus (disk, virtio ? GVIR_CONFIG_DOMAIN_DISK_BUS_VIRTIO
                                                       : GVIR_CONFIG_DOMAIN_DISK_BUS_SATA);
  gvir_config_domain_disk_set_target_dev (disk, virtio ? "vda" : "sda");
  gvir_config_domain_disk_driver_set_name (driver, "qemu");
  gvir_config_domain_disk_driver_set_format (driver, format);
  if (profile->disk_cache != NULL)
    gvir_config_domain_disk_driver_set_cache (driver, cache_type (profile->disk_cache));
  if (profile->disk_io != NULL)
    gvir_config_domain_disk_driver_set_io_policy (
      driver, g_str_equal (profile->disk_io, "native")
                ? GVIR_CONFIG_DOMAIN_DISK_DRIVER_IO_POLICY_NATIVE
                : GVIR_CONFIG_DOMAIN_DISK_DRIVER_IO_POLICY_THREADS);
  gvir_config_domain_disk_set_driver (disk, driver);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (disk));
}

/* SATA CD-ROMs after the system disk: sda.. or, when the disk itself is SATA, sdb.. */
static void
add_cdroms (GVirConfigDomain *domain, const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  guint first = spec->disk != NULL && g_str_equal (profile->disk_bus, "sata") ? 1 : 0;

  for (guint i = 0; spec->cdroms[i] != NULL; i++)
    {
      g_autoptr (GVirConfigDomainDisk) cdrom = gvir_config_domain_disk_new ();
      g_autoptr (GVirConfigDomainDiskDriver) driver = gvir_config_domain_disk_driver_new ();
      char dev[] = "sdX";

      dev[2] = (char)('a' + first + i);
      gvir_config_domain_disk_set_type (cdrom, GVIR_CONFIG_DOMAIN_DISK_FILE);
      gvir_config_domain_disk_set_guest_device_type (cdrom,
                                                     GVIR_CONFIG_DOMAIN_DISK_GUEST_DEVICE_CDROM);
      gvir_config_domain_disk_set_source (cdrom, spec->cdroms[i]);
      gvir_config_domain_disk_set_target_bus (cdrom, GVIR_CONFIG_DOMAIN_DISK_BUS_SATA);
      gvir_config_domain_disk_set_target_dev (cdrom, dev);
      gvir_config_domain_disk_set_readonly (cdrom, TRUE);
      gvir_config_domain_disk_driver_set_name (driver, "qemu");
      gvir_config_domain_disk_driver_set_format (driver, GVIR_CONFIG_DOMAIN_DISK_FORMAT_RAW);
      gvir_config_domain_disk_set_driver (cdrom, driver);
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (cdrom));
    }
}

static void
add_network (GVirConfigDomain *domain, const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  const char *network = spec->network != NULL ? spec->network : profile->network;
  g_autoptr (GVirConfigDomainInterfaceNetwork) nic = NULL;

  if (network == NULL || network[0] == '\0')
    return;
  nic = gvir_config_domain_interface_network_new ();
  gvir_config_domain_interface_network_set_source (nic, network);
  gvir_config_domain_interface_set_model (GVIR_CONFIG_DOMAIN_INTERFACE (nic), profile->net_model);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (nic));
}

static void
add_channel (GVirConfigDomain *domain, const char *name, GVirConfigDomainChardevSource *source)
{
  g_autoptr (GVirConfigDomainChannel) channel = gvir_config_domain_channel_new ();

  gvir_config_domain_channel_set_target_type (channel, GVIR_CONFIG_DOMAIN_CHANNEL_TARGET_VIRTIO);
  gvir_config_domain_channel_set_target_name (channel, name);
  gvir_config_domain_chardev_set_source (GVIR_CONFIG_DOMAIN_CHARDEV (channel), source);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (channel));
}

static GVirConfigDomainVideoModel
video_model (const char *video)
{
  if (g_str_equal (video, "qxl"))
    return GVIR_CONFIG_DOMAIN_VIDEO_MODEL_QXL;
  if (g_str_equal (video, "vga"))
    return GVIR_CONFIG_DOMAIN_VIDEO_MODEL_VGA;
  return GVIR_CONFIG_DOMAIN_VIDEO_MODEL_VIRTIO;
}

static void
add_display (GVirConfigDomain *domain, const SpiritVmSpec *spec, const SpiritProfile *profile)
{
  const char *graphics = spec->graphics != NULL ? spec->graphics : profile->graphics;
  g_autoptr (GVirConfigDomainGraphics) display = NULL;

  if (g_str_equal (graphics, "none"))
    return;
  if (g_str_equal (graphics, "spice"))
    {
      GVirConfigDomainGraphicsSpice *spice = gvir_config_domain_graphics_spice_new ();
      g_autoptr (GVirConfigDomainChardevSource) vmc = NULL;

      gvir_config_domain_graphics_spice_set_autoport (spice, TRUE);
      display = GVIR_CONFIG_DOMAIN_GRAPHICS (spice);
      /* The SPICE agent's channel: clipboard and display resizing in the guest. */
      vmc = GVIR_CONFIG_DOMAIN_CHARDEV_SOURCE (gvir_config_domain_chardev_source_spicevmc_new ());
      add_channel (domain, SPICE_AGENT_CHANNEL, vmc);
    }
  else
    {
      GVirConfigDomainGraphicsVnc *vnc = gvir_config_domain_graphics_vnc_new ();
      gvir_config_domain_graphics_vnc_set_autoport (vnc, TRUE);
      display = GVIR_CONFIG_DOMAIN_GRAPHICS (vnc);
    }
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (display));

  if (!g_str_equal (profile->video, "none"))
    {
      g_autoptr (GVirConfigDomainVideo) video = gvir_config_domain_video_new ();
      gvir_config_domain_video_set_model (video, video_model (profile->video));
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (video));
    }
  if (profile->tablet)
    {
      g_autoptr (GVirConfigDomainInput) tablet = gvir_config_domain_input_new ();
      gvir_config_domain_input_set_device_type (tablet, GVIR_CONFIG_DOMAIN_INPUT_DEVICE_TABLET);
      gvir_config_domain_input_set_bus (tablet, GVIR_CONFIG_DOMAIN_INPUT_BUS_USB);
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (tablet));
    }
}

static gboolean
add_hostdevs (GVirConfigDomain *domain, const SpiritVmSpec *spec, GError **error)
{
  for (guint i = 0; spec->gpus[i] != NULL; i++)
    {
      g_autoptr (GVirConfigDomainHostdevPci) hostdev = gvir_config_domain_hostdev_pci_new ();
      g_autoptr (GVirConfigDomainAddressPci) address = gvir_config_domain_address_pci_new ();
      guint pci_domain, bus, slot, function;

      if (sscanf (spec->gpus[i], "%4x:%2x:%2x.%1x", &pci_domain, &bus, &slot, &function) != 4)
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "\"%s\" is not a PCI address: write it as in lspci -D, e.g. 0000:01:00.0",
                       spec->gpus[i]);
          return FALSE;
        }
      gvir_config_domain_address_pci_set_domain (address, (guint16)pci_domain);
      gvir_config_domain_address_pci_set_bus (address, (guchar)bus);
      gvir_config_domain_address_pci_set_slot (address, (guchar)slot);
      gvir_config_domain_address_pci_set_function (address, (guchar)function);
      gvir_config_domain_hostdev_pci_set_address (hostdev, address);
      /* managed: libvirt binds the device to vfio-pci on start and gives it back on stop. */
      gvir_config_domain_hostdev_pci_set_managed (hostdev, TRUE);
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (hostdev));
    }
  return TRUE;
}

static GVirConfigDomain *
build_with_gconfig (const SpiritVmSpec *spec,
                    const SpiritProfile *profile,
                    const SpiritDomainTuning *tuning,
                    GError **error)
{
  g_autoptr (GVirConfigDomain) domain = gvir_config_domain_new ();
  g_autoptr (GVirConfigDomainChardevSource) agent = NULL;
  g_autoptr (GVirConfigDomainMemballoon) balloon = gvir_config_domain_memballoon_new ();
  g_autoptr (GVirConfigDomainCpu) cpu = gvir_config_domain_cpu_new ();
  g_autofree char *description
    = g_strdup_printf ("Created by Spirit with the %s profile", profile->name);

  gvir_config_domain_set_virt_type (domain, spec->kvm ? GVIR_CONFIG_DOMAIN_VIRT_KVM
                                                      : GVIR_CONFIG_DOMAIN_VIRT_QEMU);
  gvir_config_domain_set_name (domain, spec->name);
  gvir_config_domain_set_description (domain, description);
  build_os (domain, spec, profile);
  build_features_and_clock (domain, profile);
  /* TCG cannot pass the host CPU through; it keeps QEMU's default model. */
  if (spec->kvm)
    gvir_config_domain_cpu_set_mode (cpu, GVIR_CONFIG_DOMAIN_CPU_MODE_HOST_PASSTHROUGH);
  gvir_config_domain_set_cpu (domain, cpu);
  gvir_config_domain_set_lifecycle (domain, GVIR_CONFIG_DOMAIN_LIFECYCLE_ON_POWEROFF,
                                    GVIR_CONFIG_DOMAIN_LIFECYCLE_DESTROY);
  gvir_config_domain_set_lifecycle (domain, GVIR_CONFIG_DOMAIN_LIFECYCLE_ON_REBOOT,
                                    GVIR_CONFIG_DOMAIN_LIFECYCLE_RESTART);
  gvir_config_domain_set_lifecycle (domain, GVIR_CONFIG_DOMAIN_LIFECYCLE_ON_CRASH,
                                    GVIR_CONFIG_DOMAIN_LIFECYCLE_DESTROY);

  if (spec->disk != NULL)
    add_system_disk (domain, spec, profile);
  add_cdroms (domain, spec, profile);
  add_network (domain, spec, profile);
  add_display (domain, spec, profile);
  if (!add_hostdevs (domain, spec, error))
    return NULL;
  if (spec->serial_log == NULL)
    {
      g_autoptr (GVirConfigDomainSerial) serial = gvir_config_domain_serial_new ();
      g_autoptr (GVirConfigDomainChardevSource) pty
        = GVIR_CONFIG_DOMAIN_CHARDEV_SOURCE (gvir_config_domain_chardev_source_pty_new ());
      gvir_config_domain_chardev_set_source (GVIR_CONFIG_DOMAIN_CHARDEV (serial), pty);
      gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (serial));
    }
  /* The unix source gets its mode and path in add_xml_extras(): libvirt-gconfig has no setter. */
  agent = GVIR_CONFIG_DOMAIN_CHARDEV_SOURCE (gvir_config_domain_chardev_source_unix_new ());
  add_channel (domain, SPIRIT_AGENT_CHANNEL, agent);
  gvir_config_domain_memballoon_set_model (balloon, GVIR_CONFIG_DOMAIN_MEMBALLOON_MODEL_VIRTIO);
  gvir_config_domain_add_device (domain, GVIR_CONFIG_DOMAIN_DEVICE (balloon));

  spirit_domain_tuning_apply_config (domain, tuning);
  return g_steal_pointer (&domain);
}

/* <loader readonly type secure>, <nvram template>, or firmware features for autoselection. */
static void
add_firmware (xmlNode *root, const SpiritProfile *profile)
{
  xmlNode *os = spirit_xml_ensure_child (root, "os");
  xmlNode *loader = spirit_xml_child (os, "loader");

  if (!profile->efi)
    return;
  if (loader != NULL)
    {
      spirit_xml_set (loader, "readonly", "yes");
      spirit_xml_set (loader, "type", "pflash");
      spirit_xml_set (loader, "secure", profile->secure_boot ? "yes" : "no");
    }
  else
    {
      xmlNode *firmware = spirit_xml_add_child (os, "firmware");
      xmlNode *feature = spirit_xml_add_child (firmware, "feature");
      spirit_xml_set (feature, "enabled", profile->secure_boot ? "yes" : "no");
      spirit_xml_set (feature, "name", "secure-boot");
    }
  if (profile->nvram_template != NULL)
    spirit_xml_set (spirit_xml_add_child (os, "nvram"), "template", profile->nvram_template);
}

static void
add_hyperv (xmlNode *root, const SpiritProfile *profile)
{
  xmlNode *features = spirit_xml_ensure_child (root, "features");
  xmlNode *smm = spirit_xml_child (features, "smm");
  xmlNode *hyperv, *timer;

  if (smm != NULL)
    spirit_xml_set (smm, "state", "on");
  if (profile->hyperv[0] == NULL)
    return;
  hyperv = spirit_xml_add_child (features, "hyperv");
  spirit_xml_set (hyperv, "mode", "custom");
  for (guint i = 0; profile->hyperv[i] != NULL; i++)
    {
      xmlNode *item = spirit_xml_add_child (hyperv, profile->hyperv[i]);
      spirit_xml_set (item, "state", "on");
      if (g_str_equal (profile->hyperv[i], "spinlocks"))
        spirit_xml_set_uint (item, "retries", HYPERV_SPINLOCK_RETRIES);
    }
  timer = spirit_xml_add_child (spirit_xml_ensure_child (root, "clock"), "timer");
  spirit_xml_set (timer, "name", "hypervclock");
  spirit_xml_set (timer, "present", "yes");
}

static xmlNode *
find_channel (xmlNode *devices, const char *name)
{
  for (xmlNode *node = devices->children; node != NULL; node = node->next)
    {
      xmlNode *target;
      xmlChar *target_name = NULL;
      gboolean found;

      if (node->type != XML_ELEMENT_NODE || !xmlStrEqual (node->name, BAD_CAST "channel"))
        continue;
      target = spirit_xml_child (node, "target");
      if (target != NULL)
        target_name = xmlGetProp (target, BAD_CAST "name");
      found = target_name != NULL && xmlStrEqual (target_name, BAD_CAST name);
      xmlFree (target_name);
      if (found)
        return node;
    }
  return NULL;
}

static void
add_devices (xmlNode *root, const SpiritVmSpec *spec, gboolean tpm)
{
  xmlNode *devices = spirit_xml_ensure_child (root, "devices");
  xmlNode *channel = find_channel (devices, SPIRIT_AGENT_CHANNEL);
  xmlNode *source;

  g_assert (channel != NULL);
  spirit_xml_remove_children (channel, "source");
  source = xmlNewNode (NULL, BAD_CAST "source");
  xmlAddPrevSibling (spirit_xml_child (channel, "target"), source);
  spirit_xml_set (source, "mode", "bind");
  /* Without a path libvirt makes one under its channel directory. */
  if (spec->agent_socket != NULL)
    spirit_xml_set (source, "path", spec->agent_socket);

  if (spec->serial_log != NULL)
    {
      xmlNode *serial = spirit_xml_add_child (devices, "serial");
      xmlNode *file = spirit_xml_add_child (serial, "source");

      spirit_xml_set (serial, "type", "file");
      spirit_xml_set (file, "path", spec->serial_log);
      spirit_xml_set (file, "append", "on");
      spirit_xml_set_uint (spirit_xml_add_child (serial, "target"), "port", 0);
    }
  if (tpm)
    {
      xmlNode *node = spirit_xml_add_child (devices, "tpm");
      xmlNode *backend = spirit_xml_add_child (node, "backend");

      spirit_xml_set (node, "model", "tpm-crb");
      spirit_xml_set (backend, "type", "emulator");
      spirit_xml_set (backend, "version", "2.0");
    }
}

GVirConfigDomain *
spirit_domain_build (const SpiritVmSpec *spec,
                     const SpiritProfile *profile,
                     const SpiritCpuPinning *pinning,
                     GError **error)
{
  SpiritDomainTuning tuning = { 0 };
  g_autoptr (GVirConfigDomain) base = NULL;
  g_autoptr (GVirConfigDomain) domain = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  xmlNode *root;

  g_return_val_if_fail (spec != NULL && profile != NULL, NULL);

  if (!check_request (spec, profile, pinning, error))
    return NULL;
  tuning.vcpus = resolved_vcpus (spec, profile);
  tuning.memory_kib = resolved_memory (spec, profile);
  tuning.kvm = spec->kvm;
  tuning.hugepages = spec->hugepages;
  tuning.hugepage_kib = spec->hugepage_kib;
  tuning.pinning = pinning;
  tuning.iommu = resolved_choice (spec->iommu, profile->iommu);
  tuning.balloon_period
    = spec->balloon_period >= 0 ? (guint)spec->balloon_period : profile->balloon_period;

  base = build_with_gconfig (spec, profile, &tuning, error);
  if (base == NULL)
    return NULL;
  doc = spirit_domain_xml_parse (base, error);
  if (doc == NULL)
    return NULL;
  root = xmlDocGetRootElement (doc);
  add_firmware (root, profile);
  add_hyperv (root, profile);
  add_devices (root, spec, spirit_domain_build_wants_tpm (spec, profile));
  spirit_domain_tuning_apply_xml (root, &tuning);

  domain = spirit_domain_xml_finish (doc, error);
  if (domain == NULL || !spirit_domain_xml_validate (domain, error))
    return NULL;
  return g_steal_pointer (&domain);
}
