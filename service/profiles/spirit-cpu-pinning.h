/* spirit-cpu-pinning.h: which host CPU runs each vCPU, and where QEMU's emulator threads go.
 *
 * Rules (docs/profiles.md has a worked example):
 * - the guest gets whole cores: a core's SMT siblings all go to the guest or all stay with the
 *   host, never split;
 * - at least one whole core stays with the host; in "auto" that is the core of the lowest online
 *   CPU (usually CPU 0, which takes most interrupts);
 * - the emulator threads are pinned to every online CPU the vCPUs do not use;
 * - "auto" prefers one socket, then an even split over the fewest sockets; the guest's topology
 *   (sockets/cores/threads) mirrors the host cores it got, and sibling vCPUs 2k, 2k+1 sit on
 *   sibling host threads;
 * - "auto" uses cores of one SMT width, so on an SMT-2 host the vCPU count must be even: an odd
 *   count would leave a thread of a guest core idle or split a core, and is refused;
 * - an explicit list is a set: Spirit orders it core by core. It must name exactly as many online
 *   CPUs as vCPUs, take whole cores, and leave at least one core to the host.
 * Every refusal is SPIRIT_ERROR_INVALID_ARGUMENT and says what to change.
 */
#pragma once

#include "spirit-cpu-topology.h"

G_BEGIN_DECLS

typedef struct
{
  guint n_vcpus;
  guint *vcpu_cpus;      /* host CPU of vCPU i, n_vcpus of them */
  char *vcpu_cpuset;     /* every vCPU's host CPU, as a CPU list */
  char *emulator_cpuset; /* the host CPUs left to the host, where the emulator threads run */
  guint sockets;         /* guest topology; sockets * cores * threads == n_vcpus */
  guint cores;
  guint threads;
} SpiritCpuPinning;

SpiritCpuPinning *spirit_cpu_pinning_compute (const SpiritCpuTopology *topology,
                                              guint vcpus,
                                              const char *request,
                                              GError **error);
void spirit_cpu_pinning_free (SpiritCpuPinning *pinning);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritCpuPinning, spirit_cpu_pinning_free)

G_END_DECLS
