/* test-real-host.c: the same code on the real host, as root: the real sysfs topology and huge
 * page pools, reserving one 2 MB page for real (and giving it back), and the generated domains
 * defined by the real libvirtd's QEMU driver (qemu:///system, VIR_DOMAIN_DEFINE_VALIDATE), then
 * undefined. Needs root and libvirtd (tools/test.sh starts it); it fails rather than skips. */
#define G_LOG_DOMAIN "test-real-host"

#include "domain-check.h"
#include "fake-host.h"
#include "spirit-cpu-pinning.h"
#include "spirit-cpu-topology.h"
#include "spirit-domain-builder.h"
#include "spirit-profile.h"
#include "spirit-host-sysfs.h"
#include "spirit-hugepages.h"
#include "spirit-profiles-private.h"
#include "spirit-vm-plan.h"
#include "spirit-error.h"

#include <unistd.h>

#define QEMU_URI "qemu:///system"
#define NR_2M "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

static void
test_topology (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritCpuTopology) topology = spirit_cpu_topology_read ("", &error);
  guint threads = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (spirit_cpu_topology_get_n_cpus (topology), ==,
                    (guint)sysconf (_SC_NPROCESSORS_ONLN));
  for (guint i = 0; i < topology->cores->len; i++)
    threads += ((SpiritCpuCore *)g_ptr_array_index (topology->cores, i))->cpus->len;
  g_assert_cmpuint (threads, ==, spirit_cpu_topology_get_n_cpus (topology));
}

/* One more page, read back from the kernel, then the count it had before. */
static void
test_reserve_one_page (void)
{
  g_autoptr (GError) error = NULL;
  SpiritHugepagePool before, after, restored;

  g_assert_true (spirit_hugepages_read ("", SPIRIT_HUGEPAGE_2M_KIB, &before, &error));
  g_assert_no_error (error);
  g_assert_true (spirit_hugepages_reserve ("", SPIRIT_HUGEPAGE_2M_KIB, 1, &after, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (after.total, ==, before.total + 1);
  g_assert_cmpuint (after.free, >=, 1);
  /* give it back unless someone else changed the pool meanwhile (meson runs this test alone) */
  g_assert_true (spirit_hugepages_read ("", SPIRIT_HUGEPAGE_2M_KIB, &restored, &error));
  g_assert_cmpuint (restored.total, ==, after.total);
  g_assert_true (spirit_host_sysfs_write_u64 ("", NR_2M, before.total, &error));
  g_assert_no_error (error);
  g_assert_true (spirit_hugepages_read ("", SPIRIT_HUGEPAGE_2M_KIB, &restored, &error));
  g_assert_cmpuint (restored.total, ==, before.total);
}

/* Huge pages through the builder itself: defining needs no free pages, and this host may
 * have none (spirit_vm_plan() would refuse, as it should, before a start that would fail). */
static GVirConfigDomain *
build_with_hugepages (SpiritVmSpec *spec)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritProfile) profile = spirit_profile_load (spec->profile, NULL, &error);
  g_autoptr (SpiritCpuTopology) topology = spirit_cpu_topology_read ("", &error);
  g_autoptr (SpiritCpuPinning) pinning = NULL;
  GVirConfigDomain *domain;

  g_assert_no_error (error);
  pinning = spirit_cpu_pinning_compute (topology, spec->vcpus, spec->pin, &error);
  g_assert_no_error (error);
  spec->hugepages = TRUE;
  domain = spirit_domain_build (spec, profile, pinning, &error);
  g_assert_no_error (error);
  return domain;
}

static GVirConfigDomain *
plan_real (FakeHost *files, const char *name, const char *extra, gboolean hugepages)
{
  g_autofree char *text = g_strdup_printf (
    "{'profile': <'%s'>, 'virt-type': <'qemu'>, 'disk': <'%s/disk.qcow2'>,"
    " 'memory': <uint64 268435456>, 'network': <''>, 'agent-socket': <'%s/agent.sock'>%s}",
    g_str_has_prefix (name, "spirit-test-windows") ? "windows" : "linux", files->root, files->root,
    extra);
  g_autoptr (GVariant) options
    = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritVmSpec) spec = NULL;
  GVirConfigDomain *domain;

  g_assert_nonnull (options);
  spec = spirit_vm_spec_from_variant (name, options, &error);
  g_assert_no_error (error);
  if (hugepages)
    return build_with_hugepages (spec);
  domain = spirit_vm_plan (spec, NULL, "", &error);
  g_assert_no_error (error);
  return domain;
}

/* The QEMU driver checks what the test driver cannot: machine types, devices, features. */
static void
test_define_qemu (void)
{
  g_autoptr (FakeHost) files = fake_host_new ();
  const struct
  {
    const char *name;
    const char *extra;
    gboolean hugepages;
  } cases[] = {
    { "spirit-test-linux-tcg", ", 'cpus': <uint32 1>, 'graphics': <'none'>", FALSE },
    { "spirit-test-linux-tuned",
      ", 'cpus': <uint32 1>, 'pin': <'auto'>, 'iommu': <true>, 'balloon-period': <uint32 2>",
      TRUE },
    { "spirit-test-windows-tcg", ", 'cpus': <uint32 2>, 'cdrom': <['/dev/null']>", FALSE },
  };

  fake_host_write (files, "/disk.qcow2", "");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GVirConfigDomain) domain
        = plan_real (files, cases[i].name, cases[i].extra, cases[i].hugepages);
      domain_check_validate (domain);
      domain_check_define (QEMU_URI, domain);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (getuid () != 0)
    g_error ("test-real-host needs root: it writes nr_hugepages and uses qemu:///system");
  /* the profiles shipped in this tree, whatever /etc holds */
  g_assert_nonnull (g_getenv ("SPIRIT_PROFILES_DIR"));
  g_test_add_func ("/real-host/topology", test_topology);
  g_test_add_func ("/real-host/reserve-one-page", test_reserve_one_page);
  g_test_add_func ("/real-host/define-qemu", test_define_qemu);
  return g_test_run ();
}
