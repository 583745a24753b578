/* spirit-vfio-bind.c: the binding steps, and the swap that orders them and rolls them back.
 *
 * Towards vfio-pci, for every function of the GPU (see docs/gpu-swap.md):
 *   check → holders → vtconsoles → framebuffers → driver_override → unbind → probe → /dev/vfio/N
 * driver_override is set before the unbind so that nothing (a udev rule, a rescan) can bind the
 * host driver again in between. Back to the host, the same in reverse:
 *   vfio holders → clear driver_override → unbind from vfio-pci → probe → host driver and its
 *   device nodes → fbcon
 * The way back converges on the real state rather than replaying a list: each function is looked
 * at as it is now, so the same code is the rollback of a failed swap, the reclaim after the VM,
 * and the recovery after a crash (from the journal), and a transient failure heals on the next
 * round.
 */
#define G_LOG_DOMAIN "spirit-vfio-bind"

#include "spirit-vfio-bind.h"
#include "spirit-gpu-consoles.h"
#include "spirit-gpu-error.h"
#include "spirit-gpu-holders.h"
#include "spirit-sysfs.h"
#include "spirit-wait.h"

#include <gudev/gudev.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define JOURNAL_VERSION 1
#define RECLAIM_ROUNDS 3

const char *
spirit_vfio_step_to_string (SpiritVfioStep step)
{
  static const char *const names[] = {
    [SPIRIT_VFIO_STEP_NONE] = "none",
    [SPIRIT_VFIO_STEP_CHECK] = "check",
    [SPIRIT_VFIO_STEP_HOLDERS] = "holders",
    [SPIRIT_VFIO_STEP_VTCONSOLES] = "vtconsoles",
    [SPIRIT_VFIO_STEP_FRAMEBUFFERS] = "framebuffers",
    [SPIRIT_VFIO_STEP_OVERRIDE] = "driver_override",
    [SPIRIT_VFIO_STEP_UNBIND] = "unbind",
    [SPIRIT_VFIO_STEP_PROBE] = "probe",
    [SPIRIT_VFIO_STEP_VFIO_NODE] = "vfio-node",
    [SPIRIT_VFIO_STEP_VFIO_HOLDERS] = "vfio-holders",
    [SPIRIT_VFIO_STEP_CLEAR_OVERRIDE] = "clear-override",
    [SPIRIT_VFIO_STEP_UNBIND_VFIO] = "unbind-vfio",
    [SPIRIT_VFIO_STEP_PROBE_HOST] = "probe-host",
    [SPIRIT_VFIO_STEP_HOST_NODES] = "host-nodes",
    [SPIRIT_VFIO_STEP_RESTORE_VTCONSOLES] = "restore-vtconsoles",
  };

  if ((guint)step >= G_N_ELEMENTS (names))
    return "unknown";
  return names[step];
}

const char *
spirit_vfio_phase_to_string (SpiritVfioPhase phase)
{
  switch (phase)
    {
    case SPIRIT_VFIO_PHASE_HOST:
      return "host";
    case SPIRIT_VFIO_PHASE_TO_VFIO:
      return "to-vfio";
    case SPIRIT_VFIO_PHASE_VFIO:
      return "vfio";
    case SPIRIT_VFIO_PHASE_TO_HOST:
      return "to-host";
    default:
      return "unknown";
    }
}

static gboolean
phase_from_string (const char *text, SpiritVfioPhase *phase)
{
  for (SpiritVfioPhase p = SPIRIT_VFIO_PHASE_HOST; p <= SPIRIT_VFIO_PHASE_TO_HOST; p++)
    if (g_strcmp0 (text, spirit_vfio_phase_to_string (p)) == 0)
      {
        *phase = p;
        return TRUE;
      }
  return FALSE;
}

/* ------------------------------------------------------------------------------------------- */
/* The steps                                                                                    */
/* ------------------------------------------------------------------------------------------- */

typedef struct
{
  const char *address;
  const char *driver;    /* the driver to wait for; NULL: no driver */
  gboolean any_but_vfio; /* instead: any driver but vfio-pci */
  const char *also;      /* a second acceptable driver, or NULL */
} DriverCheck;

static gboolean
check_driver (gpointer user_data, GError **error)
{
  DriverCheck *check = user_data;
  g_autofree char *driver = spirit_pci_read_driver (check->address, error);

  if (driver == NULL && error != NULL && *error != NULL)
    return FALSE;
  if (check->also != NULL && g_strcmp0 (driver, check->also) == 0)
    return TRUE;
  if (check->any_but_vfio)
    return driver != NULL && !g_str_equal (driver, SPIRIT_VFIO_DRIVER);
  return g_strcmp0 (driver, check->driver) == 0;
}

static gboolean
wait_driver (DriverCheck *check, gint64 deadline, GCancellable *cancellable, GError **error)
{
  g_autofree char *dir = spirit_pci_device_path (check->address, NULL);
  g_autofree char *what = NULL;
  const char *watch[] = { dir, NULL };

  if (check->any_but_vfio)
    what = g_strdup_printf ("a host driver to bind %s", check->address);
  else if (check->driver == NULL)
    what = g_strdup_printf ("%s to be unbound", check->address);
  else
    what = g_strdup_printf ("%s to bind %s", check->driver, check->address);
  return spirit_wait_until (what, watch, deadline, check_driver, check, cancellable, error);
}

typedef struct
{
  const char *dir;
} ExistsCheck;

static gboolean
check_exists (gpointer user_data, GError **error)
{
  ExistsCheck *check = user_data;

  return spirit_sysfs_exists (check->dir);
}

/* The driver's directory in /sys/bus/pci/drivers, loading its module on a real system. */
gboolean
spirit_vfio_ensure_driver (const char *driver,
                           gint64 deadline,
                           GCancellable *cancellable,
                           GError **error)
{
  g_autofree char *dir = g_strconcat ("/sys/bus/pci/drivers/", driver, NULL);
  g_autofree char *what = g_strdup_printf ("the %s driver to register", driver);
  g_autoptr (GError) local = NULL;
  g_autofree char *err_output = NULL;
  const char *watch[] = { "/sys/bus/pci/drivers", NULL };
  const char *argv[] = { "modprobe", driver, NULL };
  ExistsCheck check = { dir };
  int status;

  if (spirit_sysfs_exists (dir))
    return TRUE;
  if (!spirit_sysfs_is_real ())
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED,
                   "The %s driver is not loaded (%s is missing)", driver, dir);
      return FALSE;
    }
  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err_output, &status, &local)
      || !g_spawn_check_wait_status (status, &local))
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED,
                   "The %s driver is not loaded and modprobe %s failed: %s%s%s", driver, driver,
                   local->message, err_output && *err_output ? ": " : "",
                   err_output ? g_strchomp (err_output) : "");
      return FALSE;
    }
  return spirit_wait_until (what, watch, deadline, check_exists, &check, cancellable, error);
}

/* driver NULL clears the override ("\n": an empty write would not reach the kernel). */
gboolean
spirit_vfio_set_driver_override (const char *address, const char *driver, GError **error)
{
  g_autofree char *path = spirit_pci_device_path (address, "driver_override");

  return spirit_sysfs_write (path, driver ? driver : "\n", error);
}

/* Unbinds ADDRESS from whatever driver it has and waits until it has none (or vfio-pci, when
 * the override made something re-probe it on its own). */
gboolean
spirit_vfio_unbind (const char *address, gint64 deadline, GCancellable *cancellable, GError **error)
{
  g_autofree char *driver = spirit_pci_read_driver (address, error);
  g_autofree char *unbind = NULL;
  g_autofree char *override = NULL;

  if (driver == NULL)
    return error == NULL || *error == NULL;
  unbind = g_strconcat ("/sys/bus/pci/drivers/", driver, "/unbind", NULL);
  if (!spirit_sysfs_write (unbind, address, error))
    return FALSE;
  /* with the override set, something may re-probe it onto vfio-pci at once: fine too */
  override = spirit_pci_read_driver_override (address, NULL);
  if (g_strcmp0 (override, SPIRIT_VFIO_DRIVER) == 0 && !g_str_equal (driver, SPIRIT_VFIO_DRIVER))
    return wait_driver (&(DriverCheck){ address, NULL, FALSE, SPIRIT_VFIO_DRIVER }, deadline,
                        cancellable, error);
  return wait_driver (&(DriverCheck){ address, NULL, FALSE, NULL }, deadline, cancellable, error);
}

/* Asks the kernel to find a driver for ADDRESS (its driver_override, or the matching one) and
 * waits for DRIVER, or for any driver but vfio-pci when DRIVER is NULL. */
gboolean
spirit_vfio_probe (const char *address,
                   const char *driver,
                   gint64 deadline,
                   GCancellable *cancellable,
                   GError **error)
{
  if (!spirit_sysfs_write ("/sys/bus/pci/drivers_probe", address, error))
    return FALSE;
  return wait_driver (&(DriverCheck){ address, driver, driver == NULL, NULL }, deadline,
                      cancellable, error);
}

/* Binds ADDRESS to DRIVER explicitly: the fallback when a probe found nothing. */
gboolean
spirit_vfio_bind (const char *address,
                  const char *driver,
                  gint64 deadline,
                  GCancellable *cancellable,
                  GError **error)
{
  g_autofree char *bind = g_strconcat ("/sys/bus/pci/drivers/", driver, "/bind", NULL);

  if (!spirit_sysfs_write (bind, address, error))
    return FALSE;
  return wait_driver (&(DriverCheck){ address, driver, FALSE, NULL }, deadline, cancellable, error);
}

gboolean
spirit_vfio_wait_group_node (int group, gint64 deadline, GCancellable *cancellable, GError **error)
{
  g_autofree char *node = g_strdup_printf ("/dev/vfio/%d", group);
  const char *watch[] = { "/dev/vfio", NULL };
  ExistsCheck check = { node };

  return spirit_wait_until (node, watch, deadline, check_exists, &check, cancellable, error);
}

typedef struct
{
  const char *address;
  const char *const *subsystems;
  GUdevClient *udev; /* NULL when no udevd runs */
  char *missing;     /* for the timeout message */
} NodesCheck;

/* Does SUBSYSTEM have a node that exists in /dev and that udevd (if it runs) has processed, so
 * that its permissions, ACLs and seat tags are in place for the display manager? */
static gboolean
subsystem_ready (NodesCheck *check, GPtrArray *nodes, const char *subsystem)
{
  for (guint i = 0; i < nodes->len; i++)
    {
      SpiritDevNode *node = g_ptr_array_index (nodes, i);
      g_autoptr (GUdevDevice) device = NULL;

      if (!g_str_equal (node->subsystem, subsystem) || !spirit_sysfs_exists (node->path))
        continue;
      if (check->udev == NULL)
        return TRUE;
      device = g_udev_client_query_by_device_number (check->udev, G_UDEV_DEVICE_TYPE_CHAR,
                                                     makedev (node->major, node->minor));
      if (device != NULL && g_udev_device_get_is_initialized (device))
        return TRUE;
    }
  return FALSE;
}

static gboolean
check_nodes (gpointer user_data, GError **error)
{
  NodesCheck *check = user_data;
  g_autoptr (GPtrArray) nodes = spirit_pci_list_device_nodes (check->address, error);

  if (nodes == NULL)
    return FALSE;
  for (guint i = 0; check->subsystems[i] != NULL; i++)
    if (!subsystem_ready (check, nodes, check->subsystems[i]))
      {
        g_free (check->missing);
        check->missing = g_strdup (check->subsystems[i]);
        return FALSE;
      }
  return TRUE;
}

/* Waits until ADDRESS has a device node of each of SUBSYSTEMS ("drm", "sound", …): the host
 * driver is not done when it binds, only when it has registered its devices (snd_hda_intel
 * does that from a work item, after the bind). */
gboolean
spirit_vfio_wait_nodes (const char *address,
                        const char *const *subsystems,
                        gint64 deadline,
                        GCancellable *cancellable,
                        GError **error)
{
  g_autofree char *dir = spirit_pci_device_path (address, NULL);
  g_autofree char *list = NULL;
  g_autofree char *what = NULL;
  g_autoptr (GUdevClient) udev = NULL;
  const char *watch[] = { dir, "/dev", "/dev/dri", "/dev/snd", NULL };
  NodesCheck check = { address, subsystems, NULL, NULL };
  gboolean ok;

  if (subsystems == NULL || subsystems[0] == NULL)
    return TRUE;
  if (spirit_sysfs_is_real () && g_file_test ("/run/udev/control", G_FILE_TEST_EXISTS))
    udev = check.udev = g_udev_client_new (NULL);
  list = g_strjoinv (", ", (char **)subsystems);
  what = g_strdup_printf ("the device nodes (%s) of %s", list, address);
  ok = spirit_wait_until (what, watch, deadline, check_nodes, &check, cancellable, error);
  if (!ok && check.missing != NULL && error != NULL && *error != NULL)
    g_prefix_error (error, "No %s node yet: ", check.missing);
  g_free (check.missing);
  return ok;
}

/* ------------------------------------------------------------------------------------------- */
/* SpiritVfioSwap                                                                               */
/* ------------------------------------------------------------------------------------------- */

typedef struct
{
  char *address;
  gboolean host_driver_known;
  char *host_driver; /* NULL: the function had no driver */
  GStrv subsystems;  /* the kinds of device nodes its host driver makes */
} Function;

struct _SpiritVfioSwap
{
  GObject parent_instance;

  char *gpu_address;
  gboolean boot_vga;
  GPtrArray *functions; /* Function */
  GArray *groups;       /* int */
  GPtrArray *vtconsoles;
  GPtrArray *framebuffers;
  GPtrArray *nodes; /* SpiritDevNode: the host drivers' nodes, as of the last discovery */
  SpiritVfioPhase phase;
  SpiritVfioStep failed_step;
  guint timeout_ms;

  SpiritVfioStepFunc step_func;
  gpointer step_data;
  GDestroyNotify step_destroy;
};

G_DEFINE_FINAL_TYPE (SpiritVfioSwap, spirit_vfio_swap, G_TYPE_OBJECT)

static void
function_free (Function *function)
{
  g_free (function->address);
  g_free (function->host_driver);
  g_strfreev (function->subsystems);
  g_free (function);
}

static void
spirit_vfio_swap_finalize (GObject *object)
{
  SpiritVfioSwap *self = SPIRIT_VFIO_SWAP (object);

  if (self->step_destroy != NULL)
    self->step_destroy (self->step_data);
  g_free (self->gpu_address);
  g_ptr_array_unref (self->functions);
  g_array_unref (self->groups);
  g_ptr_array_unref (self->vtconsoles);
  g_ptr_array_unref (self->framebuffers);
  g_ptr_array_unref (self->nodes);
  G_OBJECT_CLASS (spirit_vfio_swap_parent_class)->finalize (object);
}

static void
spirit_vfio_swap_class_init (SpiritVfioSwapClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spirit_vfio_swap_finalize;
}

static void
spirit_vfio_swap_init (SpiritVfioSwap *self)
{
  self->functions = g_ptr_array_new_with_free_func ((GDestroyNotify)function_free);
  self->groups = g_array_new (FALSE, FALSE, sizeof (int));
  self->vtconsoles = g_ptr_array_new_with_free_func (g_free);
  self->framebuffers = g_ptr_array_new_with_free_func (g_free);
  self->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_dev_node_free);
  self->timeout_ms = SPIRIT_VFIO_DEFAULT_TIMEOUT_MS;
}

/* The kinds of NODES (drm, graphics, sound, …), in order, each once. */
static GStrv
subsystems_of (GPtrArray *nodes)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; nodes != NULL && i < nodes->len; i++)
    {
      SpiritDevNode *node = g_ptr_array_index (nodes, i);

      if (g_hash_table_add (seen, node->subsystem))
        g_strv_builder_add (builder, node->subsystem);
    }
  return g_strv_builder_end (builder);
}

/* Takes what the swap needs from a fresh discovery; a function already on vfio-pci keeps the
 * host driver it had when it was first seen on one. */
static void
update_from_gpu (SpiritVfioSwap *self, SpiritGpu *gpu)
{
  GPtrArray *devices = spirit_gpu_get_functions (gpu);
  g_autoptr (GPtrArray) old = g_steal_pointer (&self->functions);

  self->functions = g_ptr_array_new_with_free_func ((GDestroyNotify)function_free);
  g_ptr_array_set_size (self->nodes, 0);
  g_free (self->gpu_address);
  self->gpu_address = g_strdup (spirit_gpu_get_address (gpu));
  self->boot_vga = spirit_gpu_get_boot_vga (gpu);
  for (guint i = 0; i < devices->len; i++)
    {
      SpiritPciDevice *device = g_ptr_array_index (devices, i);
      const char *address = spirit_pci_device_get_address (device);
      const char *driver = spirit_pci_device_get_driver (device);
      Function *function = g_new0 (Function, 1);
      Function *before = NULL;

      for (guint j = 0; old != NULL && j < old->len; j++)
        if (g_str_equal (((Function *)g_ptr_array_index (old, j))->address, address))
          before = g_ptr_array_index (old, j);
      function->address = g_strdup (address);
      if (g_strcmp0 (driver, SPIRIT_VFIO_DRIVER) != 0)
        {
          g_autoptr (GPtrArray) nodes = spirit_pci_list_device_nodes (address, NULL);

          function->host_driver_known = TRUE;
          function->host_driver = g_strdup (driver);
          function->subsystems = subsystems_of (nodes);
          for (guint j = 0; nodes != NULL && j < nodes->len; j++)
            g_ptr_array_add (self->nodes, g_ptr_array_steal_index (nodes, j--));
        }
      else if (before != NULL)
        {
          function->host_driver_known = before->host_driver_known;
          function->host_driver = g_strdup (before->host_driver);
          function->subsystems = g_strdupv (before->subsystems);
        }
      else
        function->subsystems = g_new0 (char *, 1);
      g_ptr_array_add (self->functions, function);
    }
  g_array_set_size (self->groups, 0);
  g_array_append_vals (self->groups, spirit_gpu_get_groups (gpu)->data,
                       spirit_gpu_get_groups (gpu)->len);
}

SpiritVfioSwap *
spirit_vfio_swap_new (SpiritGpu *gpu)
{
  SpiritVfioSwap *self;

  g_return_val_if_fail (SPIRIT_IS_GPU (gpu), NULL);
  self = g_object_new (SPIRIT_TYPE_VFIO_SWAP, NULL);
  update_from_gpu (self, gpu);
  return self;
}

/* a{sv}: version u, gpu s, phase s, boot-vga b, groups ai, vtconsoles as, framebuffers as,
 * functions aa{sv} (address s, host-driver s ("" for none; absent when unknown), subsystems as) */
GVariant *
spirit_vfio_swap_to_journal (SpiritVfioSwap *self)
{
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_auto (GVariantBuilder) functions = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr (GVariant) groups = NULL;

  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), NULL);
  groups = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, self->groups->data,
                                                          self->groups->len, sizeof (int)));
  for (guint i = 0; i < self->functions->len; i++)
    {
      Function *function = g_ptr_array_index (self->functions, i);
      g_auto (GVariantBuilder) entry = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

      g_variant_builder_add (&entry, "{sv}", "address", g_variant_new_string (function->address));
      if (function->host_driver_known)
        g_variant_builder_add (
          &entry, "{sv}", "host-driver",
          g_variant_new_string (function->host_driver ? function->host_driver : ""));
      g_variant_builder_add (&entry, "{sv}", "subsystems",
                             g_variant_new_strv ((const char *const *)function->subsystems, -1));
      g_variant_builder_add_value (&functions, g_variant_builder_end (&entry));
    }
  g_variant_builder_add (&builder, "{sv}", "version", g_variant_new_uint32 (JOURNAL_VERSION));
  g_variant_builder_add (&builder, "{sv}", "gpu", g_variant_new_string (self->gpu_address));
  g_variant_builder_add (&builder, "{sv}", "phase",
                         g_variant_new_string (spirit_vfio_phase_to_string (self->phase)));
  g_variant_builder_add (&builder, "{sv}", "boot-vga", g_variant_new_boolean (self->boot_vga));
  g_variant_builder_add (&builder, "{sv}", "groups", groups);
  g_variant_builder_add (
    &builder, "{sv}", "vtconsoles",
    g_variant_new_strv ((const char *const *)self->vtconsoles->pdata, self->vtconsoles->len));
  g_variant_builder_add (
    &builder, "{sv}", "framebuffers",
    g_variant_new_strv ((const char *const *)self->framebuffers->pdata, self->framebuffers->len));
  g_variant_builder_add (&builder, "{sv}", "functions", g_variant_builder_end (&functions));
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

static gboolean
journal_error (GError **error, const char *what)
{
  g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_INVALID_JOURNAL,
               "The GPU swap journal is not usable: %s", what);
  return FALSE;
}

SpiritVfioSwap *
spirit_vfio_swap_new_from_journal (GVariant *journal, GError **error)
{
  g_autoptr (SpiritVfioSwap) self = g_object_new (SPIRIT_TYPE_VFIO_SWAP, NULL);
  g_autoptr (GVariant) groups = NULL, functions = NULL;
  g_autofree const char **vtconsoles = NULL, **framebuffers = NULL;
  const char *gpu = NULL, *phase = NULL;
  guint32 version = 0;
  GVariantIter iter;
  GVariant *entry;

  if (!g_variant_is_of_type (journal, G_VARIANT_TYPE_VARDICT))
    return journal_error (error, "not an a{sv}"), NULL;
  if (!g_variant_lookup (journal, "version", "u", &version) || version != JOURNAL_VERSION)
    return journal_error (error, "unknown version"), NULL;
  if (!g_variant_lookup (journal, "gpu", "&s", &gpu) || !spirit_pci_address_is_valid (gpu))
    return journal_error (error, "no GPU address"), NULL;
  if (!g_variant_lookup (journal, "phase", "&s", &phase)
      || !phase_from_string (phase, &self->phase))
    return journal_error (error, "no phase"), NULL;
  groups = g_variant_lookup_value (journal, "groups", G_VARIANT_TYPE ("ai"));
  functions = g_variant_lookup_value (journal, "functions", G_VARIANT_TYPE ("aa{sv}"));
  if (groups == NULL || functions == NULL || g_variant_n_children (functions) == 0)
    return journal_error (error, "no groups or functions"), NULL;
  self->gpu_address = g_strdup (gpu);
  g_variant_lookup (journal, "boot-vga", "b", &self->boot_vga);
  if (g_variant_lookup (journal, "vtconsoles", "^a&s", &vtconsoles))
    for (guint i = 0; vtconsoles[i] != NULL; i++)
      g_ptr_array_add (self->vtconsoles, g_strdup (vtconsoles[i]));
  if (g_variant_lookup (journal, "framebuffers", "^a&s", &framebuffers))
    for (guint i = 0; framebuffers[i] != NULL; i++)
      g_ptr_array_add (self->framebuffers, g_strdup (framebuffers[i]));
  for (gsize i = 0; i < g_variant_n_children (groups); i++)
    {
      gint32 group;

      g_variant_get_child (groups, i, "i", &group);
      g_array_append_val (self->groups, group);
    }
  g_variant_iter_init (&iter, functions);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr (GVariant) owned = entry;
      Function *function = g_new0 (Function, 1);
      const char *address = NULL, *driver = NULL;

      g_ptr_array_add (self->functions, function);
      if (!g_variant_lookup (entry, "address", "&s", &address)
          || !spirit_pci_address_is_valid (address))
        return journal_error (error, "a function without an address"), NULL;
      function->address = g_strdup (address);
      if (g_variant_lookup (entry, "host-driver", "&s", &driver))
        {
          function->host_driver_known = TRUE;
          function->host_driver = driver[0] ? g_strdup (driver) : NULL;
        }
      if (!g_variant_lookup (entry, "subsystems", "^as", &function->subsystems))
        function->subsystems = g_new0 (char *, 1);
    }
  return g_steal_pointer (&self);
}

void
spirit_vfio_swap_set_timeout (SpiritVfioSwap *self, guint timeout_ms)
{
  g_return_if_fail (SPIRIT_IS_VFIO_SWAP (self));
  self->timeout_ms = timeout_ms;
}

void
spirit_vfio_swap_set_step_func (SpiritVfioSwap *self,
                                SpiritVfioStepFunc func,
                                gpointer user_data,
                                GDestroyNotify destroy)
{
  g_return_if_fail (SPIRIT_IS_VFIO_SWAP (self));
  if (self->step_destroy != NULL)
    self->step_destroy (self->step_data);
  self->step_func = func;
  self->step_data = user_data;
  self->step_destroy = destroy;
}

const char *
spirit_vfio_swap_get_gpu_address (SpiritVfioSwap *self)
{
  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), NULL);
  return self->gpu_address;
}

GStrv
spirit_vfio_swap_dup_addresses (SpiritVfioSwap *self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), NULL);
  for (guint i = 0; i < self->functions->len; i++)
    g_strv_builder_add (builder, ((Function *)g_ptr_array_index (self->functions, i))->address);
  return g_strv_builder_end (builder);
}

GArray *
spirit_vfio_swap_get_groups (SpiritVfioSwap *self)
{
  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), NULL);
  return self->groups;
}

const char *
spirit_vfio_swap_get_host_driver (SpiritVfioSwap *self, const char *address)
{
  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), NULL);
  for (guint i = 0; i < self->functions->len; i++)
    {
      Function *function = g_ptr_array_index (self->functions, i);

      if (g_str_equal (function->address, address))
        return function->host_driver;
    }
  return NULL;
}

SpiritVfioPhase
spirit_vfio_swap_get_phase (SpiritVfioSwap *self)
{
  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), SPIRIT_VFIO_PHASE_HOST);
  return self->phase;
}

SpiritVfioStep
spirit_vfio_swap_get_failed_step (SpiritVfioSwap *self)
{
  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), SPIRIT_VFIO_STEP_NONE);
  return self->failed_step;
}

static void
announce (SpiritVfioSwap *self, SpiritVfioStep step, const char *address)
{
  g_debug ("%s: %s%s%s", self->gpu_address, spirit_vfio_step_to_string (step), address ? " " : "",
           address ? address : "");
  if (self->step_func != NULL)
    self->step_func (self, step, address, self->step_data);
}

/* Marks STEP as failed and puts it (and the function) in front of the message. Errors of other
 * domains become SPIRIT_GPU_ERROR_FAILED, except cancellation. */
static gboolean
step_failed (
  SpiritVfioSwap *self, SpiritVfioStep step, const char *address, GError *cause, GError **error)
{
  g_autoptr (GError) owned = cause;
  int code = cause->domain == SPIRIT_GPU_ERROR ? cause->code : SPIRIT_GPU_ERROR_FAILED;

  if (self->failed_step == SPIRIT_VFIO_STEP_NONE)
    self->failed_step = step;
  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&owned),
                                  "%s%s%s: ", spirit_vfio_step_to_string (step), address ? " " : "",
                                  address ? address : "");
      return FALSE;
    }
  g_set_error (error, SPIRIT_GPU_ERROR, code, "%s%s%s: %s", spirit_vfio_step_to_string (step),
               address ? " " : "", address ? address : "", cause->message);
  return FALSE;
}

/* Announces STEP and stops there if the swap was cancelled. Cancellation is looked at between
 * steps only: a write to sysfs is always followed by its whole wait, so the rollback never
 * starts while the kernel is still carrying out the last step. */
static gboolean
begin (SpiritVfioSwap *self,
       SpiritVfioStep step,
       const char *address,
       GCancellable *cancellable,
       GError **error)
{
  GError *cancelled = NULL;

  announce (self, step, address);
  if (g_cancellable_set_error_if_cancelled (cancellable, &cancelled))
    return step_failed (self, step, address, cancelled, error);
  return TRUE;
}

static gint64
deadline (SpiritVfioSwap *self)
{
  return spirit_wait_deadline_after_ms (self->timeout_ms);
}

static gboolean
handle_holders (SpiritVfioSwap *self,
                GPtrArray *nodes,
                gboolean with_mappings,
                SpiritVfioFlags flags,
                GCancellable *cancellable,
                GError **error)
{
  g_autoptr (GPtrArray) holders = spirit_gpu_find_holders (nodes, with_mappings);
  g_autofree char *names = NULL;

  if (holders->len == 0)
    return TRUE;
  names = spirit_gpu_describe_holders (holders);
  if (!(flags & SPIRIT_VFIO_FLAGS_FORCE))
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_BUSY,
                   "The GPU's device nodes are in use by %s: stop them, or force the swap to "
                   "end them",
                   names);
      return FALSE;
    }
  if (!spirit_gpu_end_holders (holders, self->timeout_ms, cancellable, error))
    return FALSE;
  g_clear_pointer (&holders, g_ptr_array_unref);
  holders = spirit_gpu_find_holders (nodes, with_mappings);
  if (holders->len > 0)
    {
      g_autofree char *still = spirit_gpu_describe_holders (holders);

      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_BUSY,
                   "The GPU's device nodes are still in use after ending %s: now by %s", names,
                   still);
      return FALSE;
    }
  return TRUE;
}

static gboolean
do_check (SpiritVfioSwap *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (SpiritGpu) gpu = spirit_gpu_discover (self->gpu_address, error);

  if (gpu == NULL || !spirit_gpu_check_viable (gpu, error))
    return FALSE;
  update_from_gpu (self, gpu);
  return spirit_vfio_ensure_driver (SPIRIT_VFIO_DRIVER, deadline (self), NULL, error);
}

/* The forward steps; on failure the caller rolls back. */
static gboolean
run_to_vfio (SpiritVfioSwap *self, SpiritVfioFlags flags, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) addresses = NULL;

  if (!begin (self, SPIRIT_VFIO_STEP_CHECK, NULL, cancellable, error))
    return FALSE;
  if (!do_check (self, cancellable, &local))
    return step_failed (self, SPIRIT_VFIO_STEP_CHECK, NULL, g_steal_pointer (&local), error);

  if (!begin (self, SPIRIT_VFIO_STEP_HOLDERS, NULL, cancellable, error))
    return FALSE;
  /* the nodes as the check just found them */
  if (!handle_holders (self, self->nodes, TRUE, flags, cancellable, &local))
    return step_failed (self, SPIRIT_VFIO_STEP_HOLDERS, NULL, g_steal_pointer (&local), error);

  addresses = spirit_vfio_swap_dup_addresses (self);
  if (!begin (self, SPIRIT_VFIO_STEP_VTCONSOLES, NULL, cancellable, error))
    return FALSE;
  if ((spirit_gpu_has_framebuffer ((const char *const *)addresses) || self->boot_vga)
      && !spirit_gpu_release_vtconsoles (self->vtconsoles, &local))
    return step_failed (self, SPIRIT_VFIO_STEP_VTCONSOLES, NULL, g_steal_pointer (&local), error);

  if (!begin (self, SPIRIT_VFIO_STEP_FRAMEBUFFERS, NULL, cancellable, error))
    return FALSE;
  if (self->boot_vga
      && !spirit_gpu_release_firmware_framebuffers (self->framebuffers, deadline (self), NULL,
                                                    &local))
    return step_failed (self, SPIRIT_VFIO_STEP_FRAMEBUFFERS, NULL, g_steal_pointer (&local), error);

  for (guint i = 0; addresses[i] != NULL; i++)
    {
      if (!begin (self, SPIRIT_VFIO_STEP_OVERRIDE, addresses[i], cancellable, error))
        return FALSE;
      if (!spirit_vfio_set_driver_override (addresses[i], SPIRIT_VFIO_DRIVER, &local))
        return step_failed (self, SPIRIT_VFIO_STEP_OVERRIDE, addresses[i], g_steal_pointer (&local),
                            error);
    }
  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autofree char *driver = spirit_pci_read_driver (addresses[i], NULL);

      if (driver == NULL || g_str_equal (driver, SPIRIT_VFIO_DRIVER))
        continue;
      if (!begin (self, SPIRIT_VFIO_STEP_UNBIND, addresses[i], cancellable, error))
        return FALSE;
      if (!spirit_vfio_unbind (addresses[i], deadline (self), NULL, &local))
        return step_failed (self, SPIRIT_VFIO_STEP_UNBIND, addresses[i], g_steal_pointer (&local),
                            error);
    }
  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autofree char *driver = spirit_pci_read_driver (addresses[i], NULL);

      if (g_strcmp0 (driver, SPIRIT_VFIO_DRIVER) == 0)
        continue;
      if (!begin (self, SPIRIT_VFIO_STEP_PROBE, addresses[i], cancellable, error))
        return FALSE;
      if (!spirit_vfio_probe (addresses[i], SPIRIT_VFIO_DRIVER, deadline (self), NULL, &local))
        return step_failed (self, SPIRIT_VFIO_STEP_PROBE, addresses[i], g_steal_pointer (&local),
                            error);
    }
  for (guint i = 0; i < self->groups->len; i++)
    {
      int group = g_array_index (self->groups, int, i);

      if (!begin (self, SPIRIT_VFIO_STEP_VFIO_NODE, NULL, cancellable, error))
        return FALSE;
      if (!spirit_vfio_wait_group_node (group, deadline (self), NULL, &local))
        return step_failed (self, SPIRIT_VFIO_STEP_VFIO_NODE, NULL, g_steal_pointer (&local),
                            error);
    }
  return TRUE;
}

/* One function back to its host driver, from whatever state it is in now. */
static gboolean
function_to_host (SpiritVfioSwap *self,
                  Function *function,
                  GCancellable *cancellable,
                  GError **error)
{
  const char *address = function->address;
  g_autoptr (GError) local = NULL;
  g_autofree char *override = NULL;
  g_autofree char *driver = NULL;

  override = spirit_pci_read_driver_override (address, &local);
  if (local != NULL)
    return step_failed (self, SPIRIT_VFIO_STEP_CLEAR_OVERRIDE, address, g_steal_pointer (&local),
                        error);
  if (override != NULL)
    {
      if (!begin (self, SPIRIT_VFIO_STEP_CLEAR_OVERRIDE, address, cancellable, error))
        return FALSE;
      if (!spirit_vfio_set_driver_override (address, NULL, &local))
        return step_failed (self, SPIRIT_VFIO_STEP_CLEAR_OVERRIDE, address,
                            g_steal_pointer (&local), error);
    }

  driver = spirit_pci_read_driver (address, &local);
  if (local != NULL)
    return step_failed (self, SPIRIT_VFIO_STEP_UNBIND_VFIO, address, g_steal_pointer (&local),
                        error);
  if (g_strcmp0 (driver, SPIRIT_VFIO_DRIVER) == 0)
    {
      if (!begin (self, SPIRIT_VFIO_STEP_UNBIND_VFIO, address, cancellable, error))
        return FALSE;
      if (!spirit_vfio_unbind (address, deadline (self), NULL, &local))
        return step_failed (self, SPIRIT_VFIO_STEP_UNBIND_VFIO, address, g_steal_pointer (&local),
                            error);
      g_clear_pointer (&driver, g_free);
      driver = spirit_pci_read_driver (address, NULL);
    }

  if (function->host_driver_known && function->host_driver == NULL)
    return TRUE; /* it had no driver: leave it without one */
  if (driver != NULL
      && (function->host_driver == NULL || g_str_equal (driver, function->host_driver)))
    return TRUE;
  if (driver != NULL)
    {
      /* bound to something else than its host driver (not vfio-pci, handled above) */
      g_set_error (&local, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED, "bound to %s, expected %s",
                   driver, function->host_driver);
      return step_failed (self, SPIRIT_VFIO_STEP_PROBE_HOST, address, g_steal_pointer (&local),
                          error);
    }

  if (!begin (self, SPIRIT_VFIO_STEP_PROBE_HOST, address, cancellable, error))
    return FALSE;
  if (spirit_vfio_probe (address, function->host_driver, deadline (self), NULL, &local))
    return TRUE;
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED) || function->host_driver == NULL)
    return step_failed (self, SPIRIT_VFIO_STEP_PROBE_HOST, address, g_steal_pointer (&local),
                        error);
  /* drivers_probe failed or found nothing: bind the host driver by name */
  g_debug ("%s: probing failed (%s); binding %s directly", address, local->message,
           function->host_driver);
  g_clear_error (&local);
  if (!spirit_vfio_bind (address, function->host_driver, deadline (self), NULL, &local))
    return step_failed (self, SPIRIT_VFIO_STEP_PROBE_HOST, address, g_steal_pointer (&local),
                        error);
  return TRUE;
}

static gboolean
run_to_host_round (SpiritVfioSwap *self, GCancellable *cancellable, GError **error)
{
  GError *first = NULL;

  /* every function, even after one failed: as much as possible goes back each round */
  for (guint i = 0; i < self->functions->len; i++)
    {
      g_autoptr (GError) local = NULL;

      if (!function_to_host (self, g_ptr_array_index (self->functions, i), cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            {
              g_clear_error (&first);
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          if (first == NULL)
            first = g_steal_pointer (&local);
          else
            g_debug ("Also failed: %s", local->message);
        }
    }
  if (first != NULL)
    {
      g_propagate_error (error, first);
      return FALSE;
    }
  for (guint i = 0; i < self->functions->len; i++)
    {
      Function *function = g_ptr_array_index (self->functions, i);
      g_autoptr (GError) local = NULL;

      if (function->subsystems[0] == NULL)
        continue;
      if (!begin (self, SPIRIT_VFIO_STEP_HOST_NODES, function->address, cancellable, error))
        return FALSE;
      if (!spirit_vfio_wait_nodes (function->address, (const char *const *)function->subsystems,
                                   deadline (self), NULL, &local))
        return step_failed (self, SPIRIT_VFIO_STEP_HOST_NODES, function->address,
                            g_steal_pointer (&local), error);
    }
  return TRUE;
}

/* Converges every function on its host driver. Write errors are retried in the next round (a
 * busy device, a transient EIO); timeouts and cancellation are not. */
static gboolean
converge_to_host (SpiritVfioSwap *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GError) local = NULL;

  self->phase = SPIRIT_VFIO_PHASE_TO_HOST;
  for (guint round = 1;; round++)
    {
      g_clear_error (&local);
      if (run_to_host_round (self, cancellable, &local))
        break;
      if (round == RECLAIM_ROUNDS
          || !g_error_matches (local, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_message ("%s: back to the host, round %u failed (%s); trying again", self->gpu_address,
                 round, local->message);
    }

  announce (self, SPIRIT_VFIO_STEP_RESTORE_VTCONSOLES, NULL);
  if (!spirit_gpu_restore_vtconsoles (self->vtconsoles, &local))
    {
      /* the GPU is back; a console that stays dark is not worth failing the reclaim for */
      g_warning ("%s: %s: %s", self->gpu_address,
                 spirit_vfio_step_to_string (SPIRIT_VFIO_STEP_RESTORE_VTCONSOLES), local->message);
    }
  else
    g_ptr_array_set_size (self->vtconsoles, 0);
  self->phase = SPIRIT_VFIO_PHASE_HOST;
  return TRUE;
}

gboolean
spirit_vfio_swap_to_vfio (SpiritVfioSwap *self,
                          SpiritVfioFlags flags,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GError) rollback = NULL;
  gint64 start = g_get_monotonic_time ();

  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), FALSE);
  self->failed_step = SPIRIT_VFIO_STEP_NONE;
  self->phase = SPIRIT_VFIO_PHASE_TO_VFIO;
  if (run_to_vfio (self, flags, cancellable, &local))
    {
      self->phase = SPIRIT_VFIO_PHASE_VFIO;
      g_info ("%s is on vfio-pci in %.1f ms", self->gpu_address,
              (g_get_monotonic_time () - start) / 1000.0);
      return TRUE;
    }

  /* nothing has changed before the consoles are released: a refusal needs no rollback */
  if (self->failed_step == SPIRIT_VFIO_STEP_CHECK || self->failed_step == SPIRIT_VFIO_STEP_HOLDERS)
    {
      self->phase = SPIRIT_VFIO_PHASE_HOST;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  /* Roll back even when cancelled: a half-swapped GPU is the black screen we are here to avoid. */
  g_message ("%s: %s; rolling back to the host drivers", self->gpu_address, local->message);
  if (converge_to_host (self, NULL, &rollback))
    g_set_error (error, local->domain, local->code,
                 "%s (rolled back: the GPU is on its host drivers)", local->message);
  else
    g_set_error (error, local->domain, local->code, "%s; rolling back failed too, at %s",
                 local->message, rollback->message);
  return FALSE;
}

gboolean
spirit_vfio_swap_to_host (SpiritVfioSwap *self,
                          SpiritVfioFlags flags,
                          GCancellable *cancellable,
                          GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GPtrArray) nodes
    = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_dev_node_free);
  gint64 start = g_get_monotonic_time ();

  g_return_val_if_fail (SPIRIT_IS_VFIO_SWAP (self), FALSE);
  self->failed_step = SPIRIT_VFIO_STEP_NONE;
  self->phase = SPIRIT_VFIO_PHASE_TO_HOST;

  /* unbinding vfio-pci under an open group blocks in the kernel until it is closed */
  for (guint i = 0; i < self->groups->len; i++)
    {
      SpiritDevNode *node = g_new0 (SpiritDevNode, 1);
      struct stat st;
      g_autofree char *full = NULL;

      node->path = g_strdup_printf ("/dev/vfio/%d", g_array_index (self->groups, int, i));
      node->subsystem = g_strdup ("vfio");
      full = spirit_sysfs_path (node->path);
      if (stat (full, &st) == 0 && S_ISCHR (st.st_mode))
        {
          node->major = major (st.st_rdev);
          node->minor = minor (st.st_rdev);
        }
      else
        node->major = node->minor = G_MAXUINT; /* matched by path only */
      g_ptr_array_add (nodes, node);
    }
  if (!begin (self, SPIRIT_VFIO_STEP_VFIO_HOLDERS, NULL, cancellable, error))
    return FALSE;
  if (!handle_holders (self, nodes, FALSE, flags, cancellable, &local))
    return step_failed (self, SPIRIT_VFIO_STEP_VFIO_HOLDERS, NULL, g_steal_pointer (&local), error);

  if (!converge_to_host (self, cancellable, error))
    return FALSE;
  g_info ("%s is on its host drivers in %.1f ms", self->gpu_address,
          (g_get_monotonic_time () - start) / 1000.0);
  return TRUE;
}

static void
to_vfio_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;

  if (spirit_vfio_swap_to_vfio (source, GPOINTER_TO_UINT (task_data), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
to_host_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (GError) error = NULL;

  if (spirit_vfio_swap_to_host (source, GPOINTER_TO_UINT (task_data), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

void
spirit_vfio_swap_to_vfio_async (SpiritVfioSwap *self,
                                SpiritVfioFlags flags,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, spirit_vfio_swap_to_vfio_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (flags), NULL);
  g_task_run_in_thread (task, to_vfio_thread);
}

gboolean
spirit_vfio_swap_to_vfio_finish (SpiritVfioSwap *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
spirit_vfio_swap_to_host_async (SpiritVfioSwap *self,
                                SpiritVfioFlags flags,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, spirit_vfio_swap_to_host_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (flags), NULL);
  g_task_run_in_thread (task, to_host_thread);
}

gboolean
spirit_vfio_swap_to_host_finish (SpiritVfioSwap *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
