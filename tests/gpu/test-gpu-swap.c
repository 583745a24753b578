/* test-gpu-swap.c: the binding steps and SpiritVfioSwap on the fake tree, whose kernel thread
 * binds and unbinds asynchronously. Every fault case ends by checking that the GPU is on its
 * host drivers with its device nodes and fbcon (or, where the fault cannot heal, that the swap
 * says so and names the step). */
#define G_LOG_DOMAIN "test-gpu-swap"

#include "gpu-test-tree.h"
#include "spirit-gpu-error.h"
#include "spirit-sysfs.h"
#include "spirit-vfio-bind.h"
#include "spirit-wait.h"

#include <signal.h>
#include <sys/wait.h>

/* The deadline of the cases that run into one on purpose. Everything else the fake kernel does
 * in well under a millisecond; the margin is for loaded CI machines and ASan. */
#define SHORT_TIMEOUT_MS 1000

typedef struct
{
  FakeSysfs *fs;
  SpiritGpu *gpu;
  SpiritVfioSwap *swap;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->fs = gpu_test_tree_new (TRUE);
  f->gpu = spirit_gpu_discover (TREE_GPU, &error);
  g_assert_no_error (error);
  f->swap = spirit_vfio_swap_new (f->gpu);
  spirit_vfio_swap_set_timeout (f->swap, 2000);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->swap);
  g_clear_object (&f->gpu);
  g_clear_pointer (&f->fs, fake_sysfs_free);
}

static gboolean
has_node (const char *address, const char *subsystem)
{
  g_autoptr (GPtrArray) nodes = spirit_pci_list_device_nodes (address, NULL);

  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    {
      SpiritDevNode *node = g_ptr_array_index (nodes, i);

      if (g_str_equal (node->subsystem, subsystem) && spirit_sysfs_exists (node->path))
        return TRUE;
    }
  return FALSE;
}

static void
assert_override_cleared (Fixture *f, const char *address)
{
  g_autofree char *override = spirit_pci_read_driver_override (address, NULL);

  g_assert_null (override);
}

static void
assert_driver (Fixture *f, const char *address, const char *expected)
{
  g_autofree char *driver = fake_sysfs_driver (f->fs, address);

  g_assert_cmpstr (driver, ==, expected);
}

static void
assert_on_host (Fixture *f)
{
  g_autofree char *gpu = fake_sysfs_driver (f->fs, TREE_GPU);
  g_autofree char *audio = fake_sysfs_driver (f->fs, TREE_AUDIO);
  g_autofree char *vtcon = fake_sysfs_read (f->fs, "/sys/class/vtconsole/vtcon1/bind");

  g_assert_cmpstr (gpu, ==, "nouveau");
  g_assert_cmpstr (audio, ==, "snd_hda_intel");
  assert_override_cleared (f, TREE_GPU);
  assert_override_cleared (f, TREE_AUDIO);
  g_assert_true (has_node (TREE_GPU, "drm"));
  g_assert_true (has_node (TREE_GPU, "graphics"));
  g_assert_true (has_node (TREE_AUDIO, "sound"));
  g_assert_false (fake_sysfs_exists (f->fs, "/dev/vfio/1"));
  g_assert_cmpstr (vtcon, ==, "1");
}

static void
assert_on_vfio (Fixture *f)
{
  g_autofree char *gpu = fake_sysfs_driver (f->fs, TREE_GPU);
  g_autofree char *audio = fake_sysfs_driver (f->fs, TREE_AUDIO);
  g_autofree char *override = spirit_pci_read_driver_override (TREE_GPU, NULL);

  g_assert_cmpstr (gpu, ==, "vfio-pci");
  g_assert_cmpstr (audio, ==, "vfio-pci");
  g_assert_cmpstr (override, ==, "vfio-pci");
  g_assert_true (fake_sysfs_exists (f->fs, "/dev/vfio/1"));
  g_assert_false (has_node (TREE_GPU, "drm"));
  g_assert_false (has_node (TREE_AUDIO, "sound"));
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *vtcon = NULL;
  g_auto (GStrv) addresses = spirit_vfio_swap_dup_addresses (f->swap);

  g_assert_cmpuint (g_strv_length (addresses), ==, 2);
  g_assert_cmpstr (addresses[0], ==, TREE_GPU);
  g_assert_cmpstr (addresses[1], ==, TREE_AUDIO);
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_HOST);

  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_on_vfio (f);
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_VFIO);
  vtcon = fake_sysfs_read (f->fs, "/sys/class/vtconsole/vtcon1/bind");
  g_assert_cmpstr (vtcon, ==, "0");
  /* the bridge stays on pcieport, the other GPU on i915 */
  assert_driver (f, TREE_BRIDGE, "pcieport");
  assert_driver (f, TREE_IGPU, "i915");

  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_on_host (f);
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_HOST);
  g_assert_cmpint (spirit_vfio_swap_get_failed_step (f->swap), ==, SPIRIT_VFIO_STEP_NONE);
}

/* Each step on its own: one write, then a wait on the fake kernel's asynchronous answer. */
static void
test_steps (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *override = NULL;
  const char *const drm[] = { "drm", "graphics", NULL };
  gint64 deadline = spirit_wait_deadline_after_ms (2000);

  g_assert_true (spirit_vfio_ensure_driver ("vfio-pci", deadline, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (spirit_vfio_ensure_driver ("pci-stub", deadline, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "/sys/bus/pci/drivers/pci-stub is missing"));
  g_clear_error (&error);

  g_assert_true (spirit_vfio_set_driver_override (TREE_GPU, "vfio-pci", &error));
  override = spirit_pci_read_driver_override (TREE_GPU, &error);
  g_assert_cmpstr (override, ==, "vfio-pci");

  g_assert_true (spirit_vfio_unbind (TREE_GPU, deadline, NULL, &error));
  g_assert_no_error (error);
  assert_driver (f, TREE_GPU, NULL);
  g_assert_false (has_node (TREE_GPU, "drm"));
  /* unbinding an unbound function is done already */
  g_assert_true (spirit_vfio_unbind (TREE_GPU, deadline, NULL, &error));

  g_assert_true (spirit_vfio_probe (TREE_GPU, "vfio-pci", deadline, NULL, &error));
  g_assert_no_error (error);
  assert_driver (f, TREE_GPU, "vfio-pci");
  g_assert_true (spirit_vfio_wait_group_node (TREE_GROUP, deadline, NULL, &error));
  g_assert_no_error (error);

  g_assert_true (spirit_vfio_set_driver_override (TREE_GPU, NULL, &error));
  g_clear_pointer (&override, g_free);
  override = spirit_pci_read_driver_override (TREE_GPU, &error);
  g_assert_null (override);
  g_assert_true (spirit_vfio_unbind (TREE_GPU, deadline, NULL, &error));
  g_assert_false (fake_sysfs_exists (f->fs, "/dev/vfio/1"));

  /* bind by name instead of a probe */
  g_assert_true (spirit_vfio_bind (TREE_GPU, "nouveau", deadline, NULL, &error));
  g_assert_no_error (error);
  assert_driver (f, TREE_GPU, "nouveau");
  g_assert_true (spirit_vfio_wait_nodes (TREE_GPU, drm, deadline, NULL, &error));
  g_assert_no_error (error);
}

static void
test_step_timeouts (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *const sound[] = { "sound", NULL };
  gint64 start = g_get_monotonic_time ();

  /* a driver that does not take the device: the wait runs into its deadline */
  fake_sysfs_refuse (f->fs, "vfio-pci", TREE_AUDIO);
  g_assert_true (spirit_vfio_set_driver_override (TREE_AUDIO, "vfio-pci", &error));
  g_assert_true (
    spirit_vfio_unbind (TREE_AUDIO, spirit_wait_deadline_after_ms (2000), NULL, &error));
  g_assert_false (spirit_vfio_probe (
    TREE_AUDIO, "vfio-pci", spirit_wait_deadline_after_ms (SHORT_TIMEOUT_MS), NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "waiting for vfio-pci to bind 0000:01:00.1"));
  g_clear_error (&error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, SHORT_TIMEOUT_MS * 1000);

  g_assert_false (spirit_vfio_wait_group_node (7, spirit_wait_deadline_after_ms (SHORT_TIMEOUT_MS),
                                               NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "/dev/vfio/7"));
  g_clear_error (&error);

  g_assert_false (spirit_vfio_wait_nodes (
    TREE_AUDIO, sound, spirit_wait_deadline_after_ms (SHORT_TIMEOUT_MS), NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "No sound node yet"));
  g_clear_error (&error);

  /* any host driver: the kernel picks the device's own */
  g_assert_true (spirit_vfio_set_driver_override (TREE_AUDIO, NULL, &error));
  g_assert_true (
    spirit_vfio_probe (TREE_AUDIO, NULL, spirit_wait_deadline_after_ms (2000), NULL, &error));
  g_assert_no_error (error);
  assert_driver (f, TREE_AUDIO, "snd_hda_intel");
  g_assert_true (
    spirit_vfio_wait_nodes (TREE_AUDIO, sound, spirit_wait_deadline_after_ms (2000), NULL, &error));
  g_assert_no_error (error);
}

static void
record_step (SpiritVfioSwap *swap, SpiritVfioStep step, const char *address, gpointer user_data)
{
  GString *steps = user_data;

  g_string_append_printf (steps, "%s%s%s%s", steps->len ? " " : "",
                          spirit_vfio_step_to_string (step), address ? ":" : "",
                          address ? address + 10 : "");
}

static void
test_step_order (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) steps = g_string_new (NULL);

  spirit_vfio_swap_set_step_func (f->swap, record_step, steps, NULL);
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_cmpstr (steps->str, ==,
                   "check holders vtconsoles framebuffers driver_override:.0 driver_override:.1 "
                   "unbind:.0 unbind:.1 probe:.0 probe:.1 vfio-node");
  g_string_truncate (steps, 0);
  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_cmpstr (steps->str, ==,
                   "vfio-holders clear-override:.0 unbind-vfio:.0 probe-host:.0 clear-override:.1 "
                   "unbind-vfio:.1 probe-host:.1 host-nodes:.0 host-nodes:.1 restore-vtconsoles");

  /* both directions again from where they are: nothing left to do, nothing written */
  g_string_truncate (steps, 0);
  {
    guint writes = fake_sysfs_get_writes (f->fs);

    g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (fake_sysfs_get_writes (f->fs), ==, writes);
    g_assert_cmpstr (steps->str, ==, "vfio-holders host-nodes:.0 host-nodes:.1 restore-vtconsoles");
  }
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_on_vfio (f);
  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  assert_on_host (f);
}

/* A process that holds NODE open: a shell opens it as fd 3, says so, and becomes cat. */
static GSubprocess *
spawn_holder (Fixture *f, const char *node)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = fake_sysfs_path (f->fs, node);
  g_autoptr (GSubprocess) holder
    = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                        "/bin/sh", "-c", "exec 3<\"$0\" && echo ready && exec cat", path, NULL);
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;

  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (holder));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "ready");
  return g_steal_pointer (&holder);
}

static void
test_holders (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) holder = spawn_holder (f, "/dev/snd/controlC0");
  g_autofree char *expected = g_strdup_printf ("in use by cat (pid %s) on /dev/snd/controlC0",
                                               g_subprocess_get_identifier (holder));
  guint writes = fake_sysfs_get_writes (f->fs);

  g_assert_false (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_true (g_str_has_prefix (error->message, "holders: "));
  g_assert_cmpint (spirit_vfio_swap_get_failed_step (f->swap), ==, SPIRIT_VFIO_STEP_HOLDERS);
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_HOST);
  /* refused before anything was touched */
  g_assert_cmpuint (fake_sysfs_get_writes (f->fs), ==, writes);
  assert_on_host (f);
  g_clear_error (&error);

  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_FORCE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (holder, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (holder));
  g_assert_cmpint (g_subprocess_get_term_sig (holder), ==, SIGTERM);
  assert_on_vfio (f);
}

/* QEMU still holding /dev/vfio/GROUP: unbinding vfio-pci would hang, so the way back refuses. */
static void
test_vfio_holders (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) qemu = NULL;

  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  qemu = spawn_holder (f, "/dev/vfio/1");
  g_assert_false (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_BUSY);
  g_assert_true (g_str_has_prefix (error->message, "vfio-holders: "));
  g_assert_nonnull (strstr (error->message, "on /dev/vfio/1"));
  assert_on_vfio (f);
  g_clear_error (&error);

  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_FORCE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (qemu, NULL, NULL));
  assert_on_host (f);
}

/* --- faults on the way to vfio-pci: fail, name the step, roll back ------------------------ */

typedef enum
{
  SETUP_NONE,
  SETUP_VFIO_REFUSES_AUDIO,
  SETUP_VFIO_MAKES_NO_NODE,
} FaultSetup;

typedef struct
{
  const char *name;
  const char *rule; /* SPIRIT_SYSFS_FAIL syntax; NULL for a misbehaving fake kernel */
  FaultSetup setup;
  SpiritVfioStep step;
  const char *address; /* the function named in the message, or NULL */
  int code;
  gboolean rolled_back;
} ForwardFault;

static const ForwardFault forward_faults[] = {
  { "check-iommu-groups", "list:/sys/kernel/iommu_groups", SETUP_NONE, SPIRIT_VFIO_STEP_CHECK, NULL,
    SPIRIT_GPU_ERROR_IOMMU_DISABLED, FALSE },
  { "check-read-class", "read:/sys/bus/pci/devices/0000:01:00.1/class", SETUP_NONE,
    SPIRIT_VFIO_STEP_CHECK, NULL, SPIRIT_GPU_ERROR_FAILED, FALSE },
  { "vtconsoles", "write:/sys/class/vtconsole/vtcon1/bind=0", SETUP_NONE,
    SPIRIT_VFIO_STEP_VTCONSOLES, NULL, SPIRIT_GPU_ERROR_FAILED, TRUE },
  { "driver_override-gpu", "write:/sys/bus/pci/devices/0000:01:00.0/driver_override=vfio-pci",
    SETUP_NONE, SPIRIT_VFIO_STEP_OVERRIDE, TREE_GPU, SPIRIT_GPU_ERROR_FAILED, TRUE },
  { "driver_override-audio", "write:/sys/bus/pci/devices/0000:01:00.1/driver_override=vfio-pci",
    SETUP_NONE, SPIRIT_VFIO_STEP_OVERRIDE, TREE_AUDIO, SPIRIT_GPU_ERROR_FAILED, TRUE },
  { "unbind-gpu", "write:/sys/bus/pci/drivers/nouveau/unbind", SETUP_NONE, SPIRIT_VFIO_STEP_UNBIND,
    TREE_GPU, SPIRIT_GPU_ERROR_FAILED, TRUE },
  { "unbind-audio", "write:/sys/bus/pci/drivers/snd_hda_intel/unbind", SETUP_NONE,
    SPIRIT_VFIO_STEP_UNBIND, TREE_AUDIO, SPIRIT_GPU_ERROR_FAILED, TRUE },
  { "unbind-audio-timeout", "write:/sys/bus/pci/drivers/snd_hda_intel/unbind,drop", SETUP_NONE,
    SPIRIT_VFIO_STEP_UNBIND, TREE_AUDIO, SPIRIT_GPU_ERROR_TIMEOUT, TRUE },
  { "probe-gpu", "write:/sys/bus/pci/drivers_probe=0000:01:00.0", SETUP_NONE,
    SPIRIT_VFIO_STEP_PROBE, TREE_GPU, SPIRIT_GPU_ERROR_FAILED, TRUE },
  { "probe-audio", "write:/sys/bus/pci/drivers_probe=0000:01:00.1", SETUP_NONE,
    SPIRIT_VFIO_STEP_PROBE, TREE_AUDIO, SPIRIT_GPU_ERROR_FAILED, TRUE },
  { "probe-audio-timeout", "write:/sys/bus/pci/drivers_probe=0000:01:00.1,drop", SETUP_NONE,
    SPIRIT_VFIO_STEP_PROBE, TREE_AUDIO, SPIRIT_GPU_ERROR_TIMEOUT, TRUE },
  { "probe-vfio-refuses-audio", NULL, SETUP_VFIO_REFUSES_AUDIO, SPIRIT_VFIO_STEP_PROBE, TREE_AUDIO,
    SPIRIT_GPU_ERROR_TIMEOUT, TRUE },
  { "vfio-node-timeout", NULL, SETUP_VFIO_MAKES_NO_NODE, SPIRIT_VFIO_STEP_VFIO_NODE, NULL,
    SPIRIT_GPU_ERROR_TIMEOUT, TRUE },
};

static void
test_forward_fault (Fixture *f, gconstpointer data)
{
  const ForwardFault *fault = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *prefix = NULL;

  spirit_vfio_swap_set_timeout (f->swap, SHORT_TIMEOUT_MS);
  if (fault->setup == SETUP_VFIO_REFUSES_AUDIO)
    fake_sysfs_refuse (f->fs, "vfio-pci", TREE_AUDIO);
  else if (fault->setup == SETUP_VFIO_MAKES_NO_NODE)
    fake_sysfs_set_makes_nodes (f->fs, "vfio-pci", FALSE);
  if (fault->rule != NULL)
    g_assert_true (spirit_sysfs_set_faults (fault->rule, NULL));

  g_assert_false (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  if (fault->rule != NULL)
    g_assert_cmpuint (spirit_sysfs_get_faults_hit (), ==, 1);
  g_assert_error (error, SPIRIT_GPU_ERROR, fault->code);
  prefix = g_strdup_printf ("%s%s%s: ", spirit_vfio_step_to_string (fault->step),
                            fault->address ? " " : "", fault->address ? fault->address : "");
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_cmpint (spirit_vfio_swap_get_failed_step (f->swap), ==, fault->step);
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_HOST);
  g_assert_cmpint (strstr (error->message, "(rolled back: the GPU is on its host drivers)") != NULL,
                   ==, fault->rolled_back);
  assert_on_host (f);

  /* and the next attempt, without the fault, goes through */
  spirit_sysfs_set_faults (NULL, NULL);
  if (fault->setup != SETUP_NONE)
    return;
  g_clear_error (&error);
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_on_vfio (f);
}

/* The rollback itself failing: the error says so, and the phase asks for another to_host(). */
static void
test_rollback_fails_too (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  spirit_vfio_swap_set_timeout (f->swap, SHORT_TIMEOUT_MS);
  g_assert_true (
    spirit_sysfs_set_faults ("write:/sys/bus/pci/drivers_probe=0000:01:00.1;"
                             "write:/sys/bus/pci/drivers/vfio-pci/unbind=0000:01:00.0,count=0",
                             NULL));
  g_assert_false (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "probe 0000:01:00.1: "));
  g_assert_nonnull (
    strstr (error->message, "rolling back failed too, at unbind-vfio 0000:01:00.0: "));
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_TO_HOST);
  /* the audio function is back; the GPU waits for the next to_host() */
  assert_driver (f, TREE_AUDIO, "snd_hda_intel");
  assert_driver (f, TREE_GPU, "vfio-pci");
  g_clear_error (&error);

  spirit_sysfs_set_faults (NULL, NULL);
  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_on_host (f);
}

/* --- faults on the way back: transient ones heal within the same call ---------------------- */

typedef struct
{
  const char *rule;
  guint min_hits;
} HealingFault;

static const HealingFault healing_faults[] = {
  { "write:/sys/bus/pci/devices/0000:01:00.0/driver_override", 1 },
  { "write:/sys/bus/pci/devices/0000:01:00.1/driver_override,count=2", 2 },
  { "write:/sys/bus/pci/drivers/vfio-pci/unbind=0000:01:00.0", 1 },
  { "read:/sys/bus/pci/devices/0000:01:00.1/driver_override", 1 },
  /* drivers_probe never works: the host driver is bound by name */
  { "write:/sys/bus/pci/drivers_probe,count=0", 2 },
  { "write:/sys/bus/pci/drivers_probe=0000:01:00.0,drop,count=0", 1 },
};

static void
test_healing_fault (Fixture *f, gconstpointer data)
{
  const HealingFault *fault = data;
  g_autoptr (GError) error = NULL;

  spirit_vfio_swap_set_timeout (f->swap, SHORT_TIMEOUT_MS);
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_true (spirit_sysfs_set_faults (fault->rule, NULL));
  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (spirit_sysfs_get_faults_hit (), >=, fault->min_hits);
  assert_on_host (f);
}

/* A fault that lasts: the way back gives up after its rounds, names the step, and a later call
 * (the daemon's retry, or its start after a crash) finishes the job. */
static void
test_persistent_fault (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  spirit_vfio_swap_set_timeout (f->swap, SHORT_TIMEOUT_MS);
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_true (spirit_sysfs_set_faults (
    "write:/sys/bus/pci/drivers/vfio-pci/unbind=0000:01:00.1,count=0", NULL));
  g_assert_false (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "unbind-vfio 0000:01:00.1: Could not write"));
  g_assert_cmpuint (spirit_sysfs_get_faults_hit (), ==, 3); /* three rounds */
  g_assert_cmpint (spirit_vfio_swap_get_failed_step (f->swap), ==, SPIRIT_VFIO_STEP_UNBIND_VFIO);
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_TO_HOST);
  assert_driver (f, TREE_GPU, "nouveau");
  assert_driver (f, TREE_AUDIO, "vfio-pci");
  g_clear_error (&error);

  spirit_sysfs_set_faults (NULL, NULL);
  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_on_host (f);
}

/* The host driver does not come back: the way back says which step and function. */
static void
test_host_driver_refuses (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  spirit_vfio_swap_set_timeout (f->swap, SHORT_TIMEOUT_MS);
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  fake_sysfs_refuse (f->fs, "nouveau", TREE_GPU);
  g_assert_false (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_TIMEOUT);
  g_assert_true (g_str_has_prefix (error->message, "probe-host 0000:01:00.0: Timed out"));
  g_assert_nonnull (strstr (error->message, "nouveau to bind 0000:01:00.0"));
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_TO_HOST);
  assert_driver (f, TREE_AUDIO, "snd_hda_intel");
}

static void
test_host_nodes_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  spirit_vfio_swap_set_timeout (f->swap, SHORT_TIMEOUT_MS);
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  fake_sysfs_set_makes_nodes (f->fs, "snd_hda_intel", FALSE);
  g_assert_false (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_TIMEOUT);
  g_assert_true (g_str_has_prefix (error->message, "host-nodes 0000:01:00.1: No sound node yet: "));
  g_assert_cmpint (spirit_vfio_swap_get_failed_step (f->swap), ==, SPIRIT_VFIO_STEP_HOST_NODES);
  assert_driver (f, TREE_AUDIO, "snd_hda_intel");
}

static void
test_restore_vtconsoles_fault (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *vtcon = NULL;

  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_true (spirit_sysfs_set_faults ("write:/sys/class/vtconsole/vtcon1/bind=1", NULL));
  g_test_expect_message (
    "spirit-vfio-bind", G_LOG_LEVEL_WARNING,
    "*restore-vtconsoles: Could not write “1” to /sys/class/vtconsole/vtcon1/bind*");
  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  vtcon = fake_sysfs_read (f->fs, "/sys/class/vtconsole/vtcon1/bind");
  g_assert_cmpstr (vtcon, ==, "0");
  /* kept in the journal, and restored by the next call */
  spirit_sysfs_set_faults (NULL, NULL);
  g_assert_true (spirit_vfio_swap_to_host (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  assert_on_host (f);
}

/* --- the boot GPU: firmware framebuffers ----------------------------------------------------- */

static void
test_boot_gpu (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) igpu = NULL;
  g_autoptr (SpiritVfioSwap) swap = NULL;
  g_autoptr (GVariant) journal = NULL;
  g_autofree const char **framebuffers = NULL;
  gboolean fault = GPOINTER_TO_INT (data);

  fake_sysfs_add_platform_framebuffer (f->fs, "efi-framebuffer", "efi-framebuffer.0");
  igpu = spirit_gpu_discover (TREE_IGPU, &error);
  g_assert_no_error (error);
  swap = spirit_vfio_swap_new (igpu);
  if (fault)
    {
      g_assert_true (
        spirit_sysfs_set_faults ("write:/sys/bus/platform/drivers/efi-framebuffer/unbind", NULL));
      g_assert_false (spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
      g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED);
      g_assert_true (
        g_str_has_prefix (error->message, "framebuffers: Could not write “efi-framebuffer.0”"));
      assert_driver (f, TREE_IGPU, "i915");
      g_assert_true (
        fake_sysfs_exists (f->fs, "/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0"));
      return;
    }
  g_assert_true (spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_driver (f, TREE_IGPU, "vfio-pci");
  g_assert_true (fake_sysfs_exists (f->fs, "/dev/vfio/2"));
  g_assert_false (
    fake_sysfs_exists (f->fs, "/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0"));
  journal = spirit_vfio_swap_to_journal (swap);
  g_assert_true (g_variant_lookup (journal, "framebuffers", "^a&s", &framebuffers));
  g_assert_cmpstr (framebuffers[0], ==, "efi-framebuffer/efi-framebuffer.0");
  /* the other GPU was not touched */
  assert_driver (f, TREE_GPU, "nouveau");

  g_assert_true (spirit_vfio_swap_to_host (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_driver (f, TREE_IGPU, "i915");
  /* not bound again: i915 drives the console now */
  g_assert_false (
    fake_sysfs_exists (f->fs, "/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0"));
}

/* --- journal, recovery, cancellation, async ------------------------------------------------- */

typedef struct
{
  SpiritVfioStep at;
  GVariant *journal;
} JournalAt;

static void
take_journal (SpiritVfioSwap *swap, SpiritVfioStep step, const char *address, gpointer user_data)
{
  JournalAt *at = user_data;

  if (step == at->at && at->journal == NULL)
    at->journal = spirit_vfio_swap_to_journal (swap);
}

static void
test_journal (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) journal = NULL;
  g_autoptr (SpiritVfioSwap) recovered = NULL;
  g_autoptr (GVariant) again = NULL;
  g_autofree char *text = NULL;
  JournalAt at = { SPIRIT_VFIO_STEP_PROBE, NULL };
  const char *phase = NULL;

  spirit_vfio_swap_set_step_func (f->swap, take_journal, &at, NULL);
  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  /* mid-swap, the journal says so */
  g_assert_nonnull (at.journal);
  g_assert_true (g_variant_lookup (at.journal, "phase", "&s", &phase));
  g_assert_cmpstr (phase, ==, "to-vfio");
  g_variant_unref (at.journal);

  journal = spirit_vfio_swap_to_journal (f->swap);
  text = g_variant_print (journal, FALSE);
  g_test_message ("journal: %s", text);
  g_assert_nonnull (strstr (text, "'phase': <'vfio'>"));
  g_assert_nonnull (strstr (text, "'host-driver': <'nouveau'>"));
  g_assert_nonnull (strstr (text, "'host-driver': <'snd_hda_intel'>"));
  g_assert_nonnull (strstr (text, "'subsystems': <['drm', 'graphics']>"));
  g_assert_nonnull (strstr (text, "'vtconsoles': <['vtcon1']>"));

  /* the daemon restarts: a new swap from the journal (through its text form) brings it back */
  g_clear_object (&f->swap);
  {
    g_autoptr (GVariant) parsed = g_variant_parse (NULL, text, NULL, NULL, &error);

    g_assert_no_error (error);
    recovered = spirit_vfio_swap_new_from_journal (parsed, &error);
  }
  g_assert_no_error (error);
  g_assert_cmpint (spirit_vfio_swap_get_phase (recovered), ==, SPIRIT_VFIO_PHASE_VFIO);
  g_assert_cmpstr (spirit_vfio_swap_get_host_driver (recovered, TREE_GPU), ==, "nouveau");
  g_assert_true (spirit_vfio_swap_to_host (recovered, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_on_host (f);
  again = spirit_vfio_swap_to_journal (recovered);
  g_assert_true (g_variant_lookup (again, "phase", "&s", &phase));
  g_assert_cmpstr (phase, ==, "host");
}

static void
test_journal_invalid (void)
{
  const char *bad[] = {
    "@a{sv} {}",
    "{'version': <uint32 2>, 'gpu': <'0000:01:00.0'>, 'phase': <'vfio'>}",
    "{'version': <uint32 1>, 'gpu': <'01:00.0'>, 'phase': <'vfio'>}",
    "{'version': <uint32 1>, 'gpu': <'0000:01:00.0'>, 'phase': <'sideways'>}",
    "{'version': <uint32 1>, 'gpu': <'0000:01:00.0'>, 'phase': <'vfio'>, 'groups': <@ai []>}",
    "{'version': <uint32 1>, 'gpu': <'0000:01:00.0'>, 'phase': <'vfio'>, 'groups': <[1]>, "
    "'functions': <[{'address': <'nonsense'>}]>}",
    "('not', 'a dict')",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) journal = g_variant_parse (NULL, bad[i], NULL, NULL, &error);
      g_autoptr (SpiritVfioSwap) swap = NULL;

      g_assert_no_error (error);
      swap = spirit_vfio_swap_new_from_journal (journal, &error);
      g_assert_null (swap);
      g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_INVALID_JOURNAL);
    }
}

/* Found on vfio-pci with no journal (a crash before the first one was written): the way back
 * accepts whatever host driver the kernel picks. */
static void
test_unknown_host_driver (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) found = NULL;
  g_autoptr (SpiritVfioSwap) swap = NULL;

  g_assert_true (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  found = spirit_gpu_discover (TREE_GPU, &error);
  g_assert_null (spirit_gpu_get_host_driver (found, TREE_GPU));
  swap = spirit_vfio_swap_new (found);
  g_assert_null (spirit_vfio_swap_get_host_driver (swap, TREE_GPU));
  g_assert_true (spirit_vfio_swap_to_host (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_no_error (error);
  assert_driver (f, TREE_GPU, "nouveau");
  assert_driver (f, TREE_AUDIO, "snd_hda_intel");
}

static void
cancel_at_audio_unbind (SpiritVfioSwap *swap,
                        SpiritVfioStep step,
                        const char *address,
                        gpointer user_data)
{
  if (step == SPIRIT_VFIO_STEP_UNBIND && g_strcmp0 (address, TREE_AUDIO) == 0)
    g_cancellable_cancel (user_data);
}

/* Cancelled before it starts: nothing is touched. Cancelled half-way: it stops at the next step
 * (the step under way finishes first) and rolls back. */
static void
test_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  guint writes = fake_sysfs_get_writes (f->fs);

  g_cancellable_cancel (cancellable);
  g_assert_false (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (error->message, "check: "));
  g_assert_cmpuint (fake_sysfs_get_writes (f->fs), ==, writes);
  assert_on_host (f);
  g_clear_error (&error);

  g_cancellable_reset (cancellable);
  spirit_vfio_swap_set_step_func (f->swap, cancel_at_audio_unbind, cancellable, NULL);
  g_assert_false (spirit_vfio_swap_to_vfio (f->swap, SPIRIT_VFIO_FLAGS_NONE, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (error->message, "unbind 0000:01:00.1: "));
  g_assert_nonnull (strstr (error->message, "(rolled back"));
  g_assert_cmpint (spirit_vfio_swap_get_phase (f->swap), ==, SPIRIT_VFIO_PHASE_HOST);
  assert_on_host (f);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_async (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  GAsyncResult *result = NULL;

  spirit_vfio_swap_to_vfio_async (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (spirit_vfio_swap_to_vfio_finish (f->swap, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  assert_on_vfio (f);

  spirit_vfio_swap_to_host_async (f->swap, SPIRIT_VFIO_FLAGS_NONE, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (spirit_vfio_swap_to_host_finish (f->swap, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  assert_on_host (f);
}

static void
test_not_viable_refused (void)
{
  g_autoptr (FakeSysfs) fs = gpu_test_tree_new (FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) gpu = spirit_gpu_discover (TREE_GPU, &error);
  g_autoptr (SpiritVfioSwap) swap = spirit_vfio_swap_new (gpu);
  guint writes = fake_sysfs_get_writes (fs);

  g_assert_false (spirit_vfio_swap_to_vfio (swap, SPIRIT_VFIO_FLAGS_NONE, NULL, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_VIABLE);
  g_assert_true (g_str_has_prefix (
    error->message, "check: IOMMU group 1 of the GPU 0000:01:00.0 also holds 0000:00:1f.2"));
  g_assert_cmpuint (fake_sysfs_get_writes (fs), ==, writes);
  g_assert_cmpint (spirit_vfio_swap_get_phase (swap), ==, SPIRIT_VFIO_PHASE_HOST);
}

static void
test_step_names (void)
{
  g_assert_cmpstr (spirit_vfio_step_to_string (SPIRIT_VFIO_STEP_OVERRIDE), ==, "driver_override");
  g_assert_cmpstr (spirit_vfio_step_to_string (SPIRIT_VFIO_STEP_RESTORE_VTCONSOLES), ==,
                   "restore-vtconsoles");
  g_assert_cmpstr (spirit_vfio_step_to_string (99), ==, "unknown");
  g_assert_cmpstr (spirit_vfio_phase_to_string (SPIRIT_VFIO_PHASE_TO_HOST), ==, "to-host");
}

#define ADD(path, func, data)                                                                      \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/gpu/swap/run/round-trip", test_round_trip, NULL);
  ADD ("/gpu/swap/run/steps", test_steps, NULL);
  ADD ("/gpu/swap/run/step-timeouts", test_step_timeouts, NULL);
  ADD ("/gpu/swap/run/step-order", test_step_order, NULL);
  ADD ("/gpu/swap/run/holders", test_holders, NULL);
  ADD ("/gpu/swap/run/vfio-holders", test_vfio_holders, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (forward_faults); i++)
    {
      const ForwardFault *fault = &forward_faults[i];
      g_autofree char *path = g_strconcat ("/gpu/swap/fault/", fault->name, NULL);

      ADD (path, test_forward_fault, fault);
    }
  ADD ("/gpu/swap/fault/rollback-fails-too", test_rollback_fails_too, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (healing_faults); i++)
    {
      g_autofree char *path = g_strdup_printf ("/gpu/swap/fault-back/heals-%zu", i);

      ADD (path, test_healing_fault, &healing_faults[i]);
    }
  ADD ("/gpu/swap/fault-back/persistent", test_persistent_fault, NULL);
  ADD ("/gpu/swap/fault-back/host-driver-refuses", test_host_driver_refuses, NULL);
  ADD ("/gpu/swap/fault-back/host-nodes-missing", test_host_nodes_missing, NULL);
  ADD ("/gpu/swap/fault-back/restore-vtconsoles", test_restore_vtconsoles_fault, NULL);
  ADD ("/gpu/swap/run/boot-gpu", test_boot_gpu, GINT_TO_POINTER (FALSE));
  ADD ("/gpu/swap/fault/framebuffers", test_boot_gpu, GINT_TO_POINTER (TRUE));
  ADD ("/gpu/swap/run/journal", test_journal, NULL);
  ADD ("/gpu/swap/run/unknown-host-driver", test_unknown_host_driver, NULL);
  ADD ("/gpu/swap/run/cancelled", test_cancelled, NULL);
  ADD ("/gpu/swap/run/async", test_async, NULL);
  g_test_add_func ("/gpu/swap/run/journal-invalid", test_journal_invalid);
  g_test_add_func ("/gpu/swap/run/not-viable-refused", test_not_viable_refused);
  g_test_add_func ("/gpu/swap/run/step-names", test_step_names);
  return g_test_run ();
}
