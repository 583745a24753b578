/* test-cpu-usage.c: CpuUsage from two readings of libvirt's cumulative CPU time. */
#define G_LOG_DOMAIN "test-cpu-usage"

#include "spirit-cpu-usage.h"

static SpiritCpuSample
sample (guint64 cpu_ns, gint64 mono_us, guint vcpus)
{
  SpiritCpuSample s = { cpu_ns, mono_us, vcpus, TRUE };
  return s;
}

static void
test_between (void)
{
  SpiritCpuSample first = sample (1000000000, 5000000, 2);
  SpiritCpuSample later;

  /* 2 s of wall time, 2 vCPUs: 1 s of CPU time is 25 %, 4 s is all of them */
  later = sample (2000000000, 7000000, 2);
  g_assert_cmpfloat_with_epsilon (spirit_cpu_usage_between (&first, &later), 25.0, 1e-9);
  later = sample (5000000000, 7000000, 2);
  g_assert_cmpfloat_with_epsilon (spirit_cpu_usage_between (&first, &later), 100.0, 1e-9);
  /* an idle VM */
  later = sample (1000000000, 7000000, 2);
  g_assert_cmpfloat_with_epsilon (spirit_cpu_usage_between (&first, &later), 0.0, 1e-9);
  /* more CPU time than the vCPUs can have (clock skew between the readings) is clamped */
  later = sample (9000000000, 7000000, 2);
  g_assert_cmpfloat_with_epsilon (spirit_cpu_usage_between (&first, &later), 100.0, 1e-9);
}

static void
test_cannot_tell (void)
{
  SpiritCpuSample first = sample (1000000000, 5000000, 2);
  SpiritCpuSample none = { 0 };
  SpiritCpuSample later;

  /* no earlier reading (the first one after a start) */
  later = sample (2000000000, 7000000, 2);
  g_assert_cmpfloat (spirit_cpu_usage_between (&none, &later), <, 0);
  /* the counter went back: the VM was restarted between the readings */
  later = sample (10, 7000000, 2);
  g_assert_cmpfloat (spirit_cpu_usage_between (&first, &later), <, 0);
  /* no time passed */
  later = sample (2000000000, 5000000, 2);
  g_assert_cmpfloat (spirit_cpu_usage_between (&first, &later), <, 0);
  /* vCPUs were hot-plugged */
  later = sample (2000000000, 7000000, 4);
  g_assert_cmpfloat (spirit_cpu_usage_between (&first, &later), <, 0);
}

/* Against libvirt's in-process test driver, whose CPU time is its wall clock. */
static void
test_read_from_test_driver (void)
{
  virConnectPtr conn = virConnectOpen ("test:///default");
  virDomainPtr domain;
  SpiritCpuSample reading = { 0 };

  g_assert_nonnull (conn);
  domain = virDomainLookupByName (conn, "test");
  g_assert_nonnull (domain);
  g_assert_true (spirit_cpu_sample_read (domain, &reading));
  g_assert_true (reading.valid);
  g_assert_cmpuint (reading.vcpus, >, 0);
  g_assert_cmpuint (reading.cpu_ns, >, 0);
  virDomainFree (domain);
  virConnectClose (conn);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu-usage/between", test_between);
  g_test_add_func ("/cpu-usage/cannot-tell", test_cannot_tell);
  g_test_add_func ("/cpu-usage/test-driver", test_read_from_test_driver);
  return g_test_run ();
}
