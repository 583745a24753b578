/* spirit-gpu-run.c: the steps of a GPU swap around the vfio binding, their journal and rollback. */
#define G_LOG_DOMAIN "spirit-gpu-run"

#include "spirit-gpu-run.h"
#include "spirit-error.h"
#include "spirit-gpu-error.h"
#include "spirit-gpu-session.h"
#include "spirit-gpu-vm.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#ifndef SPIRIT_STATE_DIR
#define SPIRIT_STATE_DIR "/var/lib/spirit"
#endif
#define JOURNAL_VERSION 1
#define PASSTHROUGH_STEPS 13 /* sessions inhibit stop-hud + 8 vfio steps + define start-vm */
#define RECLAIM_STEPS 10     /* inhibit stop-vm remove-hostdevs + 6 steps back + start-hud */

struct _SpiritGpuRun
{
  SpiritGpuRunConfig *config; /* an atomic rc box shared with the service */
  SpiritVfioSwap *swap;
  char *gpu_address;
  GStrv addresses;

  GVirDomain *domain; /* NULL when the VM is unknown (recovery without it) */
  char *vm_name;
  char *vm_key; /* HOST/UUID, to find the VM again after a restart */
  gboolean force;

  char *direction; /* to-vm, vm, to-host, host */
  char *step;
  gboolean hud_stopped;
  gboolean hud_uid_known;
  guint hud_uid;
  gboolean hostdevs_added;
  int inhibit_fd;

  GDBusConnection *system_bus;
  SpiritGpuRunProgress progress;
  gpointer progress_data;
  guint index, total;
  GHashTable *failed_once; /* fail_steps already failed: each injected failure happens once */
  GHashTable
    *announced; /* steps of this run already announced (the vfio steps repeat per function) */
};

/* g_set_str() is GLib 2.76; Debian 12 has 2.74. */
static void
set_str (char **field, const char *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

/* --- configuration --------------------------------------------------------------------- */

static void
config_clear (SpiritGpuRunConfig *config)
{
  g_free (config->state_dir);
  g_free (config->hud_unit);
  g_free (config->user_bus_address);
  g_free (config->user_runtime_dir);
  g_free (config->seat);
  g_strfreev (config->fail_steps);
  g_free (config->crash_step);
}

static guint
env_uint (const char *name, guint fallback)
{
  const char *value = g_getenv (name);
  guint64 parsed;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT, &parsed, NULL))
    return fallback;
  return (guint)parsed;
}

SpiritGpuRunConfig *
spirit_gpu_run_config_new_from_env (gboolean allow_test_knobs)
{
  SpiritGpuRunConfig *config = g_atomic_rc_box_new0 (SpiritGpuRunConfig);
  const char *state = g_getenv ("STATE_DIRECTORY");

  if (state != NULL && strchr (state, ':') != NULL)
    state = NULL; /* several directories: ours is the default one */
  config->state_dir = g_strdup (state ? state : SPIRIT_STATE_DIR);
  config->hud_unit = g_strdup ("nexus-hud.service");
  config->seat = g_strdup ("seat0");
  config->unit_timeout_ms = 30000;
  config->step_timeout_ms = SPIRIT_VFIO_DEFAULT_TIMEOUT_MS;
  if (allow_test_knobs)
    {
      if (g_getenv ("SPIRIT_STATE_DIR"))
        set_str (&config->state_dir, g_getenv ("SPIRIT_STATE_DIR"));
      if (g_getenv ("SPIRIT_HUD_UNIT"))
        set_str (&config->hud_unit, g_getenv ("SPIRIT_HUD_UNIT"));
      config->user_bus_address = g_strdup (g_getenv ("SPIRIT_USER_BUS_ADDRESS"));
      config->user_runtime_dir = g_strdup (g_getenv ("SPIRIT_USER_RUNTIME_DIR"));
      config->unit_timeout_ms = env_uint ("SPIRIT_GPU_UNIT_TIMEOUT_MS", config->unit_timeout_ms);
      config->step_timeout_ms = env_uint ("SPIRIT_GPU_STEP_TIMEOUT_MS", config->step_timeout_ms);
      if (g_getenv ("SPIRIT_GPU_FAIL"))
        config->fail_steps = g_strsplit (g_getenv ("SPIRIT_GPU_FAIL"), ",", -1);
      config->crash_step = g_strdup (g_getenv ("SPIRIT_GPU_CRASH"));
    }
  return config;
}

void
spirit_gpu_run_config_free (SpiritGpuRunConfig *config)
{
  g_atomic_rc_box_release_full (config, (GDestroyNotify)config_clear);
}

/* --- the run ----------------------------------------------------------------------------- */

SpiritGpuRun *
spirit_gpu_run_new (const SpiritGpuRunConfig *config, SpiritVfioSwap *swap)
{
  SpiritGpuRun *run = g_new0 (SpiritGpuRun, 1);

  run->config = g_atomic_rc_box_acquire ((SpiritGpuRunConfig *)config);
  run->swap = g_object_ref (swap);
  run->gpu_address = g_strdup (spirit_vfio_swap_get_gpu_address (swap));
  run->addresses = spirit_vfio_swap_dup_addresses (swap);
  run->direction = g_strdup ("host");
  run->step = g_strdup ("");
  run->inhibit_fd = -1;
  run->failed_once = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run->announced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  spirit_vfio_swap_set_timeout (swap, config->step_timeout_ms);
  return run;
}

void
spirit_gpu_run_free (SpiritGpuRun *run)
{
  if (run == NULL)
    return;
  if (run->inhibit_fd >= 0)
    close (run->inhibit_fd);
  g_clear_object (&run->swap);
  g_clear_object (&run->domain);
  g_clear_object (&run->system_bus);
  g_strfreev (run->addresses);
  g_free (run->gpu_address);
  g_free (run->vm_name);
  g_free (run->vm_key);
  g_free (run->direction);
  g_free (run->step);
  g_hash_table_unref (run->failed_once);
  g_hash_table_unref (run->announced);
  spirit_gpu_run_config_free (run->config);
  g_free (run);
}

void
spirit_gpu_run_set_vm (SpiritGpuRun *run,
                       GVirDomain *domain,
                       const char *name,
                       const char *lookup_key)
{
  g_set_object (&run->domain, domain);
  if (name != NULL)
    set_str (&run->vm_name, name);
  if (lookup_key != NULL)
    set_str (&run->vm_key, lookup_key);
}

void
spirit_gpu_run_set_force (SpiritGpuRun *run, gboolean force)
{
  run->force = force;
}

void
spirit_gpu_run_set_progress (SpiritGpuRun *run, SpiritGpuRunProgress func, gpointer user_data)
{
  run->progress = func;
  run->progress_data = user_data;
}

const char *
spirit_gpu_run_get_gpu_address (SpiritGpuRun *run)
{
  return run->gpu_address;
}

const char *
spirit_gpu_run_get_vm_name (SpiritGpuRun *run)
{
  return run->vm_name;
}

const char *
spirit_gpu_run_get_vm_key (SpiritGpuRun *run)
{
  return run->vm_key;
}

const char *
spirit_gpu_run_get_direction (SpiritGpuRun *run)
{
  return run->direction;
}

SpiritVfioPhase
spirit_gpu_run_get_phase (SpiritGpuRun *run)
{
  return spirit_vfio_swap_get_phase (run->swap);
}

const char *
spirit_gpu_run_get_host_driver (SpiritGpuRun *run, const char *address)
{
  return spirit_vfio_swap_get_host_driver (run->swap, address);
}

gboolean
spirit_gpu_run_needs_libvirt (SpiritGpuRun *run)
{
  return run->vm_key != NULL && (run->hostdevs_added || g_str_equal (run->direction, "vm"));
}

/* --- journal ------------------------------------------------------------------------------- */

char *
spirit_gpu_journal_path (const char *state_dir, const char *gpu_address)
{
  g_autofree char *name = g_strdup_printf ("gpu-%s.journal", gpu_address);

  return g_build_filename (state_dir, name, NULL);
}

GPtrArray *
spirit_gpu_journal_list (const char *state_dir)
{
  g_autoptr (GDir) dir = g_dir_open (state_dir, 0, NULL);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "gpu-") && g_str_has_suffix (name, ".journal"))
      g_ptr_array_add (paths, g_build_filename (state_dir, name, NULL));
  return paths;
}

GVariant *
spirit_gpu_journal_read (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) parse_error = NULL;
  GVariant *journal;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  journal = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &parse_error);
  if (journal == NULL)
    g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_INVALID_JOURNAL, "%s: %s", path,
                 parse_error->message);
  return journal ? g_variant_ref_sink (journal) : NULL;
}

static GVariant *
run_to_journal (SpiritGpuRun *run)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "version", "u", JOURNAL_VERSION);
  g_variant_dict_insert (&dict, "gpu", "s", run->gpu_address);
  g_variant_dict_insert (&dict, "direction", "s", run->direction);
  g_variant_dict_insert (&dict, "step", "s", run->step);
  if (run->vm_name != NULL)
    g_variant_dict_insert (&dict, "vm", "s", run->vm_name);
  if (run->vm_key != NULL)
    g_variant_dict_insert (&dict, "vm-key", "s", run->vm_key);
  g_variant_dict_insert (&dict, "hud-unit", "s", run->config->hud_unit);
  g_variant_dict_insert (&dict, "hud-stopped", "b", run->hud_stopped);
  if (run->hud_uid_known)
    g_variant_dict_insert (&dict, "hud-uid", "u", run->hud_uid);
  g_variant_dict_insert (&dict, "hostdevs", "b", run->hostdevs_added);
  g_variant_dict_insert_value (&dict, "swap", spirit_vfio_swap_to_journal (run->swap));
  return g_variant_dict_end (&dict);
}

SpiritGpuRun *
spirit_gpu_run_new_from_journal (const SpiritGpuRunConfig *config,
                                 GVariant *journal,
                                 GError **error)
{
  g_autoptr (GVariant) swap_journal = NULL;
  g_autoptr (SpiritVfioSwap) swap = NULL;
  GVariantDict dict;
  SpiritGpuRun *run;
  guint32 version = 0;
  const char *text;

  g_variant_dict_init (&dict, journal);
  if (!g_variant_dict_lookup (&dict, "version", "u", &version) || version != JOURNAL_VERSION
      || (swap_journal = g_variant_dict_lookup_value (&dict, "swap", G_VARIANT_TYPE_VARDICT))
           == NULL)
    {
      g_variant_dict_clear (&dict);
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_INVALID_JOURNAL,
                   "Not a GPU journal of version %u", JOURNAL_VERSION);
      return NULL;
    }
  swap = spirit_vfio_swap_new_from_journal (swap_journal, error);
  if (swap == NULL)
    {
      g_variant_dict_clear (&dict);
      return NULL;
    }
  run = spirit_gpu_run_new (config, swap);
  if (g_variant_dict_lookup (&dict, "direction", "&s", &text))
    set_str (&run->direction, text);
  if (g_variant_dict_lookup (&dict, "step", "&s", &text))
    set_str (&run->step, text);
  if (g_variant_dict_lookup (&dict, "vm", "&s", &text))
    run->vm_name = g_strdup (text);
  if (g_variant_dict_lookup (&dict, "vm-key", "&s", &text))
    run->vm_key = g_strdup (text);
  g_variant_dict_lookup (&dict, "hud-stopped", "b", &run->hud_stopped);
  run->hud_uid_known = g_variant_dict_lookup (&dict, "hud-uid", "u", &run->hud_uid);
  g_variant_dict_lookup (&dict, "hostdevs", "b", &run->hostdevs_added);
  g_variant_dict_clear (&dict);
  return run;
}

static gboolean
journal_write (SpiritGpuRun *run, GError **error)
{
  g_autoptr (GVariant) journal = g_variant_ref_sink (run_to_journal (run));
  g_autofree char *text = g_variant_print (journal, TRUE);
  g_autofree char *path = spirit_gpu_journal_path (run->config->state_dir, run->gpu_address);
  g_autofree char *tmp = g_strconcat (path, ".new", NULL);

  if (g_mkdir_with_parents (run->config->state_dir, 0700) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Could not create %s: %s",
                   run->config->state_dir, g_strerror (saved));
      return FALSE;
    }
  /* Written to a temporary file and renamed over the journal: a spiritd killed at any point
   * leaves the old journal or the new one, never a mixture. No fsync: the journal is for a
   * crashed or killed spiritd; after a power loss the kernel starts again with the GPU on its
   * host drivers, and only the VM's definition (libvirt's, durable) remembers the swap. An fsync
   * per step would cost more than the steps themselves. */
  if (!g_file_set_contents_full (tmp, text, -1, G_FILE_SET_CONTENTS_NONE, 0600, error))
    return FALSE;
  if (g_rename (tmp, path) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Could not rename %s to %s: %s", tmp, path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static void
journal_remove (SpiritGpuRun *run)
{
  g_autofree char *path = spirit_gpu_journal_path (run->config->state_dir, run->gpu_address);

  if (g_unlink (path) < 0 && errno != ENOENT)
    g_warning ("Could not remove the GPU journal %s: %s", path, g_strerror (errno));
}

/* --- steps ----------------------------------------------------------------------------------- */

/* Records STEP in the journal, announces it, and applies the test knobs. */
static gboolean
run_begin_step (SpiritGpuRun *run, const char *step, const char *description, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean new_step = !g_hash_table_contains (run->announced, step);

  set_str (&run->step, step);
  if (!journal_write (run, &local_error))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "journal: %s", local_error->message);
      return FALSE;
    }
  if (run->config->crash_step != NULL && g_str_equal (run->config->crash_step, step))
    {
      g_printerr ("spiritd: SPIRIT_GPU_CRASH: exiting before step %s\n", step);
      _exit (70);
    }
  if (new_step)
    {
      g_hash_table_add (run->announced, g_strdup (step));
      run->index = MIN (run->index + 1, run->total);
      if (run->progress != NULL)
        run->progress (run, step, description, run->index, run->total, run->progress_data);
    }
  if (run->config->fail_steps != NULL
      && g_strv_contains ((const char *const *)run->config->fail_steps, step)
      && !g_hash_table_contains (run->failed_once, step))
    {
      g_hash_table_add (run->failed_once, g_strdup (step));
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "%s: failure injected by SPIRIT_GPU_FAIL", step);
      return FALSE;
    }
  return TRUE;
}

static const char *
vfio_step_description (SpiritVfioStep step)
{
  switch (step)
    {
    case SPIRIT_VFIO_STEP_CHECK:
      return "Checking the IOMMU group and vfio-pci";
    case SPIRIT_VFIO_STEP_HOLDERS:
      return "Looking for processes that use the GPU";
    case SPIRIT_VFIO_STEP_VTCONSOLES:
      return "Releasing the text consoles";
    case SPIRIT_VFIO_STEP_FRAMEBUFFERS:
      return "Releasing the firmware framebuffers";
    case SPIRIT_VFIO_STEP_OVERRIDE:
      return "Reserving the GPU for vfio-pci";
    case SPIRIT_VFIO_STEP_UNBIND:
      return "Unbinding the host drivers";
    case SPIRIT_VFIO_STEP_PROBE:
      return "Binding vfio-pci";
    case SPIRIT_VFIO_STEP_VFIO_NODE:
      return "Waiting for the vfio group";
    case SPIRIT_VFIO_STEP_VFIO_HOLDERS:
      return "Waiting for the VM to let go of the GPU";
    case SPIRIT_VFIO_STEP_CLEAR_OVERRIDE:
      return "Giving the GPU back to its host drivers";
    case SPIRIT_VFIO_STEP_UNBIND_VFIO:
      return "Unbinding vfio-pci";
    case SPIRIT_VFIO_STEP_PROBE_HOST:
      return "Binding the host drivers";
    case SPIRIT_VFIO_STEP_HOST_NODES:
      return "Waiting for the GPU's device nodes";
    case SPIRIT_VFIO_STEP_RESTORE_VTCONSOLES:
      return "Binding the text consoles again";
    case SPIRIT_VFIO_STEP_NONE:
    default:
      return "";
    }
}

static void
on_vfio_step (SpiritVfioSwap *swap, SpiritVfioStep step, const char *address, gpointer user_data)
{
  SpiritGpuRun *run = user_data;
  g_autoptr (GError) error = NULL;

  /* A journal that cannot be written here is logged; the swap's own state is still right. */
  if (!run_begin_step (run, spirit_vfio_step_to_string (step), vfio_step_description (step),
                       &error))
    g_warning ("%s", error->message);
}

static GDBusConnection *
run_system_bus (SpiritGpuRun *run, GError **error)
{
  if (run->system_bus == NULL)
    run->system_bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  return run->system_bus;
}

static void
run_release_inhibitor (SpiritGpuRun *run)
{
  if (run->inhibit_fd >= 0)
    {
      close (run->inhibit_fd);
      run->inhibit_fd = -1;
    }
}

static gboolean
run_inhibit (SpiritGpuRun *run, const char *why, GError **error)
{
  GDBusConnection *bus = run_system_bus (run, error);

  if (bus == NULL)
    return FALSE;
  run_release_inhibitor (run);
  run->inhibit_fd = spirit_logind_inhibit (bus, "sleep:shutdown", why, error);
  return run->inhibit_fd >= 0;
}

static GDBusConnection *
run_user_manager (SpiritGpuRun *run, GError **error)
{
  if (run->config->user_bus_address == NULL && !run->hud_uid_known)
    return NULL;
  return spirit_gpu_user_manager_connect (run->config->user_bus_address,
                                          run->config->user_runtime_dir, run->hud_uid, error);
}

static void
prefix_error (GError **error, const char *step)
{
  if (error != NULL && *error != NULL && !g_str_has_prefix ((*error)->message, step))
    g_prefix_error (error, "%s: ", step);
}

/* Graphical sessions on the seat are refused unless forced; the HUD's user is the seat's active
 * session's (else its first session's) user. */
static gboolean
run_check_sessions (SpiritGpuRun *run, GError **error)
{
  GDBusConnection *bus = run_system_bus (run, error);
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (GString) graphical = g_string_new (NULL);

  if (bus == NULL)
    return FALSE;
  sessions = spirit_logind_list_seat_sessions (bus, run->config->seat, error);
  if (sessions == NULL)
    return FALSE;
  for (guint i = 0; i < sessions->len; i++)
    {
      SpiritSeatSession *session = g_ptr_array_index (sessions, i);
      if (spirit_seat_session_is_graphical (session))
        g_string_append_printf (graphical, "%ssession %s of %s (%s)", graphical->len ? ", " : "",
                                session->id, session->user, session->type);
      if (!run->hud_uid_known || session->active)
        {
          run->hud_uid = session->uid;
          run->hud_uid_known = TRUE;
        }
    }
  if (graphical->len > 0 && !run->force)
    {
      g_set_error (
        error, SPIRIT_ERROR, SPIRIT_ERROR_BUSY,
        "Graphical sessions are open on %s: %s; log them out first, or force the passthrough",
        run->config->seat, graphical->str);
      return FALSE;
    }
  if (graphical->len > 0)
    g_message ("Passing the GPU with graphical sessions open (forced): %s", graphical->str);
  return TRUE;
}

static gboolean
run_stop_hud (SpiritGpuRun *run, GError **error)
{
  g_autoptr (GDBusConnection) manager = NULL;
  g_autoptr (GError) local_error = NULL;
  gboolean active = FALSE;

  manager = run_user_manager (run, &local_error);
  if (manager == NULL)
    {
      /* No user manager: nobody's HUD to stop. */
      g_debug ("No user manager for the HUD: %s",
               local_error ? local_error->message : "no user on the seat");
      return TRUE;
    }
  if (!spirit_systemd_unit_is_active (manager, run->config->hud_unit, &active, error))
    return FALSE;
  if (!active)
    return TRUE;
  /* Recorded before the stop: a stop that times out may still happen, so the way back starts it. */
  run->hud_stopped = TRUE;
  if (!journal_write (run, error))
    return FALSE;
  return spirit_systemd_run_job (manager, "StopUnit", run->config->hud_unit,
                                 run->config->unit_timeout_ms, error);
}

static gboolean
run_start_hud (SpiritGpuRun *run, GError **error)
{
  g_autoptr (GDBusConnection) manager = NULL;
  g_autoptr (GError) first_error = NULL;

  if (!run->hud_stopped)
    return TRUE;
  manager = run_user_manager (run, error);
  if (manager == NULL)
    return FALSE;
  /* A start job can fail on a transient dependency: one more try before giving up. */
  if (!spirit_systemd_run_job (manager, "StartUnit", run->config->hud_unit,
                               run->config->unit_timeout_ms, &first_error))
    {
      g_message ("Starting %s again: %s", run->config->hud_unit, first_error->message);
      if (!spirit_systemd_run_job (manager, "StartUnit", run->config->hud_unit,
                                   run->config->unit_timeout_ms, error))
        return FALSE;
    }
  run->hud_stopped = FALSE;
  return TRUE;
}

/* Back to the host after a failed passthrough. Returns whether it all went back. */
static gboolean
run_roll_back (SpiritGpuRun *run, GString *notes)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = TRUE;

  set_str (&run->direction, "to-host");
  if (run->hostdevs_added && run->domain != NULL)
    {
      if (!spirit_gpu_vm_remove_hostdevs (run->domain, (const char *const *)run->addresses, &error))
        {
          g_string_append_printf (notes, "; the VM's definition still lists the GPU: %s",
                                  error->message);
          g_clear_error (&error);
        }
      else
        run->hostdevs_added = FALSE;
    }
  if (spirit_vfio_swap_get_phase (run->swap) != SPIRIT_VFIO_PHASE_HOST)
    {
      if (!spirit_vfio_swap_to_host (run->swap, SPIRIT_VFIO_FLAGS_FORCE, NULL, &error))
        {
          g_string_append_printf (notes, "; rolling back failed too, at %s", error->message);
          g_clear_error (&error);
          ok = FALSE;
        }
      else
        g_string_append (notes, " (rolled back: the GPU is on its host drivers)");
    }
  if (run->hud_stopped)
    {
      if (!run_start_hud (run, &error))
        {
          g_string_append_printf (notes, "; start-hud: %s", error->message);
          ok = FALSE;
        }
      else
        g_string_append_printf (notes, "; %s runs again", run->config->hud_unit);
    }
  run_release_inhibitor (run);
  if (ok)
    {
      set_str (&run->direction, "host");
      journal_remove (run);
    }
  else
    (void)journal_write (run, NULL);
  return ok;
}

gboolean
spirit_gpu_run_passthrough (SpiritGpuRun *run, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GString) notes = g_string_new (NULL);
  g_autofree char *why
    = g_strdup_printf ("Passing the GPU %s to %s", run->gpu_address, run->vm_name);

  set_str (&run->direction, "to-vm");
  run->index = 0;
  g_hash_table_remove_all (run->announced);
  run->total = PASSTHROUGH_STEPS;
  spirit_vfio_swap_set_step_func (run->swap, on_vfio_step, run, NULL);

  if (!run_begin_step (run, "sessions", "Looking for graphical sessions on the GPU's seat",
                       &local_error)
      || !run_check_sessions (run, &local_error))
    goto fail;
  if (!run_begin_step (run, "inhibit", "Keeping the system from sleeping or shutting down",
                       &local_error)
      || !run_inhibit (run, why, &local_error))
    goto fail;
  if (!run_begin_step (run, "stop-hud", "Stopping the HUD", &local_error)
      || !run_stop_hud (run, &local_error))
    goto fail;
  if (!spirit_vfio_swap_to_vfio (run->swap,
                                 run->force ? SPIRIT_VFIO_FLAGS_FORCE : SPIRIT_VFIO_FLAGS_NONE,
                                 NULL, &local_error))
    goto fail;
  if (!run_begin_step (run, "define", "Adding the GPU to the VM's definition", &local_error))
    goto fail;
  run->hostdevs_added = TRUE;
  if (!spirit_gpu_vm_add_hostdevs (run->domain, (const char *const *)run->addresses, &local_error))
    goto fail;
  if (!run_begin_step (run, "start-vm", "Starting the VM", &local_error)
      || !spirit_gpu_vm_start (run->domain, &local_error))
    goto fail;

  set_str (&run->direction, "vm");
  set_str (&run->step, "");
  if (!journal_write (run, &local_error))
    g_warning ("Could not write the GPU journal: %s", local_error->message);
  run_release_inhibitor (run);
  return TRUE;

fail:
  prefix_error (&local_error, run->step);
  run_roll_back (run, notes);
  /* The library's own rollback note is already in its message. */
  if (strstr (local_error->message, "(rolled back") != NULL
      && g_str_has_prefix (notes->str, " (rolled back"))
    g_string_erase (notes, 0, strlen (" (rolled back: the GPU is on its host drivers)"));
  {
    g_autofree char *message = g_strconcat (local_error->message, notes->str, NULL);
    g_set_error_literal (error, local_error->domain, local_error->code, message);
  }
  return FALSE;
}

gboolean
spirit_gpu_run_reclaim (SpiritGpuRun *run, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GError) hud_error = NULL;
  g_autofree char *why = g_strdup_printf ("Taking the GPU %s back from %s", run->gpu_address,
                                          run->vm_name ? run->vm_name : "its VM");

  set_str (&run->direction, "to-host");
  run->index = 0;
  g_hash_table_remove_all (run->announced);
  run->total = RECLAIM_STEPS;
  spirit_vfio_swap_set_step_func (run->swap, on_vfio_step, run, NULL);

  /* The way back goes on without an inhibitor: leaving the GPU on vfio-pci would be worse. */
  if (!run_begin_step (run, "inhibit", "Keeping the system from sleeping or shutting down",
                       &local_error)
      || !run_inhibit (run, why, &local_error))
    {
      g_warning ("inhibit: %s; taking the GPU back anyway", local_error->message);
      g_clear_error (&local_error);
    }
  if (run->domain != NULL)
    {
      gboolean active = spirit_gpu_vm_is_active (run->domain, NULL);
      if (active && !run->force)
        {
          g_set_error (
            error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
            "stop-vm: %s is running and holds the GPU; shut it down first, or force the reclaim",
            run->vm_name);
          run_release_inhibitor (run);
          set_str (&run->direction, "vm");
          (void)journal_write (run, NULL);
          return FALSE;
        }
      if (active
          && (!run_begin_step (run, "stop-vm", "Turning the VM off", &local_error)
              || !spirit_gpu_vm_destroy (run->domain, &local_error)))
        goto fail;
      if (run->hostdevs_added)
        {
          if (!run_begin_step (run, "remove-hostdevs", "Removing the GPU from the VM's definition",
                               &local_error)
              || !spirit_gpu_vm_remove_hostdevs (run->domain, (const char *const *)run->addresses,
                                                 &local_error))
            {
              /* The GPU comes back all the same; the VM will not start until this is fixed. */
              prefix_error (&local_error, "remove-hostdevs");
              g_warning ("%s", local_error->message);
              g_clear_error (&local_error);
            }
          else
            run->hostdevs_added = FALSE;
        }
    }
  if (!spirit_vfio_swap_to_host (run->swap,
                                 run->force ? SPIRIT_VFIO_FLAGS_FORCE : SPIRIT_VFIO_FLAGS_NONE,
                                 NULL, &local_error))
    goto fail;
  if (!run_begin_step (run, "start-hud", "Starting the HUD again", &hud_error))
    {
      g_message ("%s; trying again", hud_error->message);
      g_clear_error (&hud_error);
    }
  if (!run_start_hud (run, &hud_error))
    {
      prefix_error (&hud_error, "start-hud");
      set_str (&run->direction, "host");
      run_release_inhibitor (run);
      journal_remove (run);
      g_propagate_prefixed_error (error, g_steal_pointer (&hud_error),
                                  "The GPU is back on the host, but ");
      return FALSE;
    }
  set_str (&run->direction, "host");
  set_str (&run->step, "");
  run_release_inhibitor (run);
  journal_remove (run);
  return TRUE;

fail:
  prefix_error (&local_error, run->step);
  run_release_inhibitor (run);
  (void)journal_write (run, NULL);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

void
spirit_gpu_run_adopt (SpiritGpuRun *run)
{
  set_str (&run->direction, "vm");
  set_str (&run->step, "");
  (void)journal_write (run, NULL);
}

GError *
spirit_gpu_error_to_dbus (const GError *error)
{
  SpiritError code = SPIRIT_ERROR_FAILED;

  if (error->domain == SPIRIT_ERROR)
    return g_error_copy (error);
  if (error->domain == SPIRIT_GPU_ERROR)
    switch ((SpiritGpuError)error->code)
      {
      case SPIRIT_GPU_ERROR_NOT_FOUND:
        code = SPIRIT_ERROR_NO_SUCH_GPU;
        break;
      case SPIRIT_GPU_ERROR_IOMMU_DISABLED:
      case SPIRIT_GPU_ERROR_NOT_VIABLE:
        code = SPIRIT_ERROR_NOT_SUPPORTED;
        break;
      case SPIRIT_GPU_ERROR_BUSY:
        code = SPIRIT_ERROR_BUSY;
        break;
      case SPIRIT_GPU_ERROR_TIMEOUT:
        code = SPIRIT_ERROR_TIMEOUT;
        break;
      case SPIRIT_GPU_ERROR_FAILED:
      case SPIRIT_GPU_ERROR_INVALID_JOURNAL:
      default:
        code = SPIRIT_ERROR_FAILED;
        break;
      }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    code = SPIRIT_ERROR_TIMEOUT;
  return g_error_new_literal (SPIRIT_ERROR, code, error->message);
}
