/* test-cpu-pinning.c: CPU topology from fake sysfs trees, and the pinning rules on them:
 * SMT siblings stay together, a core stays with the host, the emulator is pinned apart, one
 * socket is preferred, and every impossible request is refused saying what to change. */
#define G_LOG_DOMAIN "test-cpu-pinning"

#include "fake-host.h"
#include "spirit-cpu-pinning.h"
#include "spirit-cpu-topology.h"
#include "spirit-error.h"

static SpiritCpuTopology *
read_topology (FakeHost *host)
{
  g_autoptr (GError) error = NULL;
  SpiritCpuTopology *topology = spirit_cpu_topology_read (host->root, &error);

  g_assert_no_error (error);
  g_assert_nonnull (topology);
  return topology;
}

/* 1 socket, 4 cores, 8 threads: siblings (0,4) (1,5) (2,6) (3,7). */
static SpiritCpuTopology *
topology_4c8t (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();

  fake_host_add_smt_cores (host, 1, 4, 2);
  return read_topology (host);
}

/* 2 sockets of 4 cores, 16 threads: socket 0 (0,8)..(3,11), socket 1 (4,12)..(7,15). */
static SpiritCpuTopology *
topology_2s (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();

  fake_host_add_smt_cores (host, 2, 4, 2);
  return read_topology (host);
}

/* Non-contiguous ids: only even CPUs online, siblings (0,8) (2,10) (4,12) (6,14). */
static SpiritCpuTopology *
topology_sparse (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();

  for (guint core = 0; core < 4; core++)
    {
      g_autofree char *siblings = g_strdup_printf ("%u,%u", core * 2, core * 2 + 8);
      fake_host_add_cpu (host, core * 2, 0, core, siblings);
      fake_host_add_cpu (host, core * 2 + 8, 0, core, siblings);
    }
  fake_host_set_online (host, "0,2,4,6,8,10,12,14");
  return read_topology (host);
}

static SpiritCpuTopology *
topology_flat (guint cores, guint threads)
{
  g_autoptr (FakeHost) host = fake_host_new ();

  fake_host_add_smt_cores (host, 1, cores, threads);
  return read_topology (host);
}

static gboolean
contains (const guint *cpus, guint n, guint cpu)
{
  for (guint i = 0; i < n; i++)
    if (cpus[i] == cpu)
      return TRUE;
  return FALSE;
}

/* What every pinning must satisfy, whatever the host and the request. */
static void
assert_rules (const SpiritCpuTopology *topology, const SpiritCpuPinning *pinning, guint vcpus)
{
  g_autoptr (GArray) emulator = spirit_cpu_list_parse (pinning->emulator_cpuset, NULL);
  guint host_cores = 0;

  g_assert_cmpuint (pinning->n_vcpus, ==, vcpus);
  g_assert_cmpuint (pinning->sockets * pinning->cores * pinning->threads, ==, vcpus);
  g_assert_nonnull (emulator);
  for (guint i = 0; i < vcpus; i++)
    {
      g_assert_true (spirit_cpu_topology_is_online (topology, pinning->vcpu_cpus[i]));
      g_assert_false (contains (pinning->vcpu_cpus, i, pinning->vcpu_cpus[i]));
      /* the emulator never shares a CPU with a vCPU */
      g_assert_false (
        contains ((guint *)(gpointer)emulator->data, emulator->len, pinning->vcpu_cpus[i]));
    }
  /* emulator + vCPUs = every online CPU */
  g_assert_cmpuint (emulator->len + vcpus, ==, spirit_cpu_topology_get_n_cpus (topology));
  for (guint c = 0; c < topology->cores->len; c++)
    {
      const SpiritCpuCore *core = g_ptr_array_index (topology->cores, c);
      guint in_guest = 0;

      for (guint t = 0; t < core->cpus->len; t++)
        in_guest += contains (pinning->vcpu_cpus, vcpus, g_array_index (core->cpus, guint, t));
      /* a core is the guest's or the host's, never split */
      g_assert_true (in_guest == 0 || in_guest == core->cpus->len);
      host_cores += in_guest == 0;
    }
  g_assert_cmpuint (host_cores, >=, 1);
  /* the guest's thread siblings are the host's thread siblings */
  for (guint i = 0; i < vcpus; i += pinning->threads)
    {
      const SpiritCpuCore *core = spirit_cpu_topology_find_core (topology, pinning->vcpu_cpus[i]);
      g_assert_cmpuint (core->cpus->len, ==, pinning->threads);
      for (guint t = 1; t < pinning->threads; t++)
        g_assert_true (spirit_cpu_topology_find_core (topology, pinning->vcpu_cpus[i + t]) == core);
    }
}

static SpiritCpuPinning *
pin_ok (const SpiritCpuTopology *topology, guint vcpus, const char *request)
{
  g_autoptr (GError) error = NULL;
  SpiritCpuPinning *pinning = spirit_cpu_pinning_compute (topology, vcpus, request, &error);

  g_assert_no_error (error);
  g_assert_nonnull (pinning);
  assert_rules (topology, pinning, vcpus);
  return pinning;
}

static void
assert_vcpu_cpus (const SpiritCpuPinning *pinning, const guint *expected, guint n)
{
  g_assert_cmpuint (pinning->n_vcpus, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (pinning->vcpu_cpus[i], ==, expected[i]);
}

static void
assert_topology (const SpiritCpuPinning *pinning, guint sockets, guint cores, guint threads)
{
  g_assert_cmpuint (pinning->sockets, ==, sockets);
  g_assert_cmpuint (pinning->cores, ==, cores);
  g_assert_cmpuint (pinning->threads, ==, threads);
}

/* Refused with INVALID_ARGUMENT, and the message holds each of the NULL-terminated words. */
static void
pin_refused (const SpiritCpuTopology *topology, guint vcpus, const char *request, ...)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritCpuPinning) pinning
    = spirit_cpu_pinning_compute (topology, vcpus, request, &error);
  va_list args;
  const char *word;

  g_assert_null (pinning);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%u vCPUs, pin \"%s\": %s", vcpus, request, error->message);
  va_start (args, request);
  while ((word = va_arg (args, const char *)) != NULL)
    if (strstr (error->message, word) == NULL)
      g_error ("\"%s\" not in the message: %s", word, error->message);
  va_end (args);
}

static void
test_topology_read (void)
{
  g_autoptr (SpiritCpuTopology) smt = topology_4c8t ();
  g_autoptr (SpiritCpuTopology) two = topology_2s ();
  g_autoptr (SpiritCpuTopology) sparse = topology_sparse ();
  const SpiritCpuCore *core;

  g_assert_cmpuint (spirit_cpu_topology_get_n_cpus (smt), ==, 8);
  g_assert_cmpuint (smt->cores->len, ==, 4);
  g_assert_cmpuint (smt->n_packages, ==, 1);
  core = spirit_cpu_topology_find_core (smt, 5);
  g_assert_cmpuint (core->cpus->len, ==, 2);
  g_assert_cmpuint (g_array_index (core->cpus, guint, 0), ==, 1);
  g_assert_cmpuint (g_array_index (core->cpus, guint, 1), ==, 5);

  g_assert_cmpuint (two->cores->len, ==, 8);
  g_assert_cmpuint (two->n_packages, ==, 2);
  /* core_id repeats across packages; cores are told apart by their threads */
  g_assert_cmpuint (spirit_cpu_topology_find_core (two, 4)->core_id, ==, 0);
  g_assert_cmpuint (spirit_cpu_topology_find_core (two, 4)->package, ==, 1);
  g_assert_true (spirit_cpu_topology_find_core (two, 4) != spirit_cpu_topology_find_core (two, 0));

  g_assert_cmpuint (spirit_cpu_topology_get_n_cpus (sparse), ==, 8);
  g_assert_false (spirit_cpu_topology_is_online (sparse, 1));
  g_assert_null (spirit_cpu_topology_find_core (sparse, 3));
  core = spirit_cpu_topology_find_core (sparse, 10);
  g_assert_cmpuint (g_array_index (core->cpus, guint, 0), ==, 2);
}

/* An offline sibling is not part of the core the host can give away. */
static void
test_topology_offline_sibling (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (SpiritCpuTopology) topology = NULL;
  const SpiritCpuCore *core;

  fake_host_add_smt_cores (host, 1, 2, 2);
  fake_host_set_online (host, "0-2");
  topology = read_topology (host);
  core = spirit_cpu_topology_find_core (topology, 1);
  g_assert_cmpuint (core->cpus->len, ==, 1);
  g_assert_cmpuint (spirit_cpu_topology_find_core (topology, 0)->cpus->len, ==, 2);
}

static void
test_topology_errors (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritCpuTopology) topology = NULL;

  topology = spirit_cpu_topology_read (host->root, &error);
  g_assert_null (topology);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "/sys/devices/system/cpu/online"));
  g_clear_error (&error);

  fake_host_set_online (host, "0-1");
  fake_host_add_cpu (host, 0, 0, 0, "0");
  topology = spirit_cpu_topology_read (host->root, &error);
  g_assert_null (topology);
  g_assert_nonnull (strstr (error->message, "cpu1/topology/thread_siblings_list"));
  g_clear_error (&error);

  fake_host_add_cpu (host, 1, 0, 1, "garbage");
  topology = spirit_cpu_topology_read (host->root, &error);
  g_assert_null (topology);
  g_assert_nonnull (strstr (error->message, "garbage"));
}

/* The same variable as service/gpu: SPIRIT_SYSFS_ROOT when no root is passed. */
static void
test_topology_env_root (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (SpiritCpuTopology) topology = NULL;

  fake_host_add_smt_cores (host, 1, 3, 1);
  g_setenv ("SPIRIT_SYSFS_ROOT", host->root, TRUE);
  topology = spirit_cpu_topology_read (NULL, NULL);
  g_unsetenv ("SPIRIT_SYSFS_ROOT");
  g_assert_nonnull (topology);
  g_assert_cmpuint (spirit_cpu_topology_get_n_cpus (topology), ==, 3);
}

static void
test_cpu_list (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) cpus = spirit_cpu_list_parse ("8,0-3, 10-11", &error);
  const guint unsorted[] = { 11, 0, 1, 2, 3, 8, 10, 5, 6 };
  g_autofree char *text = NULL;
  g_autofree char *single = NULL;
  g_autofree char *pair = NULL;
  const char *bad[]
    = { "", ",", "1,", "a", "1-", "-1", "1-2-3", "3-1", "1,1", "0-3,2", "99999999", "1 2", NULL };

  g_assert_no_error (error);
  g_assert_cmpuint (cpus->len, ==, 7);
  g_assert_cmpuint (g_array_index (cpus, guint, 0), ==, 8);
  g_assert_cmpuint (g_array_index (cpus, guint, 6), ==, 11);

  text = spirit_cpu_list_format (unsorted, G_N_ELEMENTS (unsorted));
  g_assert_cmpstr (text, ==, "0-3,5,6,8,10,11");
  single = spirit_cpu_list_format (unsorted, 1);
  g_assert_cmpstr (single, ==, "11");
  pair = spirit_cpu_list_format (NULL, 0);
  g_assert_cmpstr (pair, ==, "");

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (GArray) none = spirit_cpu_list_parse (bad[i], &error);
      g_assert_null (none);
      g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
      g_test_message ("\"%s\": %s", bad[i], error->message);
      g_clear_error (&error);
    }
}

static void
test_auto_smt (void)
{
  g_autoptr (SpiritCpuTopology) topology = topology_4c8t ();
  g_autoptr (SpiritCpuPinning) four = pin_ok (topology, 4, "auto");
  g_autoptr (SpiritCpuPinning) six = pin_ok (topology, 6, "auto");
  g_autoptr (SpiritCpuPinning) two = pin_ok (topology, 2, "auto");
  const guint four_cpus[] = { 1, 5, 2, 6 };
  const guint six_cpus[] = { 1, 5, 2, 6, 3, 7 };

  /* core (0,4) stays with the host; vCPUs 0,1 are siblings 1,5 */
  assert_vcpu_cpus (four, four_cpus, 4);
  assert_topology (four, 1, 2, 2);
  g_assert_cmpstr (four->emulator_cpuset, ==, "0,3,4,7");
  g_assert_cmpstr (four->vcpu_cpuset, ==, "1,2,5,6");
  assert_vcpu_cpus (six, six_cpus, 6);
  assert_topology (six, 1, 3, 2);
  g_assert_cmpstr (six->emulator_cpuset, ==, "0,4");
  assert_topology (two, 1, 1, 2);
}

static void
test_auto_smt_refusals (void)
{
  g_autoptr (SpiritCpuTopology) topology = topology_4c8t ();

  /* 8 threads, one core of 2 kept: 6 at most */
  pin_refused (topology, 8, "auto", "at most 6", "0,4", NULL);
  pin_refused (topology, 7, "auto", "at most 6", NULL);
  /* odd counts cannot fill whole 2-thread cores */
  pin_refused (topology, 5, "auto", "multiple of 2", "4 or 6", NULL);
  pin_refused (topology, 3, "auto", "multiple of 2", "2 or 4", NULL);
  pin_refused (topology, 1, "auto", "multiple of 2", "2", NULL);
  pin_refused (topology, 0, "auto", "at least one", NULL);
}

static void
test_auto_two_sockets (void)
{
  g_autoptr (SpiritCpuTopology) topology = topology_2s ();
  g_autoptr (SpiritCpuPinning) four = pin_ok (topology, 4, "auto");
  g_autoptr (SpiritCpuPinning) eight = pin_ok (topology, 8, "auto");
  g_autoptr (SpiritCpuPinning) twelve = pin_ok (topology, 12, "auto");
  const guint four_cpus[] = { 1, 9, 2, 10 };
  const guint eight_cpus[] = { 4, 12, 5, 13, 6, 14, 7, 15 };
  const guint twelve_cpus[] = { 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14 };

  /* fits on socket 0 next to the host's core */
  assert_vcpu_cpus (four, four_cpus, 4);
  assert_topology (four, 1, 2, 2);
  /* socket 0 has 3 free cores: all of socket 1 rather than two sockets */
  assert_vcpu_cpus (eight, eight_cpus, 8);
  assert_topology (eight, 1, 4, 2);
  g_assert_cmpstr (eight->emulator_cpuset, ==, "0-3,8-11");
  /* too big for one socket: an even split, and the guest sees two sockets */
  assert_vcpu_cpus (twelve, twelve_cpus, 12);
  assert_topology (twelve, 2, 3, 2);
  g_assert_cmpstr (twelve->emulator_cpuset, ==, "0,7,8,15");

  /* 7 cores cannot be split evenly over two sockets, nor fit one */
  pin_refused (topology, 14, "auto", "one socket", "at most 8", NULL);
  pin_refused (topology, 16, "auto", "at most 14", NULL);
}

static void
test_auto_sparse_ids (void)
{
  g_autoptr (SpiritCpuTopology) topology = topology_sparse ();
  g_autoptr (SpiritCpuPinning) four = pin_ok (topology, 4, "auto");
  g_autoptr (SpiritCpuPinning) six = pin_ok (topology, 6, "auto");
  const guint four_cpus[] = { 2, 10, 4, 12 };

  assert_vcpu_cpus (four, four_cpus, 4);
  g_assert_cmpstr (four->emulator_cpuset, ==, "0,6,8,14");
  g_assert_cmpstr (six->emulator_cpuset, ==, "0,8");
  pin_refused (topology, 8, "auto", "at most 6", "0,8", NULL);
}

static void
test_auto_no_smt (void)
{
  g_autoptr (SpiritCpuTopology) topology = topology_flat (4, 1);
  g_autoptr (SpiritCpuPinning) three = pin_ok (topology, 3, "auto");
  g_autoptr (SpiritCpuPinning) one = pin_ok (topology, 1, "auto");
  const guint three_cpus[] = { 1, 2, 3 };

  assert_vcpu_cpus (three, three_cpus, 3);
  assert_topology (three, 1, 3, 1);
  g_assert_cmpstr (three->emulator_cpuset, ==, "0");
  g_assert_cmpuint (one->vcpu_cpus[0], ==, 1);
  g_assert_cmpstr (one->emulator_cpuset, ==, "0,2,3");
  pin_refused (topology, 4, "auto", "at most 3", NULL);
}

static void
test_one_core_host (void)
{
  g_autoptr (SpiritCpuTopology) smt = topology_flat (1, 2);
  g_autoptr (SpiritCpuTopology) single = topology_flat (1, 1);

  pin_refused (smt, 2, "auto", "single core", "without CPU pinning", NULL);
  pin_refused (smt, 1, "auto", "single core", NULL);
  pin_refused (single, 1, "auto", "single core", NULL);
  pin_refused (smt, 2, "0,1", "every core", "remove 0,1", NULL);
  pin_refused (single, 1, "0", "every core", NULL);
}

static void
test_list (void)
{
  g_autoptr (SpiritCpuTopology) topology = topology_4c8t ();
  g_autoptr (SpiritCpuPinning) ranges = pin_ok (topology, 4, "2-3,6-7");
  g_autoptr (SpiritCpuPinning) two_cores = pin_ok (topology, 4, "7,3,1,5");
  const guint ranges_cpus[] = { 2, 6, 3, 7 };
  const guint two_cores_cpus[] = { 1, 5, 3, 7 };

  /* a set, ordered core by core so guest siblings are host siblings */
  assert_vcpu_cpus (ranges, ranges_cpus, 4);
  assert_topology (ranges, 1, 2, 2);
  g_assert_cmpstr (ranges->emulator_cpuset, ==, "0,1,4,5");
  assert_vcpu_cpus (two_cores, two_cores_cpus, 4);
  /* an explicit list may leave CPU 0's core to the guest if another stays with the host */
  {
    g_autoptr (SpiritCpuPinning) first = pin_ok (topology, 2, "0,4");
    g_assert_cmpstr (first->emulator_cpuset, ==, "1-3,5-7");
  }
}

static void
test_list_refusals (void)
{
  g_autoptr (SpiritCpuTopology) topology = topology_4c8t ();
  g_autoptr (SpiritCpuTopology) sparse = topology_sparse ();

  /* splits core (1,5) and (2,6) */
  pin_refused (topology, 4, "1-3,5", "sibling 6", "add 6 or remove 2", "never splits", NULL);
  pin_refused (topology, 4, "1,2,5,6,3", "names 5 CPUs for 4 vCPUs", "exactly 4", NULL);
  pin_refused (topology, 2, "1,9", "CPU 9", "not an online CPU", "0-7", NULL);
  pin_refused (topology, 8, "0-7", "every core", "remove 0,4", NULL);
  pin_refused (topology, 2, "1;5", "not a CPU list", NULL);
  pin_refused (topology, 2, "5,5", "appears twice", NULL);
  pin_refused (topology, 2, "6-2", "backwards", "2-6", NULL);
  /* non-contiguous ids: odd CPUs do not exist there */
  pin_refused (sparse, 2, "1,9", "CPU 1", "not an online CPU", "0,2,4,6,8,10,12,14", NULL);
  pin_refused (sparse, 2, "2,4", "sibling 10", NULL);
}

/* A hybrid CPU: one 2-thread performance core besides the host's, three 1-thread cores. */
static void
test_hybrid (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (SpiritCpuTopology) topology = NULL;
  g_autoptr (SpiritCpuPinning) two = NULL;
  g_autoptr (SpiritCpuPinning) three = NULL;
  g_autoptr (SpiritCpuPinning) mixed = NULL;

  fake_host_add_cpu (host, 0, 0, 0, "0-1");
  fake_host_add_cpu (host, 1, 0, 0, "0-1");
  fake_host_add_cpu (host, 2, 0, 4, "2-3");
  fake_host_add_cpu (host, 3, 0, 4, "2-3");
  for (guint cpu = 4; cpu < 7; cpu++)
    {
      g_autofree char *self = g_strdup_printf ("%u", cpu);
      fake_host_add_cpu (host, cpu, 0, 8 + cpu, self);
    }
  fake_host_set_online (host, "0-6");
  topology = read_topology (host);

  two = pin_ok (topology, 2, "auto");
  assert_topology (two, 1, 1, 2);
  g_assert_cmpuint (two->vcpu_cpus[0], ==, 2);
  three = pin_ok (topology, 3, "auto");
  assert_topology (three, 1, 3, 1);
  g_assert_cmpuint (three->vcpu_cpus[0], ==, 4);
  /* mixed widths: no honest SMT topology, so the guest sees flat cores */
  mixed = spirit_cpu_pinning_compute (topology, 3, "2,3,4", NULL);
  g_assert_nonnull (mixed);
  assert_topology (mixed, 1, 3, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu-topology/read", test_topology_read);
  g_test_add_func ("/cpu-topology/offline-sibling", test_topology_offline_sibling);
  g_test_add_func ("/cpu-topology/errors", test_topology_errors);
  g_test_add_func ("/cpu-topology/env-root", test_topology_env_root);
  g_test_add_func ("/cpu-topology/cpu-list", test_cpu_list);
  g_test_add_func ("/cpu-pinning/auto-4c8t", test_auto_smt);
  g_test_add_func ("/cpu-pinning/auto-4c8t-refusals", test_auto_smt_refusals);
  g_test_add_func ("/cpu-pinning/auto-two-sockets", test_auto_two_sockets);
  g_test_add_func ("/cpu-pinning/auto-sparse-ids", test_auto_sparse_ids);
  g_test_add_func ("/cpu-pinning/auto-no-smt", test_auto_no_smt);
  g_test_add_func ("/cpu-pinning/one-core-host", test_one_core_host);
  g_test_add_func ("/cpu-pinning/list", test_list);
  g_test_add_func ("/cpu-pinning/list-refusals", test_list_refusals);
  g_test_add_func ("/cpu-pinning/hybrid", test_hybrid);
  return g_test_run ();
}
