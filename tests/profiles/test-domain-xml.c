/* test-domain-xml.c: each profile with several tuning combinations, through spirit_vm_plan()
 * on a fake host (4 cores/8 threads, 2 MB and 1 GB pools, hugetlbfs mounts, a PCI GPU): the
 * XML passes virt-xml-validate, libvirt's test driver defines it, and XPath finds the expected
 * elements. Also the host checks that refuse a request, and editing a VM's tuning. */
#define G_LOG_DOMAIN "test-domain-xml"

#include "domain-check.h"
#include "fake-host.h"
#include "spirit-domain-builder.h"
#include "spirit-profiles-private.h"
#include "spirit-vm-plan.h"
#include "spirit-error.h"

#include <glib/gstdio.h>

#define TEST_URI "test:///default"
#define GPU "0000:01:00.0"

static FakeHost *host;  /* the fake sysfs */
static FakeHost *files; /* disk images, kernel, ISO */

static const char *const *
profile_dirs (void)
{
  static const char *dirs[2];

  dirs[0] = g_getenv ("SPIRIT_TEST_PROFILES_DIR");
  g_assert_nonnull (dirs[0]);
  return dirs;
}

/* "{'disk': <'@/disk.qcow2'>}": a leading '@' in a path is the files directory. */
static GVariant *
options_parse (const char *text)
{
  g_autofree char *expanded = NULL;
  g_auto (GStrv) parts = g_strsplit (text, "'@", -1);
  g_autofree char *prefix = g_strconcat ("'", files->root, NULL);
  g_autoptr (GError) error = NULL;
  GVariant *value;

  expanded = g_strjoinv (prefix, parts);
  value = g_variant_parse (G_VARIANT_TYPE_VARDICT, expanded, NULL, NULL, &error);
  g_assert_no_error (error);
  return g_variant_ref_sink (value);
}

static GVirConfigDomain *
plan (const char *name, const char *text, GError **error)
{
  g_autoptr (GVariant) options = options_parse (text);
  g_autoptr (SpiritVmSpec) spec = spirit_vm_spec_from_variant (name, options, error);

  if (spec == NULL)
    return NULL;
  return spirit_vm_plan (spec, profile_dirs (), host->root, error);
}

/* Planned, valid by virt-xml-validate, defined by the test driver; returned parsed. */
static xmlDoc *
plan_ok (const char *name, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVirConfigDomain) domain = plan (name, text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (domain);
  domain_check_validate (domain);
  domain_check_define (TEST_URI, domain);
  return domain_check_parse (domain);
}

static void
plan_refused (const char *text, const char *word)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVirConfigDomain) domain = plan ("refused", text, &error);

  g_assert_null (domain);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s: %s", text, error->message);
  if (strstr (error->message, word) == NULL)
    g_error ("\"%s\" not in: %s", word, error->message);
}

static void
assert_common (xmlDoc *doc)
{
  /* always: q35, the spirit.0 channel on a unix socket the host listens on, a balloon */
  domain_check_assert_string (doc, "/domain/os/type/@machine", "q35");
  domain_check_assert_string (doc, "/domain/os/type/@arch", "x86_64");
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/channel[@type='unix']"
                                            "[target/@type='virtio'][target/@name='spirit.0']"
                                            "[source/@mode='bind']"),
                   ==, 1);
  domain_check_assert_string (doc, "/domain/devices/memballoon/@model", "virtio");
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/memballoon"), ==, 1);
}

static void
test_linux_tcg_kernel (void)
{
  g_autoptr (xmlDoc) doc = plan_ok (
    "linux-tcg",
    "{'profile': <'linux'>, 'virt-type': <'qemu'>, 'kernel': <'@/vmlinuz'>, 'initrd': "
    "<'@/initrd.gz'>, 'cmdline': <'console=ttyS0 quiet'>, 'memory': <uint64 268435456>,"
    " 'cpus': <uint32 1>, 'agent-socket': <'@/agent.sock'>, 'serial-log': <'@/console.log'>,"
    " 'network': <''>, 'graphics': <'none'>}");
  g_autofree char *kernel = g_strconcat (files->root, "/vmlinuz", NULL);
  g_autofree char *socket = g_strconcat (files->root, "/agent.sock", NULL);
  g_autofree char *log = g_strconcat (files->root, "/console.log", NULL);

  assert_common (doc);
  domain_check_assert_string (doc, "/domain/@type", "qemu");
  domain_check_assert_string (doc, "/domain/memory", "262144");
  domain_check_assert_string (doc, "/domain/memory/@unit", "KiB");
  domain_check_assert_string (doc, "/domain/vcpu", "1");
  domain_check_assert_string (doc, "/domain/os/kernel", kernel);
  g_assert_cmpint (domain_check_count (doc, "/domain/os/initrd"), ==, 1);
  domain_check_assert_string (doc, "/domain/os/cmdline", "console=ttyS0 quiet");
  domain_check_assert_string (doc, "/domain/devices/channel[target/@name='spirit.0']/source/@path",
                              socket);
  domain_check_assert_string (doc, "/domain/devices/serial[@type='file']/source/@path", log);
  domain_check_assert_string (doc, "/domain/devices/memballoon/stats/@period", "5");
  /* TCG: QEMU's CPU model, the topology still said */
  g_assert_cmpint (domain_check_count (doc, "/domain/cpu/@mode"), ==, 0);
  domain_check_assert_string (doc, "/domain/cpu/topology/@cores", "1");
  /* nothing that was not asked for */
  g_assert_cmpint (domain_check_count (doc, "/domain/cputune"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/memoryBacking"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/iommu"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/interface"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/graphics"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/disk"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/os/loader"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/features/hyperv"), ==, 0);
}

static void
test_linux_defaults (void)
{
  g_autoptr (xmlDoc) doc
    = plan_ok ("linux-defaults", "{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>}");

  assert_common (doc);
  domain_check_assert_string (doc, "/domain/@type", "kvm");
  domain_check_assert_string (doc, "/domain/cpu/@mode", "host-passthrough");
  /* the profile's memory and vCPUs: 2048 MiB, 2 */
  domain_check_assert_string (doc, "/domain/memory", "2097152");
  domain_check_assert_string (doc, "/domain/currentMemory", "2097152");
  domain_check_assert_string (doc, "/domain/vcpu", "2");
  domain_check_assert_string (doc, "/domain/cpu/topology/@sockets", "1");
  domain_check_assert_string (doc, "/domain/cpu/topology/@cores", "2");
  domain_check_assert_string (doc, "/domain/cpu/topology/@threads", "1");
  /* virtio everything */
  domain_check_assert_string (doc, "/domain/devices/disk[@device='disk']/target/@bus", "virtio");
  domain_check_assert_string (doc, "/domain/devices/disk[@device='disk']/target/@dev", "vda");
  domain_check_assert_string (doc, "/domain/devices/disk[@device='disk']/driver/@type", "qcow2");
  domain_check_assert_string (doc, "/domain/devices/interface[@type='network']/model/@type",
                              "virtio");
  domain_check_assert_string (doc, "/domain/devices/interface/source/@network", "default");
  domain_check_assert_string (doc, "/domain/devices/video/model/@type", "virtio");
  domain_check_assert_string (doc, "/domain/devices/graphics/@type", "spice");
  g_assert_cmpint (
    domain_check_count (doc, "/domain/devices/channel[target/@name='com.redhat.spice.0']"), ==, 1);
  /* no agent-socket given: libvirt picks the path */
  g_assert_cmpint (
    domain_check_count (doc, "/domain/devices/channel[target/@name='spirit.0']/source/@path"), ==,
    0);
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/serial[@type='pty']"), ==, 1);
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/tpm"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/features/acpi"), ==, 1);
  domain_check_assert_string (doc, "/domain/clock/@offset", "utc");
  domain_check_assert_string (doc, "/domain/os/boot/@dev", "hd");
}

/* Every tuning at once: pinning, 2 MB pages, IOMMU under KVM, a raw disk, balloon period. */
static void
test_linux_tuned (void)
{
  g_autoptr (xmlDoc) doc = plan_ok (
    "linux-tuned",
    "{'profile': <'linux'>, 'disk': <'@/disk.raw'>, 'cpus': <uint32 4>,"
    " 'memory': <uint64 4294967296>, 'pin': <'auto'>, 'hugepages': <true>, 'iommu': <true>,"
    " 'balloon-period': <uint32 10>}");

  assert_common (doc);
  g_assert_cmpint (domain_check_count (doc, "/domain/cputune/vcpupin"), ==, 4);
  /* host core (0,4); guest (1,5) (2,6); siblings adjacent */
  domain_check_assert_string (doc, "/domain/cputune/vcpupin[@vcpu='0']/@cpuset", "1");
  domain_check_assert_string (doc, "/domain/cputune/vcpupin[@vcpu='1']/@cpuset", "5");
  domain_check_assert_string (doc, "/domain/cputune/vcpupin[@vcpu='2']/@cpuset", "2");
  domain_check_assert_string (doc, "/domain/cputune/vcpupin[@vcpu='3']/@cpuset", "6");
  domain_check_assert_string (doc, "/domain/cputune/emulatorpin/@cpuset", "0,3,4,7");
  domain_check_assert_string (doc, "/domain/cpu/topology/@sockets", "1");
  domain_check_assert_string (doc, "/domain/cpu/topology/@cores", "2");
  domain_check_assert_string (doc, "/domain/cpu/topology/@threads", "2");
  domain_check_assert_string (doc, "/domain/memoryBacking/hugepages/page/@size", "2048");
  domain_check_assert_string (doc, "/domain/memoryBacking/hugepages/page/@unit", "KiB");
  domain_check_assert_string (doc, "/domain/devices/iommu/@model", "intel");
  domain_check_assert_string (doc, "/domain/devices/iommu/driver/@intremap", "on");
  domain_check_assert_string (doc, "/domain/features/ioapic/@driver", "qemu");
  domain_check_assert_string (doc, "/domain/devices/memballoon/stats/@period", "10");
  domain_check_assert_string (doc, "/domain/devices/disk/driver/@type", "raw");
}

/* GPU passthrough with the IOMMU: caching mode for VFIO; an explicit list; no balloon stats. */
static void
test_linux_gpu (void)
{
  g_autoptr (xmlDoc) doc = plan_ok (
    "linux-gpu",
    "{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'cpus': <uint32 6>, 'pin': <'1-3,5-7'>,"
    " 'gpus': <['" GPU "']>, 'iommu': <true>, 'balloon-period': <uint32 0>}");

  assert_common (doc);
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/hostdev[@type='pci'][@managed='yes']"),
                   ==, 1);
  domain_check_assert_string (doc, "/domain/devices/hostdev/source/address/@bus", "0x01");
  domain_check_assert_string (doc, "/domain/devices/hostdev/source/address/@slot", "0x00");
  domain_check_assert_string (doc, "/domain/devices/iommu/driver/@caching_mode", "on");
  g_assert_cmpint (domain_check_count (doc, "/domain/cputune/vcpupin"), ==, 6);
  domain_check_assert_string (doc, "/domain/cputune/emulatorpin/@cpuset", "0,4");
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/memballoon/stats"), ==, 0);
}

static void
test_windows_defaults (void)
{
  g_autoptr (xmlDoc) doc
    = plan_ok ("windows-defaults", "{'profile': <'windows'>, 'disk': <'@/disk.qcow2'>, 'cdrom': "
                                   "<['@/install.iso', '@/virtio-win.iso']>,"
                                   " 'cpus': <uint32 4>, 'memory': <uint64 4294967296>}");

  assert_common (doc);
  domain_check_assert_string (doc, "/domain/@type", "kvm");
  /* OVMF with Secure Boot: pflash loader, NVRAM from the template, SMM */
  domain_check_assert_string (doc, "/domain/os/loader", "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
  domain_check_assert_string (doc, "/domain/os/loader/@type", "pflash");
  domain_check_assert_string (doc, "/domain/os/loader/@readonly", "yes");
  domain_check_assert_string (doc, "/domain/os/loader/@secure", "yes");
  domain_check_assert_string (doc, "/domain/os/nvram/@template",
                              "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
  domain_check_assert_string (doc, "/domain/features/smm/@state", "on");
  /* Hyper-V enlightenments */
  g_assert_cmpint (domain_check_count (doc, "/domain/features/hyperv/*[@state='on']"), ==, 9);
  g_assert_cmpint (domain_check_count (doc, "/domain/features/hyperv/relaxed"), ==, 1);
  g_assert_cmpint (domain_check_count (doc, "/domain/features/hyperv/synic"), ==, 1);
  g_assert_cmpint (domain_check_count (doc, "/domain/features/hyperv/stimer"), ==, 1);
  domain_check_assert_string (doc, "/domain/features/hyperv/spinlocks/@retries", "8191");
  domain_check_assert_string (doc, "/domain/clock/@offset", "localtime");
  g_assert_cmpint (
    domain_check_count (doc, "/domain/clock/timer[@name='hypervclock'][@present='yes']"), ==, 1);
  g_assert_cmpint (domain_check_count (doc, "/domain/clock/timer[@name='hpet'][@present='no']"), ==,
                   1);
  /* virtio disk tuned for a desktop, virtio net, two SATA CD-ROMs after it */
  domain_check_assert_string (doc, "/domain/devices/disk[@device='disk']/target/@bus", "virtio");
  domain_check_assert_string (doc, "/domain/devices/disk[@device='disk']/driver/@cache", "none");
  domain_check_assert_string (doc, "/domain/devices/disk[@device='disk']/driver/@io", "native");
  g_assert_cmpint (
    domain_check_count (doc, "/domain/devices/disk[@device='cdrom'][target/@bus='sata'][readonly]"),
    ==, 2);
  domain_check_assert_string (doc, "/domain/devices/disk[@device='cdrom'][2]/target/@dev", "sdb");
  g_assert_cmpint (domain_check_count (doc, "/domain/os/boot"), ==, 2);
  domain_check_assert_string (doc, "/domain/devices/interface/model/@type", "virtio");
  domain_check_assert_string (doc, "/domain/devices/video/model/@type", "qxl");
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/input[@type='tablet'][@bus='usb']"),
                   ==, 1);
  /* Tpm=auto and swtpm is installed (tools/install-deps.sh) */
  domain_check_assert_string (doc, "/domain/devices/tpm/@model", "tpm-crb");
  domain_check_assert_string (doc, "/domain/devices/tpm/backend/@type", "emulator");
  domain_check_assert_string (doc, "/domain/devices/tpm/backend/@version", "2.0");
}

/* 6 pinned vCPUs from an explicit list, 1 GB pages, no TPM, VNC. */
static void
test_windows_tuned (void)
{
  g_autoptr (xmlDoc) doc = plan_ok (
    "windows-tuned", "{'profile': <'windows'>, 'disk': <'@/disk.qcow2'>, 'cpus': <uint32 6>,"
                     " 'memory': <uint64 8589934592>, 'pin': <'1,5,2,6,3,7'>, 'hugepages': <true>,"
                     " 'hugepage-size': <uint64 1073741824>, 'tpm': <false>, 'graphics': <'vnc'>,"
                     " 'iommu': <true>, 'balloon-period': <uint32 2>}");

  assert_common (doc);
  g_assert_cmpint (domain_check_count (doc, "/domain/cputune/vcpupin"), ==, 6);
  domain_check_assert_string (doc, "/domain/cputune/emulatorpin/@cpuset", "0,4");
  domain_check_assert_string (doc, "/domain/cpu/topology/@cores", "3");
  domain_check_assert_string (doc, "/domain/cpu/topology/@threads", "2");
  domain_check_assert_string (doc, "/domain/memoryBacking/hugepages/page/@size", "1048576");
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/tpm"), ==, 0);
  domain_check_assert_string (doc, "/domain/devices/graphics/@type", "vnc");
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/channel[@type='spicevmc']"), ==, 0);
  domain_check_assert_string (doc, "/domain/devices/iommu/@model", "intel");
  domain_check_assert_string (doc, "/domain/devices/memballoon/stats/@period", "2");
  g_assert_cmpint (domain_check_count (doc, "/domain/features/hyperv"), ==, 1);
}

/* The windows profile under TCG (what this machine's real-QEMU tests use). */
static void
test_windows_tcg (void)
{
  g_autoptr (xmlDoc) doc = plan_ok (
    "windows-tcg",
    "{'profile': <'windows'>, 'virt-type': <'qemu'>, 'cdrom': <['@/install.iso']>,"
    " 'cpus': <uint32 2>, 'memory': <uint64 2147483648>, 'iommu': <true>, 'network': <''>}");

  assert_common (doc);
  domain_check_assert_string (doc, "/domain/@type", "qemu");
  /* no interrupt remapping without KVM's split irqchip */
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/iommu/driver"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/features/ioapic"), ==, 0);
  domain_check_assert_string (doc, "/domain/devices/disk[@device='cdrom']/target/@dev", "sda");
  domain_check_assert_string (doc, "/domain/os/boot/@dev", "cdrom");
}

/* Checks against the host, before anything reaches libvirt. */
static void
test_host_refusals (void)
{
  plan_refused ("{'profile': <'linux'>, 'disk': <'@/missing.qcow2'>}",
                "does not exist: create it, or fix 'disk'");
  plan_refused ("{'profile': <'linux'>, 'disk': <'/'>}", "not a file or block device");
  plan_refused ("{'profile': <'linux'>, 'kernel': <'@/missing-vmlinuz'>}", "The kernel");
  plan_refused ("{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'cdrom': <['@/no.iso']>}",
                "CD-ROM image");
  plan_refused (
    "{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'agent-socket': <'@/no/dir/a.sock'>}",
    "create");
  plan_refused (
    "{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'serial-log': <'@/no/dir/c.log'>}",
    "serial log");
  plan_refused ("{'profile': <'windows'>, 'kernel': <'@/vmlinuz'>}",
                "The windows profile does not boot a kernel directly");
  plan_refused ("{'profile': <'macos'>, 'disk': <'@/disk.qcow2'>}",
                "available profiles are linux, windows");
  plan_refused ("{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'cpus': <uint32 9>}",
                "this host has 8 online CPUs: ask for at most 8");
  plan_refused (
    "{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'cpus': <uint32 8>, 'pin': <'auto'>}",
    "at most 6 vCPUs");
  plan_refused (
    "{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'cpus': <uint32 2>, 'pin': <'1,2'>}",
    "sibling");
  plan_refused ("{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'gpus': <['0000:02:00.0']>}",
                "no PCI device 0000:02:00.0");
  /* 2 MB pool: 2048 free; 8 GiB wants 4096 pages */
  plan_refused ("{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'hugepages': <true>,"
                " 'memory': <uint64 8589934592>}",
                "needs 4096 2 MB pages, only 2048 are free (2048 reserved): reserve 2048 more");
  plan_refused ("{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>, 'hugepages': <true>,"
                " 'hugepage-size': <uint64 1073741824>, 'memory': <uint64 1610612736>}",
                "not a whole number of 1 GB pages: use 2048 MiB");
}

/* A sysfs tree without CPU topology: fine without pinning, a clear error with it. */
static void
test_no_topology (void)
{
  g_autoptr (FakeHost) bare = fake_host_new ();
  g_autoptr (GVariant) plain = options_parse ("{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>,"
                                              " 'cpus': <uint32 1>}");
  g_autoptr (GVariant) pinned = options_parse ("{'profile': <'linux'>, 'disk': <'@/disk.qcow2'>,"
                                               " 'cpus': <uint32 1>, 'pin': <'auto'>}");
  g_autoptr (SpiritVmSpec) plain_spec = spirit_vm_spec_from_variant ("bare", plain, NULL);
  g_autoptr (SpiritVmSpec) pinned_spec = spirit_vm_spec_from_variant ("bare", pinned, NULL);
  g_autoptr (GVirConfigDomain) domain = NULL;
  g_autoptr (GError) error = NULL;

  domain = spirit_vm_plan (plain_spec, profile_dirs (), bare->root, &error);
  g_assert_no_error (error);
  g_assert_nonnull (domain);
  g_clear_object (&domain);
  domain = spirit_vm_plan (pinned_spec, profile_dirs (), bare->root, &error);
  g_assert_null (domain);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "/sys/devices/system/cpu/online"));
}

/* Editing an existing VM's tuning keeps everything else. */
static void
test_retune (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVirConfigDomain) domain = plan ("retune",
                                              "{'profile': <'windows'>, 'disk': <'@/disk.qcow2'>, "
                                              "'cpus': <uint32 2>, 'memory': <uint64 4294967296>}",
                                              &error);
  g_autoptr (GVirConfigDomain) pinned = NULL;
  g_autoptr (GVirConfigDomain) more_memory = NULL;
  g_autoptr (GVirConfigDomain) unpinned = NULL;
  g_autoptr (GVariant) pin_options
    = options_parse ("{'cpus': <uint32 4>, 'pin': <'auto'>, 'hugepages': <true>, 'iommu': <true>}");
  g_autoptr (GVariant) memory_options = options_parse ("{'memory': <uint64 2147483648>}");
  g_autoptr (GVariant) unpin_options = options_parse ("{'pin': <''>, 'hugepages': <false>}");
  g_autoptr (GVariant) bad_options = options_parse ("{'disk': <'@/disk.raw'>}");
  g_autoptr (GVariant) count_options = options_parse ("{'cpus': <uint32 6>}");
  g_autoptr (xmlDoc) doc = NULL;
  g_autoptr (GVirConfigDomain) none = NULL;

  g_assert_no_error (error);
  pinned = spirit_vm_plan_retune (domain, pin_options, host->root, &error);
  g_assert_no_error (error);
  domain_check_validate (pinned);
  domain_check_define (TEST_URI, pinned);
  doc = domain_check_parse (pinned);
  domain_check_assert_string (doc, "/domain/vcpu", "4");
  g_assert_cmpint (domain_check_count (doc, "/domain/cputune/vcpupin"), ==, 4);
  domain_check_assert_string (doc, "/domain/cpu/topology/@threads", "2");
  domain_check_assert_string (doc, "/domain/memoryBacking/hugepages/page/@size", "2048");
  domain_check_assert_string (doc, "/domain/devices/iommu/@model", "intel");
  /* the rest is the windows VM it was */
  g_assert_cmpint (domain_check_count (doc, "/domain/features/hyperv"), ==, 1);
  domain_check_assert_string (doc, "/domain/os/loader/@secure", "yes");
  g_assert_cmpint (domain_check_count (doc, "/domain/devices/channel[target/@name='spirit.0']"), ==,
                   1);
  g_clear_pointer (&doc, xmlFreeDoc);

  /* memory only: pinning, pages and IOMMU stay */
  more_memory = spirit_vm_plan_retune (pinned, memory_options, host->root, &error);
  g_assert_no_error (error);
  domain_check_validate (more_memory);
  doc = domain_check_parse (more_memory);
  domain_check_assert_string (doc, "/domain/memory", "2097152");
  g_assert_cmpint (domain_check_count (doc, "/domain/cputune/vcpupin"), ==, 4);
  domain_check_assert_string (doc, "/domain/memoryBacking/hugepages/page/@size", "2048");
  domain_check_assert_string (doc, "/domain/devices/iommu/@model", "intel");
  g_clear_pointer (&doc, xmlFreeDoc);

  unpinned = spirit_vm_plan_retune (more_memory, unpin_options, host->root, &error);
  g_assert_no_error (error);
  domain_check_validate (unpinned);
  doc = domain_check_parse (unpinned);
  g_assert_cmpint (domain_check_count (doc, "/domain/cputune"), ==, 0);
  g_assert_cmpint (domain_check_count (doc, "/domain/memoryBacking"), ==, 0);
  domain_check_assert_string (doc, "/domain/cpu/topology/@cores", "4");
  domain_check_assert_string (doc, "/domain/cpu/topology/@threads", "1");

  none = spirit_vm_plan_retune (unpinned, bad_options, host->root, &error);
  g_assert_null (none);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "'disk' cannot be given here"));
  g_clear_error (&error);
  /* a pinned VM whose vCPU count changes must say how to pin */
  none = spirit_vm_plan_retune (pinned, count_options, host->root, &error);
  g_assert_null (none);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "pass 'pin' too"));
}

static void
setup_fake_host (void)
{
  static const char qcow2_magic[] = { 'Q', 'F', 'I', (char)0xfb, 0, 0, 0, 3 };
  g_autofree char *qcow2 = NULL;
  g_autoptr (GError) error = NULL;
  const char *empty[]
    = { "/disk.raw", "/vmlinuz", "/initrd.gz", "/install.iso", "/virtio-win.iso", NULL };

  host = fake_host_new ();
  fake_host_add_smt_cores (host, 1, 4, 2);
  fake_host_add_hugepages (host, 2048, 2048, 2048);
  fake_host_add_hugepages (host, 1048576, 8, 8);
  fake_host_set_mounts (host,
                        "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
                        "hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0\n");
  fake_host_add_pci_device (host, GPU);

  files = fake_host_new ();
  for (guint i = 0; empty[i] != NULL; i++)
    fake_host_write (files, empty[i], "");
  qcow2 = g_build_filename (files->root, "disk.qcow2", NULL);
  g_file_set_contents (qcow2, qcow2_magic, sizeof qcow2_magic, &error);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  setup_fake_host ();
  g_test_add_func ("/domain-xml/linux-tcg-kernel", test_linux_tcg_kernel);
  g_test_add_func ("/domain-xml/linux-defaults", test_linux_defaults);
  g_test_add_func ("/domain-xml/linux-tuned", test_linux_tuned);
  g_test_add_func ("/domain-xml/linux-gpu", test_linux_gpu);
  g_test_add_func ("/domain-xml/windows-defaults", test_windows_defaults);
  g_test_add_func ("/domain-xml/windows-tuned", test_windows_tuned);
  g_test_add_func ("/domain-xml/windows-tcg", test_windows_tcg);
  g_test_add_func ("/domain-xml/host-refusals", test_host_refusals);
  g_test_add_func ("/domain-xml/no-topology", test_no_topology);
  g_test_add_func ("/domain-xml/retune", test_retune);
  status = g_test_run ();
  fake_host_free (host);
  fake_host_free (files);
  return status;
}
