/* spirit-cpu-pinning.c: computes vcpupin/emulatorpin from the host's cores (rules in the header).
 */
#define G_LOG_DOMAIN "spirit-cpu-pinning"

#include "spirit-cpu-pinning.h"
#include "spirit-error.h"

void
spirit_cpu_pinning_free (SpiritCpuPinning *pinning)
{
  if (pinning == NULL)
    return;
  g_free (pinning->vcpu_cpus);
  g_free (pinning->vcpu_cpuset);
  g_free (pinning->emulator_cpuset);
  g_free (pinning);
}

static char *
core_cpuset (const SpiritCpuCore *core)
{
  return spirit_cpu_list_format ((const guint *)(gpointer)core->cpus->data, core->cpus->len);
}

/* `cores` (borrowed SpiritCpuCore pointers) in vCPU order: vCPUs fill a core's threads first. */
static SpiritCpuPinning *
pinning_new (const SpiritCpuTopology *topology,
             GPtrArray *cores,
             guint sockets,
             guint cores_per_socket,
             guint threads)
{
  SpiritCpuPinning *pinning = g_new0 (SpiritCpuPinning, 1);
  g_autoptr (GHashTable) used = g_hash_table_new (NULL, NULL);
  g_autoptr (GArray) left = g_array_new (FALSE, FALSE, sizeof (guint));
  guint n = 0;

  for (guint i = 0; i < cores->len; i++)
    n += ((SpiritCpuCore *)g_ptr_array_index (cores, i))->cpus->len;
  pinning->n_vcpus = n;
  pinning->vcpu_cpus = g_new0 (guint, n);
  n = 0;
  for (guint i = 0; i < cores->len; i++)
    {
      const SpiritCpuCore *core = g_ptr_array_index (cores, i);
      for (guint t = 0; t < core->cpus->len; t++)
        {
          guint cpu = g_array_index (core->cpus, guint, t);
          pinning->vcpu_cpus[n++] = cpu;
          g_hash_table_add (used, GUINT_TO_POINTER (cpu + 1));
        }
    }
  for (guint i = 0; i < topology->online->len; i++)
    {
      guint cpu = g_array_index (topology->online, guint, i);
      if (!g_hash_table_contains (used, GUINT_TO_POINTER (cpu + 1)))
        g_array_append_val (left, cpu);
    }
  pinning->vcpu_cpuset = spirit_cpu_list_format (pinning->vcpu_cpus, pinning->n_vcpus);
  pinning->emulator_cpuset
    = spirit_cpu_list_format ((const guint *)(gpointer)left->data, left->len);
  pinning->sockets = sockets;
  pinning->cores = cores_per_socket;
  pinning->threads = threads;
  return pinning;
}

/* Packages in the order of their lowest CPU. */
static GArray *
list_packages (const SpiritCpuTopology *topology)
{
  GArray *packages = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < topology->cores->len; i++)
    {
      const SpiritCpuCore *core = g_ptr_array_index (topology->cores, i);
      gboolean known = FALSE;

      for (guint j = 0; j < packages->len && !known; j++)
        known = g_array_index (packages, guint, j) == core->package;
      if (!known)
        g_array_append_val (packages, core->package);
    }
  return packages;
}

/* The guest's cores: every core but the host's, of `width` threads, in `package`. */
static GPtrArray *
free_cores (const SpiritCpuTopology *topology,
            const SpiritCpuCore *host_core,
            guint package,
            guint width)
{
  GPtrArray *cores = g_ptr_array_new ();

  for (guint i = 0; i < topology->cores->len; i++)
    {
      SpiritCpuCore *core = g_ptr_array_index (topology->cores, i);
      if (core != host_core && core->package == package && core->cpus->len == width)
        g_ptr_array_add (cores, core);
    }
  return cores;
}

/* Tries `n_sockets` packages with `per_socket` free cores of `width` each, in package order. */
static SpiritCpuPinning *
try_sockets (const SpiritCpuTopology *topology,
             const SpiritCpuCore *host_core,
             GArray *packages,
             guint width,
             guint n_sockets,
             guint per_socket)
{
  g_autoptr (GPtrArray) chosen = g_ptr_array_new ();
  guint found = 0;

  for (guint p = 0; p < packages->len && found < n_sockets; p++)
    {
      g_autoptr (GPtrArray) cores
        = free_cores (topology, host_core, g_array_index (packages, guint, p), width);
      if (cores->len < per_socket)
        continue;
      for (guint c = 0; c < per_socket; c++)
        g_ptr_array_add (chosen, g_ptr_array_index (cores, c));
      found++;
    }
  if (found < n_sockets)
    return NULL;
  return pinning_new (topology, chosen, n_sockets, per_socket, width);
}

static guint
max_free_threads_on_one_socket (const SpiritCpuTopology *topology,
                                const SpiritCpuCore *host_core,
                                GArray *packages,
                                guint width)
{
  guint best = 0;

  for (guint p = 0; p < packages->len; p++)
    {
      g_autoptr (GPtrArray) cores
        = free_cores (topology, host_core, g_array_index (packages, guint, p), width);
      best = MAX (best, cores->len * width);
    }
  return best;
}

/* No width of free cores divides the request, or no even split over sockets exists. */
static void
set_refusal (GError **error,
             const SpiritCpuTopology *topology,
             const SpiritCpuCore *host_core,
             GArray *packages,
             GArray *widths,
             guint vcpus,
             guint available)
{
  guint widest = g_array_index (widths, guint, 0);
  guint one_socket = 0;
  gboolean divisible = FALSE;

  for (guint w = 0; w < widths->len; w++)
    {
      guint width = g_array_index (widths, guint, w);
      divisible = divisible || vcpus % width == 0;
      one_socket
        = MAX (one_socket, max_free_threads_on_one_socket (topology, host_core, packages, width));
    }
  if (!divisible)
    {
      guint lower = vcpus / widest * widest;
      g_autoptr (GString) suggest = g_string_new (NULL);

      if (lower > 0)
        g_string_append_printf (suggest, "%u", lower);
      if (lower + widest <= available)
        g_string_append_printf (suggest, "%s%u", suggest->len ? " or " : "", lower + widest);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "%u vCPU(s) cannot be pinned to whole cores: this host's cores have %u threads "
                   "each, and Spirit never splits a core between the guest and the host. Ask for "
                   "a multiple of %u vCPUs (%s), or pin an explicit CPU list",
                   vcpus, widest, widest, suggest->str);
      return;
    }
  g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
               "%u vCPUs do not fit on one socket of this host (at most %u there, after the "
               "host's core) and cannot be split evenly over its sockets: ask for at most %u "
               "vCPUs, or pin an explicit CPU list",
               vcpus, one_socket, one_socket);
}

static SpiritCpuPinning *
compute_auto (const SpiritCpuTopology *topology, guint vcpus, GError **error)
{
  const SpiritCpuCore *host_core = g_ptr_array_index (topology->cores, 0);
  g_autofree char *host_cpus = core_cpuset (host_core);
  g_autoptr (GArray) packages = list_packages (topology);
  g_autoptr (GArray) widths = g_array_new (FALSE, FALSE, sizeof (guint));
  guint available = 0;

  if (topology->cores->len < 2)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "This host has a single core (CPU %s), which Spirit leaves to the host: "
                   "create the VM without CPU pinning",
                   host_cpus);
      return NULL;
    }
  for (guint i = 1; i < topology->cores->len; i++)
    {
      const SpiritCpuCore *core = g_ptr_array_index (topology->cores, i);
      gboolean known = FALSE;

      available += core->cpus->len;
      for (guint j = 0; j < widths->len && !known; j++)
        known = g_array_index (widths, guint, j) == core->cpus->len;
      if (!known)
        g_array_append_val (widths, core->cpus->len);
    }
  if (vcpus > available)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "%u vCPUs cannot be pinned: this host has %u CPUs and Spirit leaves the core "
                   "of CPU %s to the host, so at most %u vCPUs can be pinned. Ask for %u vCPUs "
                   "or fewer, or create the VM without pinning",
                   vcpus, spirit_cpu_topology_get_n_cpus (topology), host_cpus, available,
                   available);
      return NULL;
    }

  /* Widest cores first: on a hybrid CPU that is the performance cores. */
  for (guint w = 0; w < widths->len; w++)
    for (guint j = w + 1; j < widths->len; j++)
      if (g_array_index (widths, guint, j) > g_array_index (widths, guint, w))
        {
          guint tmp = g_array_index (widths, guint, w);
          g_array_index (widths, guint, w) = g_array_index (widths, guint, j);
          g_array_index (widths, guint, j) = tmp;
        }

  for (guint w = 0; w < widths->len; w++)
    {
      guint width = g_array_index (widths, guint, w);
      guint need;

      if (vcpus % width != 0)
        continue;
      need = vcpus / width;
      for (guint sockets = 1; sockets <= packages->len; sockets++)
        {
          SpiritCpuPinning *pinning;

          if (need % sockets != 0)
            continue;
          pinning = try_sockets (topology, host_core, packages, width, sockets, need / sockets);
          if (pinning != NULL)
            return pinning;
        }
    }
  set_refusal (error, topology, host_core, packages, widths, vcpus, available);
  return NULL;
}

/* An explicit list, as a set of whole cores; ordered by package, then core. */
static SpiritCpuPinning *
compute_list (const SpiritCpuTopology *topology, guint vcpus, const char *request, GError **error)
{
  g_autoptr (GArray) cpus = NULL;
  g_autoptr (GPtrArray) chosen = g_ptr_array_new ();
  g_autoptr (GArray) packages = NULL;
  g_autoptr (GArray) per_package = g_array_new (FALSE, TRUE, sizeof (guint));
  g_autofree char *online = NULL;
  guint width = 0, sockets = 0, per_socket = 0;
  gboolean regular = TRUE;

  cpus = spirit_cpu_list_parse (request, error);
  if (cpus == NULL)
    return NULL;
  if (cpus->len != vcpus)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The pin list \"%s\" names %u CPUs for %u vCPUs: name exactly %u CPUs, or ask "
                   "for %u vCPUs",
                   request, cpus->len, vcpus, vcpus, cpus->len);
      return NULL;
    }
  online = spirit_cpu_list_format ((const guint *)(gpointer)topology->online->data,
                                   topology->online->len);
  for (guint i = 0; i < cpus->len; i++)
    {
      guint cpu = g_array_index (cpus, guint, i);

      if (spirit_cpu_topology_find_core (topology, cpu) == NULL)
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "CPU %u in the pin list \"%s\" is not an online CPU of this host (online: "
                       "%s): remove it or name an online CPU",
                       cpu, request, online);
          return NULL;
        }
    }
  for (guint i = 0; i < cpus->len; i++)
    {
      guint cpu = g_array_index (cpus, guint, i);
      const SpiritCpuCore *core = spirit_cpu_topology_find_core (topology, cpu);

      for (guint t = 0; t < core->cpus->len; t++)
        {
          guint sibling = g_array_index (core->cpus, guint, t);
          gboolean listed = FALSE;

          for (guint j = 0; j < cpus->len && !listed; j++)
            listed = g_array_index (cpus, guint, j) == sibling;
          if (!listed)
            {
              g_autofree char *core_cpus = core_cpuset (core);
              g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           "The pin list \"%s\" takes CPU %u but not its SMT sibling %u (core "
                           "%s): add %u or remove %u. Spirit never splits a core between the "
                           "guest and the host",
                           request, cpu, sibling, core_cpus, sibling, cpu);
              return NULL;
            }
        }
    }
  if (cpus->len == topology->online->len)
    {
      g_autofree char *host_cpus = core_cpuset (g_ptr_array_index (topology->cores, 0));
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The pin list \"%s\" takes every core of this host: leave at least one core "
                   "with its SMT siblings to the host (for example remove %s)",
                   request, host_cpus);
      return NULL;
    }

  /* Whole cores, in package order, then by their lowest CPU. */
  packages = list_packages (topology);
  g_array_set_size (per_package, packages->len);
  for (guint p = 0; p < packages->len; p++)
    for (guint i = 0; i < topology->cores->len; i++)
      {
        SpiritCpuCore *core = g_ptr_array_index (topology->cores, i);
        guint first = g_array_index (core->cpus, guint, 0);
        gboolean listed = FALSE;

        if (core->package != g_array_index (packages, guint, p))
          continue;
        for (guint j = 0; j < cpus->len && !listed; j++)
          listed = g_array_index (cpus, guint, j) == first;
        if (!listed)
          continue;
        g_ptr_array_add (chosen, core);
        g_array_index (per_package, guint, p)++;
        if (width == 0)
          width = core->cpus->len;
        regular = regular && core->cpus->len == width;
      }
  for (guint p = 0; p < packages->len; p++)
    {
      guint n = g_array_index (per_package, guint, p);
      if (n == 0)
        continue;
      sockets++;
      if (per_socket == 0)
        per_socket = n;
      regular = regular && n == per_socket;
    }
  /* Mixed core widths or an uneven spread have no honest sockets/cores/threads: flat. */
  if (!regular)
    return pinning_new (topology, chosen, 1, vcpus, 1);
  return pinning_new (topology, chosen, sockets, per_socket, width);
}

SpiritCpuPinning *
spirit_cpu_pinning_compute (const SpiritCpuTopology *topology,
                            guint vcpus,
                            const char *request,
                            GError **error)
{
  g_return_val_if_fail (topology != NULL, NULL);
  g_return_val_if_fail (request != NULL, NULL);

  if (vcpus == 0)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "A VM needs at least one vCPU: ask for 1 or more");
      return NULL;
    }
  if (topology->cores->len == 0)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "The host reports no online CPU in sysfs: check /sys/devices/system/cpu");
      return NULL;
    }
  if (g_str_equal (request, "auto"))
    return compute_auto (topology, vcpus, error);
  return compute_list (topology, vcpus, request, error);
}
