/* spirit-gpu-swap-test.c: libspirit_gpu against a real kernel, inside the QEMU test guest.
 *
 * The guest (tests/gpu/guest-init) runs this as its only job. It prints one machine-readable line
 * per check to stdout (the serial console), which tests/gpu/test-gpu-guest.py asserts on:
 *   SPIRIT-GPU-INFO <key=value>...       facts (drivers, group, nodes, timings)
 *   SPIRIT-GPU-CASE <name> PASS|FAIL <detail>
 *   SPIRIT-GPU-BENCH <n> to_vfio_ms=<x> to_host_ms=<y>
 *   SPIRIT-GPU-RESULT PASS|FAIL cases=<n> failed=<names>
 * Usage: spirit-gpu-swap-test [--bench N] [--expect-gpu ADDRESS]
 * Every case ends by checking that the GPU is on its host drivers with its device nodes; a case
 * that leaves it elsewhere fails, and so do all the cases after it.
 */
#define G_LOG_DOMAIN "spirit-gpu-swap-test"

#include "spirit-gpu-discovery.h"
#include "spirit-gpu-error.h"
#include "spirit-gpu-monitor.h"
#include "spirit-sysfs.h"
#include "spirit-vfio-bind.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static char *gpu_address = NULL;
static GPtrArray *failed_cases;
static guint n_cases;
static GHashTable *host_drivers; /* address → driver at the start */

static void report (const char *name, gboolean ok, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
report (const char *name, gboolean ok, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  /* one line: newlines in error messages would split it */
  g_strdelimit (detail, "\n", ' ');
  printf ("SPIRIT-GPU-CASE %s %s %s\n", name, ok ? "PASS" : "FAIL", detail);
  fflush (stdout);
  n_cases++;
  if (!ok)
    g_ptr_array_add (failed_cases, g_strdup (name));
}

static void info (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
info (const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  printf ("SPIRIT-GPU-INFO %s\n", text);
  fflush (stdout);
}

static char *
drivers_now (SpiritGpu *gpu)
{
  GPtrArray *functions = spirit_gpu_get_functions (gpu);
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < functions->len; i++)
    {
      const char *address = spirit_pci_device_get_address (g_ptr_array_index (functions, i));
      g_autofree char *driver = spirit_pci_read_driver (address, NULL);

      g_string_append_printf (text, "%s%s=%s", i ? "," : "", address, driver ? driver : "none");
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static char *
nodes_now (SpiritGpu *gpu)
{
  GPtrArray *functions = spirit_gpu_get_functions (gpu);
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < functions->len; i++)
    {
      const char *address = spirit_pci_device_get_address (g_ptr_array_index (functions, i));
      g_autoptr (GPtrArray) nodes = spirit_pci_list_device_nodes (address, NULL);

      for (guint j = 0; nodes != NULL && j < nodes->len; j++)
        {
          SpiritDevNode *node = g_ptr_array_index (nodes, j);

          if (g_file_test (node->path, G_FILE_TEST_EXISTS))
            g_string_append_printf (text, "%s%s", text->len ? "," : "", node->path);
        }
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
is_char_device (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 && S_ISCHR (st.st_mode);
}

/* Every function on its starting driver, no override left, a DRM card and a sound control node,
 * and fbcon bound. */
static gboolean
on_host (SpiritGpu *gpu, GString *why)
{
  GPtrArray *functions = spirit_gpu_get_functions (gpu);
  g_autofree char *nodes = nodes_now (gpu);
  g_autofree char *vtcon = spirit_sysfs_read_or_null ("/sys/class/vtconsole/vtcon1/bind");
  gboolean ok = TRUE;

  for (guint i = 0; i < functions->len; i++)
    {
      const char *address = spirit_pci_device_get_address (g_ptr_array_index (functions, i));
      g_autofree char *driver = spirit_pci_read_driver (address, NULL);
      g_autofree char *override = spirit_pci_read_driver_override (address, NULL);
      const char *want = g_hash_table_lookup (host_drivers, address);

      if (g_strcmp0 (driver, want) != 0 || override != NULL)
        {
          g_string_append_printf (why, " %s on %s (override %s), expected %s;", address,
                                  driver ? driver : "none", override ? override : "none", want);
          ok = FALSE;
        }
    }
  if (strstr (nodes, "/dev/dri/card") == NULL || strstr (nodes, "/dev/snd/controlC") == NULL)
    {
      g_string_append_printf (why, " nodes are only [%s];", nodes);
      ok = FALSE;
    }
  if (g_strcmp0 (vtcon, "1") != 0)
    {
      g_string_append_printf (why, " vtcon1 bind is %s;", vtcon ? vtcon : "missing");
      ok = FALSE;
    }
  return ok;
}

static gboolean
on_vfio (SpiritGpu *gpu, GString *why)
{
  GPtrArray *functions = spirit_gpu_get_functions (gpu);
  g_autofree char *node = g_strdup_printf ("/dev/vfio/%d", spirit_gpu_get_iommu_group (gpu));
  gboolean ok = TRUE;

  for (guint i = 0; i < functions->len; i++)
    {
      const char *address = spirit_pci_device_get_address (g_ptr_array_index (functions, i));
      g_autofree char *driver = spirit_pci_read_driver (address, NULL);

      if (g_strcmp0 (driver, SPIRIT_VFIO_DRIVER) != 0)
        {
          g_string_append_printf (why, " %s on %s;", address, driver ? driver : "none");
          ok = FALSE;
        }
    }
  if (!is_char_device (node))
    {
      g_string_append_printf (why, " %s is not a character device;", node);
      ok = FALSE;
    }
  return ok;
}

static double
ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

static void
case_discovery (SpiritGpu **gpu_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) gpus = spirit_gpu_discover_all (&error);
  SpiritGpu *gpu;
  GPtrArray *functions;
  g_autoptr (GString) names = g_string_new (NULL);
  g_autofree char *drivers = NULL;
  g_autofree char *nodes = NULL;

  if (gpus == NULL || gpus->len != 1)
    {
      report ("discovery", FALSE, "expected one GPU, got %d: %s", gpus ? (int)gpus->len : -1,
              error ? error->message : "");
      return;
    }
  gpu = g_ptr_array_index (gpus, 0);
  functions = spirit_gpu_get_functions (gpu);
  for (guint i = 0; i < functions->len; i++)
    {
      SpiritPciDevice *function = g_ptr_array_index (functions, i);

      g_hash_table_insert (host_drivers, g_strdup (spirit_pci_device_get_address (function)),
                           g_strdup (spirit_pci_device_get_driver (function)));
      g_string_append_printf (names, "%s%s", i ? "," : "",
                              spirit_pci_device_get_address (function));
    }
  drivers = drivers_now (gpu);
  nodes = nodes_now (gpu);
  info ("gpu=%s class=0x%06x id=%04x:%04x boot_vga=%d group=%d functions=%s drivers=%s nodes=%s "
        "vendor=\"%s\" model=\"%s\"",
        spirit_gpu_get_address (gpu), spirit_pci_device_get_class (spirit_gpu_get_device (gpu)),
        spirit_pci_device_get_vendor_id (spirit_gpu_get_device (gpu)),
        spirit_pci_device_get_device_id (spirit_gpu_get_device (gpu)),
        spirit_gpu_get_boot_vga (gpu), spirit_gpu_get_iommu_group (gpu), names->str, drivers, nodes,
        spirit_gpu_get_vendor_name (gpu) ? spirit_gpu_get_vendor_name (gpu) : "",
        spirit_gpu_get_model_name (gpu) ? spirit_gpu_get_model_name (gpu) : "");
  if (gpu_address != NULL && !g_str_equal (gpu_address, spirit_gpu_get_address (gpu)))
    {
      report ("discovery", FALSE, "found %s, expected %s", spirit_gpu_get_address (gpu),
              gpu_address);
      return;
    }
  if (functions->len != 2 || spirit_gpu_get_groups (gpu)->len != 1)
    {
      report ("discovery", FALSE, "expected 2 functions in 1 group: %s", names->str);
      return;
    }
  if (!spirit_gpu_check_viable (gpu, &error))
    {
      report ("discovery", FALSE, "not viable: %s", error->message);
      return;
    }
  report ("discovery", TRUE, "%s with %u functions in IOMMU group %d, viable",
          spirit_gpu_get_address (gpu), functions->len, spirit_gpu_get_iommu_group (gpu));
  *gpu_out = g_object_ref (gpu);
}

static guint monitor_events;

static void
on_monitor_changed (SpiritGpuMonitor *monitor,
                    const char *address,
                    const char *action,
                    gpointer data)
{
  SpiritGpu *gpu = data;

  if (address != NULL && g_ascii_strncasecmp (address, spirit_gpu_get_address (gpu), 10) == 0)
    monitor_events++;
}

/* The main case: both functions to vfio-pci, /dev/vfio/GROUP, and back. */
static void
case_swap (SpiritGpu *gpu)
{
  g_autoptr (SpiritVfioSwap) swap = spirit_vfio_swap_new (gpu);
  g_autoptr (SpiritGpuMonitor) monitor = spirit_gpu_monitor_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *drivers = NULL, *nodes = NULL, *vfio_node = NULL;
  gint64 start;
  double to_vfio_ms, to_host_ms;

  g_signal_connect (monitor, "changed", G_CALLBACK (on_monitor_changed), gpu);
  start = g_get_monotonic_time ();
  if (!spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error))
    {
      report ("to-vfio", FALSE, "%s", error->message);
      return;
    }
  to_vfio_ms = ms_since (start);
  drivers = drivers_now (gpu);
  vfio_node = g_strdup_printf ("/dev/vfio/%d", spirit_gpu_get_iommu_group (gpu));
  info ("state=vfio drivers=%s vfio_node=%s char_device=%d ms=%.1f", drivers, vfio_node,
        is_char_device (vfio_node), to_vfio_ms);
  report ("to-vfio", on_vfio (gpu, why), "%s in %.1f ms;%s", drivers, to_vfio_ms, why->str);

  g_string_truncate (why, 0);
  start = g_get_monotonic_time ();
  if (!spirit_vfio_swap_to_host (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error))
    {
      report ("to-host", FALSE, "%s", error->message);
      return;
    }
  to_host_ms = ms_since (start);
  g_clear_pointer (&drivers, g_free);
  drivers = drivers_now (gpu);
  nodes = nodes_now (gpu);
  info ("state=host drivers=%s nodes=%s ms=%.1f", drivers, nodes, to_host_ms);
  report ("to-host", on_host (gpu, why), "%s nodes %s in %.1f ms;%s", drivers, nodes, to_host_ms,
          why->str);

  /* the uevents of the swap are queued on the monitor's socket: dispatch them now */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  report ("monitor", monitor_events >= 4, "%u events for the GPU's slot from the %s source",
          monitor_events, spirit_gpu_monitor_get_source (monitor));
}

static GSubprocess *
spawn_holder (const char *node, GError **error)
{
  g_autoptr (GSubprocess) holder = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;

  /* The shell opens the node as fd 3 and becomes cat. A line written to cat's stdin comes back
   * on its stdout only once the exec is done: then the holder is cat, with the node open. */
  holder
    = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, error,
                        "/bin/sh", "-c", "exec 3<\"$0\" && exec cat", node, NULL);
  if (holder == NULL)
    return NULL;
  if (!g_output_stream_write_all (g_subprocess_get_stdin_pipe (holder), "ready\n", 6, NULL, NULL,
                                  error))
    return NULL;
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (holder));
  line = g_data_input_stream_read_line (out, NULL, NULL, error);
  if (g_strcmp0 (line, "ready") != 0)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the holder did not open %s", node);
      return NULL;
    }
  return g_steal_pointer (&holder);
}

/* What the holder has open as fd 3 and which nodes the GPU has now, for a failure's detail. */
static char *
describe_hold (GSubprocess *holder, SpiritGpu *gpu)
{
  g_autofree char *fd_path
    = g_strdup_printf ("/proc/%s/fd/3", g_subprocess_get_identifier (holder));
  g_autofree char *target = g_file_read_link (fd_path, NULL);
  g_autofree char *nodes = nodes_now (gpu);
  struct stat st;

  if (stat (fd_path, &st) != 0)
    return g_strdup_printf ("holder fd 3: %s; GPU nodes: %s", g_strerror (errno), nodes);
  return g_strdup_printf ("holder fd 3: %s (%u:%u); GPU nodes: %s", target ? target : "?",
                          major (st.st_rdev), minor (st.st_rdev), nodes);
}

static void
case_holders (SpiritGpu *gpu)
{
  g_autoptr (SpiritVfioSwap) swap = spirit_vfio_swap_new (gpu);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) holder = spawn_holder ("/dev/dri/card0", &error);
  g_autoptr (GString) why = g_string_new (NULL);
  g_autofree char *expect = NULL;
  g_autofree char *hold = NULL;

  if (holder == NULL)
    {
      report ("holders-refused", FALSE, "%s", error->message);
      return;
    }
  expect = g_strdup_printf ("cat (pid %s) on /dev/dri/card0", g_subprocess_get_identifier (holder));
  hold = describe_hold (holder, gpu);
  if (spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error))
    report ("holders-refused", FALSE, "the swap went ahead under an open /dev/dri/card0 (%s)",
            hold);
  else
    report ("holders-refused",
            g_error_matches (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_BUSY)
              && strstr (error->message, expect) != NULL && on_host (gpu, why)
              && !g_subprocess_get_if_exited (holder),
            "%s;%s", error->message, why->str);
  g_clear_error (&error);

  if (!spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_FORCE, NULL, &error))
    {
      report ("holders-forced", FALSE, "%s", error->message);
      return;
    }
  g_subprocess_wait (holder, NULL, NULL);
  report ("holders-forced",
          on_vfio (gpu, why) && g_subprocess_get_if_signaled (holder)
            && g_subprocess_get_term_sig (holder) == SIGTERM,
          "holder ended by signal %d;%s",
          g_subprocess_get_if_signaled (holder) ? g_subprocess_get_term_sig (holder) : 0, why->str);
  g_string_truncate (why, 0);
  if (!spirit_vfio_swap_to_host (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error))
    report ("holders-back", FALSE, "%s", error->message);
  else
    report ("holders-back", on_host (gpu, why), "%s", why->str);
}

typedef struct
{
  const char *name;
  const char *rule;
  SpiritVfioStep step; /* the step that must be named */
  int code;            /* the SPIRIT_GPU_ERROR code */
} ForwardFault;

/* A fault in each step of the way to vfio-pci: the swap fails, names the step, and rolls back. */
static void
case_forward_faults (SpiritGpu *gpu)
{
  const char *fn0 = spirit_gpu_get_address (gpu);
  g_autofree char *fn1 = g_strdup (fn0);
  g_autofree char *rule_override = NULL, *rule_probe = NULL, *rule_drop = NULL, *rule_unbind = NULL;
  g_autofree char *rule_node = NULL;

  fn1[11] = '1';
  rule_override = g_strdup_printf ("write:/sys/bus/pci/devices/%s/driver_override=vfio-pci", fn1);
  rule_unbind = g_strdup_printf ("write:/sys/bus/pci/drivers/*/unbind=%s", fn1);
  rule_probe = g_strdup_printf ("write:/sys/bus/pci/drivers_probe=%s", fn1);
  rule_drop = g_strdup_printf ("write:/sys/bus/pci/drivers_probe=%s,drop", fn1);
  rule_node = g_strdup ("list:/sys/kernel/iommu_groups");
  {
    const ForwardFault faults[] = {
      { "fault-check", rule_node, SPIRIT_VFIO_STEP_CHECK, SPIRIT_GPU_ERROR_IOMMU_DISABLED },
      { "fault-vtconsoles", "write:/sys/class/vtconsole/*/bind=0", SPIRIT_VFIO_STEP_VTCONSOLES,
        SPIRIT_GPU_ERROR_FAILED },
      { "fault-override", rule_override, SPIRIT_VFIO_STEP_OVERRIDE, SPIRIT_GPU_ERROR_FAILED },
      { "fault-unbind", rule_unbind, SPIRIT_VFIO_STEP_UNBIND, SPIRIT_GPU_ERROR_FAILED },
      { "fault-probe", rule_probe, SPIRIT_VFIO_STEP_PROBE, SPIRIT_GPU_ERROR_FAILED },
      { "fault-probe-timeout", rule_drop, SPIRIT_VFIO_STEP_PROBE, SPIRIT_GPU_ERROR_TIMEOUT },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (faults); i++)
      {
        g_autoptr (SpiritVfioSwap) swap = spirit_vfio_swap_new (gpu);
        g_autoptr (GError) error = NULL;
        g_autoptr (GString) why = g_string_new (NULL);
        const char *step = spirit_vfio_step_to_string (faults[i].step);
        gboolean ok;
        gint64 start = g_get_monotonic_time ();

        /* a deadline to run into for the timeout case; room for a loaded TCG host otherwise */
        spirit_vfio_swap_set_timeout (swap,
                                      faults[i].code == SPIRIT_GPU_ERROR_TIMEOUT ? 1000 : 5000);
        if (!spirit_sysfs_set_faults (faults[i].rule, &error))
          {
            report (faults[i].name, FALSE, "bad rule: %s", error->message);
            continue;
          }
        ok = !spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error);
        ok = ok && spirit_sysfs_get_faults_hit () == 1;
        spirit_sysfs_set_faults (NULL, NULL);
        ok = ok && g_error_matches (error, SPIRIT_GPU_ERROR, faults[i].code)
             && g_str_has_prefix (error->message, step)
             && spirit_vfio_swap_get_failed_step (swap) == faults[i].step
             && spirit_vfio_swap_get_phase (swap) == SPIRIT_VFIO_PHASE_HOST;
        ok = on_host (gpu, why) && ok;
        report (faults[i].name, ok, "in %.0f ms: %s;%s", ms_since (start),
                error ? error->message : "no error", why->str);
      }
  }
}

/* Faults on the way back: each heals in the next round or through the direct bind. */
static void
case_reverse_faults (SpiritGpu *gpu)
{
  const char *fn0 = spirit_gpu_get_address (gpu);
  g_autofree char *rule_clear
    = g_strdup_printf ("write:/sys/bus/pci/devices/%s/driver_override", fn0);
  g_autofree char *rule_unbind
    = g_strdup_printf ("write:/sys/bus/pci/drivers/vfio-pci/unbind=%s", fn0);
  g_autofree char *rule_probe
    = g_strdup_printf ("write:/sys/bus/pci/drivers_probe=%s,count=0", fn0);
  const struct
  {
    const char *name;
    const char *rule;
  } faults[] = {
    { "fault-clear-override", rule_clear },
    { "fault-unbind-vfio", rule_unbind },
    { "fault-probe-host", rule_probe },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      g_autoptr (SpiritVfioSwap) swap = spirit_vfio_swap_new (gpu);
      g_autoptr (GError) error = NULL;
      g_autoptr (GString) why = g_string_new (NULL);
      gboolean ok;

      if (!spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error))
        {
          report (faults[i].name, FALSE, "could not get to vfio-pci first: %s", error->message);
          continue;
        }
      spirit_sysfs_set_faults (faults[i].rule, NULL);
      ok = spirit_vfio_swap_to_host (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error);
      ok = ok && spirit_sysfs_get_faults_hit () >= 1;
      spirit_sysfs_set_faults (NULL, NULL);
      ok = on_host (gpu, why) && ok;
      report (faults[i].name, ok, "healed: %s;%s", error ? error->message : "no error", why->str);
    }
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

typedef struct
{
  gint64 start;
  gint64 last;
  SpiritVfioStep last_step;
  GString *text;
} StepTimes;

/* Time between two announced steps is the previous step's. */
static void
on_step (SpiritVfioSwap *swap, SpiritVfioStep step, const char *address, gpointer user_data)
{
  StepTimes *times = user_data;
  gint64 now = g_get_monotonic_time ();

  if (times->last_step != SPIRIT_VFIO_STEP_NONE)
    g_string_append_printf (times->text, " %s=%.2f", spirit_vfio_step_to_string (times->last_step),
                            (now - times->last) / 1000.0);
  times->last = now;
  times->last_step = step;
}

static void
steps_flush (StepTimes *times, const char *direction, guint round)
{
  on_step (NULL, SPIRIT_VFIO_STEP_NONE, NULL, times);
  printf ("SPIRIT-GPU-STEPS %u %s%s\n", round, direction, times->text->str);
  g_string_truncate (times->text, 0);
  times->last_step = SPIRIT_VFIO_STEP_NONE;
}

static void
bench (SpiritGpu *gpu, guint rounds)
{
  StepTimes times = { .text = g_string_new (NULL) };

  g_autoptr (GArray) to_vfio = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) to_host = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 1; i <= rounds; i++)
    {
      g_autoptr (SpiritVfioSwap) swap = spirit_vfio_swap_new (gpu);
      g_autoptr (GError) error = NULL;
      gint64 start;
      double a, b;

      spirit_vfio_swap_set_step_func (swap, on_step, &times, NULL);
      start = g_get_monotonic_time ();
      if (!spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error))
        {
          report ("bench", FALSE, "round %u: %s", i, error->message);
          g_string_free (times.text, TRUE);
          return;
        }
      a = ms_since (start);
      steps_flush (&times, "to_vfio", i);
      start = g_get_monotonic_time ();
      if (!spirit_vfio_swap_to_host (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error))
        {
          report ("bench", FALSE, "round %u back: %s", i, error->message);
          g_string_free (times.text, TRUE);
          return;
        }
      b = ms_since (start);
      steps_flush (&times, "to_host", i);
      printf ("SPIRIT-GPU-BENCH %u to_vfio_ms=%.2f to_host_ms=%.2f\n", i, a, b);
      fflush (stdout);
      g_array_append_val (to_vfio, a);
      g_array_append_val (to_host, b);
    }
  g_array_sort (to_vfio, compare_doubles);
  g_array_sort (to_host, compare_doubles);
  info ("bench rounds=%u to_vfio_median_ms=%.2f to_vfio_max_ms=%.2f to_host_median_ms=%.2f "
        "to_host_max_ms=%.2f",
        rounds, g_array_index (to_vfio, double, rounds / 2),
        g_array_index (to_vfio, double, rounds - 1), g_array_index (to_host, double, rounds / 2),
        g_array_index (to_host, double, rounds - 1));
  report ("bench", TRUE, "%u rounds", rounds);
  g_string_free (times.text, TRUE);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = g_option_context_new ("- libspirit_gpu on a real kernel");
  g_autoptr (SpiritGpu) gpu = NULL;
  g_autofree char *failed = NULL;
  int bench_rounds = 0;
  GOptionEntry entries[] = {
    { "bench", 0, 0, G_OPTION_ARG_INT, &bench_rounds, "Only time N swaps and back", "N" },
    { "expect-gpu", 0, 0, G_OPTION_ARG_STRING, &gpu_address, "The GPU that must be found", "ADDR" },
    { NULL },
  };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  /* a holder that exits early must fail its case, not kill the test with SIGPIPE */
  signal (SIGPIPE, SIG_IGN);
  failed_cases = g_ptr_array_new_with_free_func (g_free);
  host_drivers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  case_discovery (&gpu);
  if (gpu != NULL && bench_rounds > 0)
    bench (gpu, (guint)bench_rounds);
  else if (gpu != NULL)
    {
      case_swap (gpu);
      case_holders (gpu);
      case_forward_faults (gpu);
      case_reverse_faults (gpu);
    }

  g_ptr_array_add (failed_cases, NULL);
  failed = g_strjoinv (",", (char **)failed_cases->pdata);
  printf ("SPIRIT-GPU-RESULT %s cases=%u failed=%s\n", failed[0] ? "FAIL" : "PASS", n_cases,
          failed[0] ? failed : "none");
  fflush (stdout);
  g_ptr_array_unref (failed_cases);
  g_hash_table_unref (host_drivers);
  g_free (gpu_address);
  return failed[0] ? 1 : 0;
}
