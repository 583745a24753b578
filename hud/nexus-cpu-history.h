/* nexus-cpu-history.h: the last minute of a running VM's CPU usage, for its card's graph.
 *
 * spiritd publishes VM.CpuUsage only when the whole percent changes, so the HUD samples the
 * cached value itself, every NEXUS_CPU_SAMPLE_S seconds (spiritd's own reading interval), and
 * keeps the last NEXUS_CPU_HISTORY_LEN samples here: a fixed ring, no allocation.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NEXUS_CPU_SAMPLE_S 2
#define NEXUS_CPU_HISTORY_LEN 30 /* 30 samples of 2 s: one minute */

typedef struct
{
  double samples[NEXUS_CPU_HISTORY_LEN];
  guint start; /* index of the oldest sample */
  guint length;
} NexusCpuHistory;

void nexus_cpu_history_clear (NexusCpuHistory *history);
/* Appends percent (clamped to 0..100; NaN counts as 0), dropping the oldest when full. */
void nexus_cpu_history_push (NexusCpuHistory *history, double percent);
guint nexus_cpu_history_get_length (const NexusCpuHistory *history);
/* The i-th sample, 0 being the oldest; i < length. */
double nexus_cpu_history_get (const NexusCpuHistory *history, guint i);
double nexus_cpu_history_get_peak (const NexusCpuHistory *history);
/* TRUE when the ring is full and every sample is percent (as push would store it): pushing
 * percent then changes nothing that a graph of it shows. */
gboolean nexus_cpu_history_is_flat_at (const NexusCpuHistory *history, double percent);

G_END_DECLS
