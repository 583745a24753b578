/* nexus-cpu-history.c: a fixed ring of CPU usage samples (see nexus-cpu-history.h). */
#define G_LOG_DOMAIN "nexus-cpu-history"

#include "nexus-cpu-history.h"

#include <math.h>

void
nexus_cpu_history_clear (NexusCpuHistory *history)
{
  history->start = 0;
  history->length = 0;
}

static double
clamp_percent (double percent)
{
  if (isnan (percent) || percent < 0)
    return 0;
  return MIN (percent, 100);
}

void
nexus_cpu_history_push (NexusCpuHistory *history, double percent)
{
  percent = clamp_percent (percent);
  if (history->length < NEXUS_CPU_HISTORY_LEN)
    {
      history->samples[(history->start + history->length) % NEXUS_CPU_HISTORY_LEN] = percent;
      history->length++;
      return;
    }
  history->samples[history->start] = percent;
  history->start = (history->start + 1) % NEXUS_CPU_HISTORY_LEN;
}

guint
nexus_cpu_history_get_length (const NexusCpuHistory *history)
{
  return history->length;
}

double
nexus_cpu_history_get (const NexusCpuHistory *history, guint i)
{
  g_return_val_if_fail (i < history->length, 0);
  return history->samples[(history->start + i) % NEXUS_CPU_HISTORY_LEN];
}

gboolean
nexus_cpu_history_is_flat_at (const NexusCpuHistory *history, double percent)
{
  percent = clamp_percent (percent);
  if (history->length < NEXUS_CPU_HISTORY_LEN)
    return FALSE;
  for (guint i = 0; i < history->length; i++)
    if (history->samples[i] != percent)
      return FALSE;
  return TRUE;
}

double
nexus_cpu_history_get_peak (const NexusCpuHistory *history)
{
  double peak = 0;

  for (guint i = 0; i < history->length; i++)
    peak = MAX (peak, nexus_cpu_history_get (history, i));
  return peak;
}
