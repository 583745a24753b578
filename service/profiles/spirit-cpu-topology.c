/* spirit-cpu-topology.c: reads /sys/devices/system/cpu into cores of SMT siblings. */
#define G_LOG_DOMAIN "spirit-cpu-topology"

#include "spirit-cpu-topology.h"
#include "spirit-host-sysfs.h"
#include "spirit-error.h"

#include <stdlib.h>

#define CPU_DIR "/sys/devices/system/cpu"
/* Far above any real machine; bounds what a malformed list can make us allocate. */
#define CPU_ID_MAX 65535

static void
cpu_core_free (SpiritCpuCore *core)
{
  g_array_unref (core->cpus);
  g_free (core);
}

void
spirit_cpu_topology_free (SpiritCpuTopology *topology)
{
  if (topology == NULL)
    return;
  g_clear_pointer (&topology->online, g_array_unref);
  g_clear_pointer (&topology->cores, g_ptr_array_unref);
  g_free (topology);
}

static gboolean
parse_cpu_id (const char *text, guint *cpu)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 0, CPU_ID_MAX, &value, NULL))
    return FALSE;
  *cpu = (guint)value;
  return TRUE;
}

/* "0-3,8,10-11" → 0,1,2,3,8,10,11 in the order written. Refuses empty items, reversed ranges
 * and a CPU named twice, since a list that says that is a mistake, not a request. */
GArray *
spirit_cpu_list_parse (const char *text, GError **error)
{
  g_autoptr (GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);
  g_auto (GStrv) items = NULL;

  g_return_val_if_fail (text != NULL, NULL);

  items = g_strsplit (text, ",", -1);
  if (items[0] == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Empty CPU list: name CPUs like 2-5 or 2,3,10,11");
      return NULL;
    }
  for (guint i = 0; items[i] != NULL; i++)
    {
      g_auto (GStrv) bounds = g_strsplit (g_strstrip (items[i]), "-", 3);
      guint first, last;

      if (bounds[0] == NULL || !parse_cpu_id (bounds[0], &first)
          || (bounds[1] != NULL && (bounds[2] != NULL || !parse_cpu_id (bounds[1], &last))))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "\"%s\" is not a CPU list: name CPUs like 2-5 or 2,3,10,11", text);
          return NULL;
        }
      if (bounds[1] == NULL)
        last = first;
      if (last < first)
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "CPU range %u-%u in \"%s\" runs backwards: write it as %u-%u", first, last,
                       text, last, first);
          return NULL;
        }
      for (guint cpu = first; cpu <= last; cpu++)
        {
          if (!g_hash_table_add (seen, GUINT_TO_POINTER (cpu + 1)))
            {
              g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           "CPU %u appears twice in \"%s\": name each CPU once", cpu, text);
              return NULL;
            }
          g_array_append_val (cpus, cpu);
        }
    }
  return g_steal_pointer (&cpus);
}

static int
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *)a, y = *(const guint *)b;

  return x < y ? -1 : x > y;
}

/* Sorted, with runs of three or more folded into ranges: "0-3,8,10,11". */
char *
spirit_cpu_list_format (const guint *cpus, guint n_cpus)
{
  g_autofree guint *sorted = NULL;
  GString *out = g_string_new (NULL);
  guint i = 0;

  if (n_cpus == 0)
    return g_string_free (out, FALSE);
  sorted = g_memdup2 (cpus, n_cpus * sizeof (guint));
  qsort (sorted, n_cpus, sizeof (guint), compare_uint);
  while (i < n_cpus)
    {
      guint j = i;

      while (j + 1 < n_cpus && sorted[j + 1] == sorted[j] + 1)
        j++;
      if (out->len > 0)
        g_string_append_c (out, ',');
      if (j - i >= 2)
        g_string_append_printf (out, "%u-%u", sorted[i], sorted[j]);
      else if (j - i == 1)
        g_string_append_printf (out, "%u,%u", sorted[i], sorted[j]);
      else
        g_string_append_printf (out, "%u", sorted[i]);
      i = j + 1;
    }
  return g_string_free (out, FALSE);
}

static gboolean
array_contains (GArray *array, guint value)
{
  for (guint i = 0; i < array->len; i++)
    if (g_array_index (array, guint, i) == value)
      return TRUE;
  return FALSE;
}

static gboolean
read_cpu_u32 (const char *root, guint cpu, const char *file, guint *value, GError **error)
{
  g_autofree char *path = g_strdup_printf (CPU_DIR "/cpu%u/topology/%s", cpu, file);
  guint64 v;

  if (!spirit_host_sysfs_read_u64 (root, path, &v, error))
    return FALSE;
  *value = (guint)MIN (v, G_MAXUINT);
  return TRUE;
}

/* The core of `cpu`: its online siblings, ascending. */
static SpiritCpuCore *
read_core (const char *root, GArray *online, guint cpu, GError **error)
{
  g_autofree char *path = g_strdup_printf (CPU_DIR "/cpu%u/topology/thread_siblings_list", cpu);
  g_autofree char *text = NULL;
  g_autoptr (GArray) siblings = NULL;
  g_autoptr (GError) local_error = NULL;
  SpiritCpuCore *core;

  text = spirit_host_sysfs_read (root, path, error);
  if (text == NULL)
    return NULL;
  siblings = spirit_cpu_list_parse (g_strstrip (text), &local_error);
  if (siblings == NULL || !array_contains (siblings, cpu))
    {
      g_autofree char *full = spirit_host_sysfs_path (root, path);
      g_set_error (
        error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
        "%s holds \"%s\", which is not a CPU list naming CPU %u: check the kernel's sysfs", full,
        text, cpu);
      return NULL;
    }

  core = g_new0 (SpiritCpuCore, 1);
  core->cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < siblings->len; i++)
    {
      guint sibling = g_array_index (siblings, guint, i);
      if (array_contains (online, sibling))
        g_array_append_val (core->cpus, sibling);
    }
  g_array_sort (core->cpus, compare_uint);
  if (!read_cpu_u32 (root, cpu, "physical_package_id", &core->package, error)
      || !read_cpu_u32 (root, cpu, "core_id", &core->core_id, error))
    {
      cpu_core_free (core);
      return NULL;
    }
  return core;
}

SpiritCpuTopology *
spirit_cpu_topology_read (const char *sysfs_root, GError **error)
{
  g_autoptr (SpiritCpuTopology) topology = g_new0 (SpiritCpuTopology, 1);
  g_autoptr (GHashTable) assigned = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) packages = g_hash_table_new (NULL, NULL);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *online_text = NULL;

  online_text = spirit_host_sysfs_read (sysfs_root, CPU_DIR "/online", error);
  if (online_text == NULL)
    return NULL;
  topology->online = spirit_cpu_list_parse (g_strstrip (online_text), &local_error);
  if (topology->online == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "Cannot read the host's online CPUs: %s", local_error->message);
      return NULL;
    }
  g_array_sort (topology->online, compare_uint);
  topology->cores = g_ptr_array_new_with_free_func ((GDestroyNotify)cpu_core_free);

  for (guint i = 0; i < topology->online->len; i++)
    {
      guint cpu = g_array_index (topology->online, guint, i);
      SpiritCpuCore *core;

      if (g_hash_table_contains (assigned, GUINT_TO_POINTER (cpu + 1)))
        continue;
      core = read_core (sysfs_root, topology->online, cpu, error);
      if (core == NULL)
        return NULL;
      for (guint j = 0; j < core->cpus->len; j++)
        g_hash_table_add (assigned, GUINT_TO_POINTER (g_array_index (core->cpus, guint, j) + 1));
      g_hash_table_add (packages, GUINT_TO_POINTER (core->package + 1));
      g_ptr_array_add (topology->cores, core);
    }
  topology->n_packages = g_hash_table_size (packages);
  return g_steal_pointer (&topology);
}

guint
spirit_cpu_topology_get_n_cpus (const SpiritCpuTopology *topology)
{
  return topology->online->len;
}

gboolean
spirit_cpu_topology_is_online (const SpiritCpuTopology *topology, guint cpu)
{
  return array_contains (topology->online, cpu);
}

const SpiritCpuCore *
spirit_cpu_topology_find_core (const SpiritCpuTopology *topology, guint cpu)
{
  for (guint i = 0; i < topology->cores->len; i++)
    {
      const SpiritCpuCore *core = g_ptr_array_index (topology->cores, i);
      if (array_contains (core->cpus, cpu))
        return core;
    }
  return NULL;
}
