/* spirit-vm-ops.c: the libvirt work behind each org.crom.Spirit.VM method.
 *
 * run() functions execute on a worker thread and may block on libvirtd; check() functions run on
 * the main thread against the last known state, so bad requests are refused before libvirt is
 * touched. libvirt-gobject is used where it wraps the call; the raw API fills its gaps.
 */
#define G_LOG_DOMAIN "spirit-vm-ops"

#include "spirit-vm-ops.h"
#include "spirit-error.h"
#include "spirit-libvirt.h"
#include "spirit-vm-retune.h"
#include "spirit-agent-channel.h"

#include <libvirt-gconfig/libvirt-gconfig.h>

/* libvirt-gobject wraps libvirt's error in its own domain; what we keep is libvirt's last error. */
#define FAIL_WITH_LIBVIRT(call, error, verb)                                                       \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *_what = g_strdup_printf ("Could not %s '%s'", verb, (call)->vm_name);        \
    spirit_set_error_from_libvirt (error, _what);                                                  \
    return FALSE;                                                                                  \
  }                                                                                                \
  G_STMT_END

static gboolean
run_start (SpiritVmCall *call, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (call->add_agent_channel)
    {
      g_autoptr (virDomain) handle = spirit_domain_get_handle (call->domain);
      g_autoptr (GError) channel_error = NULL;
      gboolean added = FALSE;

      /* Without the channel the VM still starts; only Exec will not find spirit-agent. */
      if (!spirit_agent_channel_ensure (handle, &added, &channel_error))
        g_warning ("'%s': %s", call->vm_name, channel_error->message);
      else if (added)
        g_message ("Added the spirit.0 agent channel to '%s'", call->vm_name);
    }

  if (!gvir_domain_start (call->domain, 0, &local))
    FAIL_WITH_LIBVIRT (call, error, "start");
  return TRUE;
}

static gboolean
run_shutdown (SpiritVmCall *call, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!gvir_domain_shutdown (call->domain, 0, &local))
    FAIL_WITH_LIBVIRT (call, error, "shut down");
  return TRUE;
}

static gboolean
run_force_stop (SpiritVmCall *call, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!gvir_domain_stop (call->domain, 0, &local))
    FAIL_WITH_LIBVIRT (call, error, "force off");
  return TRUE;
}

static gboolean
run_reboot (SpiritVmCall *call, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!gvir_domain_reboot (call->domain, 0, &local))
    FAIL_WITH_LIBVIRT (call, error, "reboot");
  return TRUE;
}

static gboolean
run_pause (SpiritVmCall *call, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!gvir_domain_suspend (call->domain, &local))
    FAIL_WITH_LIBVIRT (call, error, "pause");
  return TRUE;
}

static gboolean
run_resume (SpiritVmCall *call, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!gvir_domain_resume (call->domain, &local))
    FAIL_WITH_LIBVIRT (call, error, "resume");
  return TRUE;
}

static gboolean
run_save_state (SpiritVmCall *call, GError **error)
{
  g_autoptr (GError) local = NULL;

  /* libvirt's managed save: the image is libvirt's to place, and Start restores from it. */
  if (!gvir_domain_save (call->domain, 0, &local))
    FAIL_WITH_LIBVIRT (call, error, "save the state of");
  return TRUE;
}

static gboolean
run_discard_saved_state (SpiritVmCall *call, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (call->domain);

  if (virDomainManagedSaveRemove (handle, 0) < 0)
    FAIL_WITH_LIBVIRT (call, error, "discard the saved state of");
  return TRUE;
}

static gboolean
run_set_autostart (SpiritVmCall *call, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (call->domain);

  if (virDomainSetAutostart (handle, call->bool_arg ? 1 : 0) < 0)
    FAIL_WITH_LIBVIRT (call, error, "change autostart of");
  return TRUE;
}

static gboolean
run_set_memory (SpiritVmCall *call, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (call->domain);

  /* Live and persistent separately: not every driver takes both flags in one call. The live
   * change (the balloon target) goes first: it is the one that can be refused by the guest. */
  if (virDomainIsActive (handle) == 1 &&
      virDomainSetMemoryFlags (handle, call->size_arg, VIR_DOMAIN_AFFECT_LIVE) < 0)
    FAIL_WITH_LIBVIRT (call, error, "change the memory of");
  if (virDomainIsPersistent (handle) == 1 &&
      virDomainSetMemoryFlags (handle, call->size_arg, VIR_DOMAIN_AFFECT_CONFIG) < 0)
    FAIL_WITH_LIBVIRT (call, error, "change the configured memory of");
  return TRUE;
}

static gboolean
run_create_snapshot (SpiritVmCall *call, GError **error)
{
  g_autoptr (GVirConfigDomainSnapshot) config = gvir_config_domain_snapshot_new ();
  g_autoptr (GVirDomainSnapshot) snapshot = NULL;
  g_autoptr (GError) local = NULL;

  gvir_config_domain_snapshot_set_name (config, call->name_arg);
  gvir_config_domain_snapshot_set_description (config, "Created by Spirit");
  snapshot = gvir_domain_create_snapshot (call->domain, config, 0, &local);
  if (snapshot == NULL)
    FAIL_WITH_LIBVIRT (call, error, "take a snapshot of");
  call->result = g_strdup (gvir_domain_snapshot_get_name (snapshot));
  return TRUE;
}

/* Wraps the raw snapshot in libvirt-gobject's type; NULL (with the error set) if it is gone. */
static GVirDomainSnapshot *
lookup_snapshot (SpiritVmCall *call, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (call->domain);
  g_autoptr (virDomainSnapshot) raw = virDomainSnapshotLookupByName (handle, call->name_arg, 0);

  if (raw == NULL)
    {
      g_autofree char *what =
        g_strdup_printf ("No snapshot '%s' on '%s'", call->name_arg, call->vm_name);
      spirit_set_error_from_libvirt (error, what);
      return NULL;
    }
  return g_object_new (GVIR_TYPE_DOMAIN_SNAPSHOT, "handle", raw, NULL);
}

static gboolean
run_revert_snapshot (SpiritVmCall *call, GError **error)
{
  g_autoptr (GVirDomainSnapshot) snapshot = lookup_snapshot (call, error);
  g_autoptr (GError) local = NULL;

  if (snapshot == NULL)
    return FALSE;
  if (!gvir_domain_snapshot_revert_to (snapshot, 0, &local))
    FAIL_WITH_LIBVIRT (call, error, "revert to the snapshot of");
  return TRUE;
}

static gboolean
run_delete_snapshot (SpiritVmCall *call, GError **error)
{
  g_autoptr (GVirDomainSnapshot) snapshot = lookup_snapshot (call, error);
  g_autoptr (GError) local = NULL;

  if (snapshot == NULL)
    return FALSE;
  if (!gvir_domain_snapshot_delete (snapshot, 0, &local))
    FAIL_WITH_LIBVIRT (call, error, "delete the snapshot of");
  return TRUE;
}

static gboolean
check_shutdown (SpiritVmCall *call, const SpiritVmInfo *current, GError **error)
{
  if (call->timeout_arg > SPIRIT_SHUTDOWN_MAX_TIMEOUT)
    {
      g_set_error (error,
                   SPIRIT_ERROR,
                   SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Shutdown timeout %u s is too long (at most %d s)",
                   call->timeout_arg,
                   SPIRIT_SHUTDOWN_MAX_TIMEOUT);
      return FALSE;
    }
  if (call->timeout_arg == 0)
    call->timeout_arg = SPIRIT_SHUTDOWN_DEFAULT_TIMEOUT;
  return TRUE;
}

static gboolean
check_persistent (SpiritVmCall *call, const SpiritVmInfo *current, GError **error)
{
  if (!current->persistent)
    {
      g_set_error (error,
                   SPIRIT_ERROR,
                   SPIRIT_ERROR_INVALID_STATE,
                   "'%s' is transient (it has no persistent definition), so it cannot autostart",
                   call->vm_name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_memory (SpiritVmCall *call, const SpiritVmInfo *current, GError **error)
{
  if (call->size_arg < SPIRIT_MEMORY_MIN_KIB || call->size_arg > current->max_memory_kib)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "%" G_GUINT64_FORMAT " KiB is out of range for '%s': give between %d KiB (64 MiB) "
                   "and its maximum, %" G_GUINT64_FORMAT " KiB",
                   call->size_arg, call->vm_name, SPIRIT_MEMORY_MIN_KIB, current->max_memory_kib);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_new_snapshot (SpiritVmCall *call, const SpiritVmInfo *current, GError **error)
{
  if (!spirit_snapshot_name_validate (call->name_arg, TRUE, error))
    return FALSE;
  if (call->name_arg[0] == '\0')
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      g_free (call->name_arg);
      call->name_arg = spirit_snapshot_name_generate (now);
    }
  if (current->snapshots != NULL && g_strv_contains ((const char *const *) current->snapshots,
                                                     call->name_arg))
    {
      g_set_error (error,
                   SPIRIT_ERROR,
                   SPIRIT_ERROR_INVALID_ARGUMENT,
                   "'%s' already has a snapshot named '%s'",
                   call->vm_name,
                   call->name_arg);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_existing_snapshot (SpiritVmCall *call, const SpiritVmInfo *current, GError **error)
{
  g_autofree char *known = NULL;

  if (!spirit_snapshot_name_validate (call->name_arg, FALSE, error))
    return FALSE;
  if (current->snapshots != NULL && g_strv_contains ((const char *const *) current->snapshots,
                                                     call->name_arg))
    return TRUE;

  known = current->snapshots && current->snapshots[0]
            ? g_strjoinv (", ", current->snapshots)
            : g_strdup ("none");
  g_set_error (error,
               SPIRIT_ERROR,
               SPIRIT_ERROR_INVALID_ARGUMENT,
               "'%s' has no snapshot named '%s' (snapshots: %s)",
               call->vm_name,
               call->name_arg,
               known);
  return FALSE;
}

static const char *const states_inactive[] = { "shutoff", "saved", "crashed", NULL };
static const char *const states_running[] = { "running", "blocked", NULL };
static const char *const states_shutdown[] = { "running", "blocked", "shutting-down", NULL };
static const char *const states_active[] = { "running", "blocked", "paused", "shutting-down",
                                             "crashed", "suspended", "no-state", NULL };
static const char *const states_paused[] = { "paused", NULL };
static const char *const states_saveable[] = { "running", "blocked", "paused", NULL };
static const char *const states_saved[] = { "saved", NULL };

static const SpiritVmOp spirit_vm_ops[] = {
  { "Start", "start", states_inactive, NULL, run_start, FALSE },
  { "Shutdown", "shut down", states_shutdown, check_shutdown, run_shutdown, TRUE },
  { "ForceStop", "force off", states_active, NULL, run_force_stop, FALSE },
  { "Reboot", "reboot", states_running, NULL, run_reboot, FALSE },
  { "Pause", "pause", states_running, NULL, run_pause, FALSE },
  { "Resume", "resume", states_paused, NULL, run_resume, FALSE },
  { "SaveState", "save the state of", states_saveable, NULL, run_save_state, FALSE },
  { "DiscardSavedState", "discard the saved state of", states_saved, NULL,
    run_discard_saved_state, FALSE },
  { "SetAutostart", "change autostart of", NULL, check_persistent, run_set_autostart, FALSE },
  { "SetMemory", "change the memory of", NULL, check_memory, run_set_memory, FALSE },
  { "Retune", "retune", NULL, spirit_vm_check_retune, spirit_vm_run_retune, FALSE },
  { "CreateSnapshot", "take a snapshot of", NULL, check_new_snapshot, run_create_snapshot, FALSE },
  { "RevertSnapshot", "revert", NULL, check_existing_snapshot, run_revert_snapshot, FALSE },
  { "DeleteSnapshot", "delete a snapshot of", NULL, check_existing_snapshot, run_delete_snapshot,
    FALSE },
};

const SpiritVmOp *
spirit_vm_op_lookup (const char *method)
{
  for (gsize i = 0; i < G_N_ELEMENTS (spirit_vm_ops); i++)
    if (g_str_equal (spirit_vm_ops[i].method, method))
      return &spirit_vm_ops[i];
  return NULL;
}

gboolean
spirit_vm_op_check_state (const SpiritVmOp *op,
                          const char *vm_name,
                          const char *state,
                          GError **error)
{
  g_autofree char *valid = NULL;

  if (g_str_equal (state, "unavailable"))
    {
      g_set_error (error,
                   SPIRIT_ERROR,
                   SPIRIT_ERROR_UNAVAILABLE,
                   "Cannot %s '%s': its libvirt connection is down",
                   op->verb,
                   vm_name);
      return FALSE;
    }
  if (op->valid_states == NULL || g_strv_contains (op->valid_states, state))
    return TRUE;

  valid = g_strjoinv (" or ", (char **) op->valid_states);
  g_set_error (error,
               SPIRIT_ERROR,
               SPIRIT_ERROR_INVALID_STATE,
               "Cannot %s '%s': it is %s (it must be %s)",
               op->verb,
               vm_name,
               state,
               valid);
  return FALSE;
}

gboolean
spirit_snapshot_name_validate (const char *name, gboolean allow_empty, GError **error)
{
  gsize len = strlen (name);

  if (len == 0)
    {
      if (allow_empty)
        return TRUE;
      g_set_error_literal (error,
                           SPIRIT_ERROR,
                           SPIRIT_ERROR_INVALID_ARGUMENT,
                           "The snapshot name is empty");
      return FALSE;
    }
  if (len > SPIRIT_SNAPSHOT_NAME_MAX)
    {
      g_set_error (error,
                   SPIRIT_ERROR,
                   SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The snapshot name is %" G_GSIZE_FORMAT " bytes long (at most %d)",
                   len,
                   SPIRIT_SNAPSHOT_NAME_MAX);
      return FALSE;
    }
  /* A snapshot name ends up in a file name and in QEMU's monitor: keep it to a safe set. */
  for (gsize i = 0; i < len; i++)
    {
      char c = name[i];
      if (!g_ascii_isalnum (c) && strchr ("._-+:@ ", c) == NULL)
        {
          g_set_error (error,
                       SPIRIT_ERROR,
                       SPIRIT_ERROR_INVALID_ARGUMENT,
                       "The snapshot name has a character that is not allowed at position %" G_GSIZE_FORMAT
                       " (use letters, digits and ._-+:@ and space)",
                       i + 1);
          return FALSE;
        }
    }
  if (name[0] == ' ' || name[0] == '.' || name[len - 1] == ' ')
    {
      g_set_error_literal (error,
                           SPIRIT_ERROR,
                           SPIRIT_ERROR_INVALID_ARGUMENT,
                           "The snapshot name may not start with a dot or a space, nor end with a space");
      return FALSE;
    }
  return TRUE;
}

char *
spirit_snapshot_name_generate (GDateTime *now)
{
  return g_date_time_format (now, "snapshot-%Y%m%d-%H%M%S");
}

void
spirit_vm_call_free (SpiritVmCall *call)
{
  if (call == NULL)
    return;
  g_clear_object (&call->invocation);
  g_clear_object (&call->domain);
  g_free (call->vm_name);
  g_free (call->name_arg);
  g_free (call->result);
  spirit_vm_info_free (call->info);
  g_free (call);
}
