/* spirit-cpu-topology.h: the host's online CPUs grouped into cores and packages, from sysfs.
 *
 * A core is a set of online SMT siblings (thread_siblings_list), so a core is identified by its
 * threads, not by core_id (which repeats across packages). Read through spirit-host-sysfs, so a
 * test builds its own tree and sets SPIRIT_SYSFS_ROOT or passes a root.
 *
 * Also here: the kernel's CPU list format ("0-3,8,10-11"), parsed and printed.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint package; /* physical_package_id */
  guint core_id; /* core_id, for messages */
  GArray *cpus;  /* guint: the core's online threads, ascending */
} SpiritCpuCore;

typedef struct
{
  GArray *online;   /* guint: every online CPU, ascending */
  GPtrArray *cores; /* SpiritCpuCore, by their lowest CPU, ascending */
  guint n_packages; /* distinct packages among the cores */
} SpiritCpuTopology;

SpiritCpuTopology *spirit_cpu_topology_read (const char *sysfs_root, GError **error);
void spirit_cpu_topology_free (SpiritCpuTopology *topology);
guint spirit_cpu_topology_get_n_cpus (const SpiritCpuTopology *topology);
const SpiritCpuCore *spirit_cpu_topology_find_core (const SpiritCpuTopology *topology, guint cpu);
gboolean spirit_cpu_topology_is_online (const SpiritCpuTopology *topology, guint cpu);

GArray *spirit_cpu_list_parse (const char *text, GError **error);
char *spirit_cpu_list_format (const guint *cpus, guint n_cpus);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritCpuTopology, spirit_cpu_topology_free)

G_END_DECLS
