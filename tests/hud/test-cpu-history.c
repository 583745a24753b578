/* test-cpu-history.c: the HUD's ring of CPU usage samples (hud/nexus-cpu-history.c). */
#include "nexus-cpu-history.h"

#include <math.h>

static void
test_empty_and_first_samples (void)
{
  NexusCpuHistory history;

  nexus_cpu_history_clear (&history);
  g_assert_cmpuint (nexus_cpu_history_get_length (&history), ==, 0);
  g_assert_cmpfloat (nexus_cpu_history_get_peak (&history), ==, 0);
  nexus_cpu_history_push (&history, 12);
  nexus_cpu_history_push (&history, 40);
  g_assert_cmpuint (nexus_cpu_history_get_length (&history), ==, 2);
  g_assert_cmpfloat (nexus_cpu_history_get (&history, 0), ==, 12);
  g_assert_cmpfloat (nexus_cpu_history_get (&history, 1), ==, 40);
  g_assert_cmpfloat (nexus_cpu_history_get_peak (&history), ==, 40);
}

static void
test_full_ring_drops_the_oldest (void)
{
  NexusCpuHistory history;

  nexus_cpu_history_clear (&history);
  for (guint i = 0; i < NEXUS_CPU_HISTORY_LEN + 5; i++)
    nexus_cpu_history_push (&history, i);
  g_assert_cmpuint (nexus_cpu_history_get_length (&history), ==, NEXUS_CPU_HISTORY_LEN);
  /* oldest first: 5, 6, ... NEXUS_CPU_HISTORY_LEN + 4 */
  for (guint i = 0; i < NEXUS_CPU_HISTORY_LEN; i++)
    g_assert_cmpfloat (nexus_cpu_history_get (&history, i), ==, i + 5);
  g_assert_cmpfloat (nexus_cpu_history_get_peak (&history), ==, NEXUS_CPU_HISTORY_LEN + 4);
  nexus_cpu_history_clear (&history);
  g_assert_cmpuint (nexus_cpu_history_get_length (&history), ==, 0);
  nexus_cpu_history_push (&history, 7);
  g_assert_cmpfloat (nexus_cpu_history_get (&history, 0), ==, 7);
}

static void
test_values_are_clamped (void)
{
  NexusCpuHistory history;

  nexus_cpu_history_clear (&history);
  nexus_cpu_history_push (&history, -3);
  nexus_cpu_history_push (&history, 250);
  nexus_cpu_history_push (&history, NAN);
  g_assert_cmpfloat (nexus_cpu_history_get (&history, 0), ==, 0);
  g_assert_cmpfloat (nexus_cpu_history_get (&history, 1), ==, 100);
  g_assert_cmpfloat (nexus_cpu_history_get (&history, 2), ==, 0);
}

static void
test_flat (void)
{
  NexusCpuHistory history;

  nexus_cpu_history_clear (&history);
  for (guint i = 0; i < NEXUS_CPU_HISTORY_LEN - 1; i++)
    nexus_cpu_history_push (&history, 30);
  g_assert_false (nexus_cpu_history_is_flat_at (&history, 30)); /* not full: the graph grows */
  nexus_cpu_history_push (&history, 30);
  g_assert_true (nexus_cpu_history_is_flat_at (&history, 30));
  g_assert_false (nexus_cpu_history_is_flat_at (&history, 31));
  g_assert_true (nexus_cpu_history_is_flat_at (&history, 30.0));
  nexus_cpu_history_push (&history, 31);
  g_assert_false (nexus_cpu_history_is_flat_at (&history, 30));
  nexus_cpu_history_clear (&history);
  for (guint i = 0; i < NEXUS_CPU_HISTORY_LEN; i++)
    nexus_cpu_history_push (&history, 400);
  g_assert_true (nexus_cpu_history_is_flat_at (&history, 250)); /* both are 100 once clamped */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cpu-history/empty-and-first-samples", test_empty_and_first_samples);
  g_test_add_func ("/cpu-history/full-ring-drops-the-oldest", test_full_ring_drops_the_oldest);
  g_test_add_func ("/cpu-history/values-are-clamped", test_values_are_clamped);
  g_test_add_func ("/cpu-history/flat", test_flat);
  return g_test_run ();
}
