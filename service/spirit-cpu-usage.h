/* spirit-cpu-usage.h: a VM's CPU use, from two readings of libvirt's cumulative CPU time.
 *
 * libvirt has no event for CPU use: spiritd reads virDomainGetInfo's cpuTime every
 * SPIRIT_CPU_SAMPLE_S seconds for running VMs and publishes the share of the VM's vCPUs that
 * was busy in between (org.crom.Spirit.VM.CpuUsage).
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

#define SPIRIT_CPU_SAMPLE_S 2

typedef struct
{
  guint64 cpu_ns; /* the domain's cumulative CPU time */
  gint64 mono_us; /* when it was read (g_get_monotonic_time) */
  guint vcpus;
  gboolean valid;
} SpiritCpuSample;

/* Blocking (a worker thread): reads DOMAIN's CPU time now. */
gboolean spirit_cpu_sample_read (virDomainPtr domain, SpiritCpuSample *sample);

/* Percent (0 to 100) of the vCPUs' time used between BEFORE and AFTER, or -1 when it cannot be
 * told: no earlier reading, no time passed, the counter went back (the VM restarted), or the
 * vCPU count changed. */
double spirit_cpu_usage_between (const SpiritCpuSample *before, const SpiritCpuSample *after);

G_END_DECLS
