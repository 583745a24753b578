/* spirit-cpu-usage.c: CPU use from libvirt's cumulative CPU time. */
#define G_LOG_DOMAIN "spirit-cpu-usage"

#include "spirit-cpu-usage.h"

#include <libvirt/virterror.h>

gboolean
spirit_cpu_sample_read (virDomainPtr domain, SpiritCpuSample *sample)
{
  virDomainInfo info;

  sample->valid = FALSE;
  if (virDomainGetInfo (domain, &info) < 0)
    {
      virResetLastError ();
      return FALSE;
    }
  sample->cpu_ns = info.cpuTime;
  sample->vcpus = info.nrVirtCpu;
  sample->mono_us = g_get_monotonic_time ();
  sample->valid = TRUE;
  return TRUE;
}

double
spirit_cpu_usage_between (const SpiritCpuSample *before, const SpiritCpuSample *after)
{
  double busy_ns, wall_ns, percent;

  if (!before->valid || !after->valid || after->vcpus == 0 || before->vcpus != after->vcpus
      || after->mono_us <= before->mono_us || after->cpu_ns < before->cpu_ns)
    return -1;
  busy_ns = (double)(after->cpu_ns - before->cpu_ns);
  wall_ns = (double)(after->mono_us - before->mono_us) * 1000.0 * after->vcpus;
  percent = 100.0 * busy_ns / wall_ns;
  return CLAMP (percent, 0.0, 100.0);
}
