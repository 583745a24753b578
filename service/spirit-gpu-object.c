/* spirit-gpu-object.c: one org.crom.Spirit.GPU object and the life of a swap on it. */
#define G_LOG_DOMAIN "spirit-gpu-object"

#include "spirit-gpu-object.h"
#include "spirit-dbus-generated.h"
#include "spirit-error.h"
#include "spirit-gpu-error.h"

struct _SpiritGpuObject
{
  GObject parent_instance;

  const SpiritGpuContext *context;
  char *address;
  char *object_path;
  SpiritDBusGpu *iface;
  GMainContext *main_context;

  SpiritGpuRun *run; /* while the GPU is not on the host (or a swap runs) */
  gboolean busy;     /* a run is on its thread */
  gboolean pending;  /* a journal waits for libvirt */
  SpiritVm *vm;      /* the VM that has (or gets) the GPU */
  gulong vm_state_id;
  /* Passthrough's reply waits until the VM object shows it running, so a caller that gets the
   * reply sees the new state (as with every VM method); bounded by a timeout. */
  GDBusMethodInvocation *reply_when_running;
  guint reply_timeout_id;
};

G_DEFINE_FINAL_TYPE (SpiritGpuObject, spirit_gpu_object, G_TYPE_OBJECT)

static void spirit_gpu_object_start_reclaim (SpiritGpuObject *self,
                                             GDBusMethodInvocation *invocation,
                                             gboolean force);

char *
spirit_gpu_object_path_for (const char *address)
{
  g_autofree char *elem = g_strdup (address);

  g_strdelimit (elem, ":.", '_');
  return g_strdup_printf ("/org/crom/Spirit/gpu/%s", elem);
}

static void
spirit_gpu_object_send_deferred_reply (SpiritGpuObject *self)
{
  g_clear_handle_id (&self->reply_timeout_id, g_source_remove);
  if (self->reply_when_running != NULL)
    g_dbus_method_invocation_return_value (g_steal_pointer (&self->reply_when_running), NULL);
}

static gboolean
on_reply_timeout (gpointer user_data)
{
  SpiritGpuObject *self = user_data;

  self->reply_timeout_id = 0;
  spirit_gpu_object_send_deferred_reply (self);
  return G_SOURCE_REMOVE;
}

static void
spirit_gpu_object_unwatch_vm (SpiritGpuObject *self)
{
  spirit_gpu_object_send_deferred_reply (self);
  if (self->vm != NULL)
    g_clear_signal_handler (&self->vm_state_id, spirit_vm_get_skeleton (self->vm));
  g_clear_object (&self->vm);
}

static void
spirit_gpu_object_dispose (GObject *object)
{
  SpiritGpuObject *self = SPIRIT_GPU_OBJECT (object);

  spirit_gpu_object_unwatch_vm (self);
  g_clear_pointer (&self->run, spirit_gpu_run_free);
  g_clear_object (&self->iface);
  G_OBJECT_CLASS (spirit_gpu_object_parent_class)->dispose (object);
}

static void
spirit_gpu_object_finalize (GObject *object)
{
  SpiritGpuObject *self = SPIRIT_GPU_OBJECT (object);

  g_free (self->address);
  g_free (self->object_path);
  g_main_context_unref (self->main_context);
  G_OBJECT_CLASS (spirit_gpu_object_parent_class)->finalize (object);
}

static void
spirit_gpu_object_class_init (SpiritGpuObjectClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = spirit_gpu_object_dispose;
  G_OBJECT_CLASS (klass)->finalize = spirit_gpu_object_finalize;
}

static void
spirit_gpu_object_init (SpiritGpuObject *self)
{
  self->main_context = g_main_context_ref_thread_default ();
}

/* --- properties ------------------------------------------------------------------------- */

static void
spirit_gpu_object_publish (SpiritGpuObject *self, SpiritGpu *gpu)
{
  SpiritDBusGpu *iface = self->iface;
  SpiritPciDevice *device = spirit_gpu_get_device (gpu);
  GPtrArray *functions = spirit_gpu_get_functions (gpu);
  GPtrArray *members = spirit_gpu_get_group_members (gpu);
  g_autoptr (GPtrArray) function_names = g_ptr_array_new ();
  g_autoptr (GPtrArray) member_names = g_ptr_array_new ();
  g_autoptr (GError) viable_error = NULL;
  g_autofree char *driver = spirit_pci_read_driver (self->address, NULL);
  const char *vendor = spirit_gpu_get_vendor_name (gpu);
  const char *model = spirit_gpu_get_model_name (gpu);
  /* While the GPU is away, discovery sees vfio-pci: the swap (or its journal) knows better. */
  const char *host_driver = self->run ? spirit_gpu_run_get_host_driver (self->run, self->address)
                                      : spirit_gpu_get_host_driver (gpu, self->address);
  g_autofree char *name = NULL;

  if (vendor && model)
    name = g_strdup_printf ("%s %s", vendor, model);
  else
    name = g_strdup_printf ("%04x:%04x", spirit_pci_device_get_vendor_id (device),
                            spirit_pci_device_get_device_id (device));
  for (guint i = 0; functions && i < functions->len; i++)
    g_ptr_array_add (function_names,
                     (gpointer)spirit_pci_device_get_address (g_ptr_array_index (functions, i)));
  g_ptr_array_add (function_names, NULL);
  for (guint i = 0; members && i < members->len; i++)
    g_ptr_array_add (member_names,
                     (gpointer)spirit_pci_device_get_address (g_ptr_array_index (members, i)));
  g_ptr_array_add (member_names, NULL);

  spirit_dbus_gpu_set_address (iface, self->address);
  spirit_dbus_gpu_set_name (iface, name);
  spirit_dbus_gpu_set_vendor (iface, vendor ? vendor : "");
  spirit_dbus_gpu_set_model (iface, model ? model : "");
  spirit_dbus_gpu_set_driver (iface, driver ? driver : "");
  /* On vfio-pci the host driver is unknown to discovery: the last one seen stays. */
  if (host_driver != NULL && g_strcmp0 (host_driver, "vfio-pci") != 0)
    spirit_dbus_gpu_set_host_driver (iface, host_driver);
  spirit_dbus_gpu_set_boot_vga (iface, spirit_gpu_get_boot_vga (gpu));
  spirit_dbus_gpu_set_functions (iface, (const char *const *)function_names->pdata);
  spirit_dbus_gpu_set_iommu_group (iface, spirit_gpu_get_iommu_group (gpu));
  spirit_dbus_gpu_set_group_members (iface, (const char *const *)member_names->pdata);
  spirit_dbus_gpu_set_viable (iface, spirit_gpu_check_viable (gpu, &viable_error));
  spirit_dbus_gpu_set_viability_problem (iface, viable_error ? viable_error->message : "");
}

void
spirit_gpu_object_refresh (SpiritGpuObject *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) gpu = spirit_gpu_discover (self->address, &error);

  if (gpu == NULL)
    {
      g_debug ("Could not read %s again: %s", self->address, error->message);
      return;
    }
  spirit_gpu_object_publish (self, gpu);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
}

static void
spirit_gpu_object_set_state (SpiritGpuObject *self, const char *state)
{
  spirit_dbus_gpu_set_state (self->iface, state);
  if (g_str_equal (state, "host") || g_str_equal (state, "vm") || g_str_equal (state, "failed"))
    spirit_dbus_gpu_set_step (self->iface, "");
  if (g_str_equal (state, "host"))
    {
      spirit_dbus_gpu_set_owner (self->iface, "host");
      spirit_dbus_gpu_set_owner_name (self->iface, "host");
    }
  spirit_gpu_object_refresh (self);
}

static void
spirit_gpu_object_set_owner (SpiritGpuObject *self, SpiritVm *vm, const char *fallback_name)
{
  spirit_dbus_gpu_set_owner (self->iface, vm ? spirit_vm_get_object_path (vm) : "/");
  spirit_dbus_gpu_set_owner_name (self->iface, vm ? spirit_vm_get_name (vm) : fallback_name);
}

/* --- progress, from the run's thread ----------------------------------------------------- */

typedef struct
{
  SpiritGpuObject *self;
  char *step;
  char *description;
  guint index, total;
} SpiritGpuProgress;

static gboolean
emit_progress (gpointer user_data)
{
  SpiritGpuProgress *progress = user_data;
  SpiritGpuObject *self = progress->self;

  spirit_dbus_gpu_set_step (self->iface, progress->step);
  spirit_gpu_object_refresh (self);
  spirit_dbus_gpu_emit_progress (self->iface, progress->step, progress->description,
                                 progress->index, progress->total);
  return G_SOURCE_REMOVE;
}

static void
progress_free (gpointer user_data)
{
  SpiritGpuProgress *progress = user_data;

  g_object_unref (progress->self);
  g_free (progress->step);
  g_free (progress->description);
  g_free (progress);
}

static void
on_run_progress (SpiritGpuRun *run,
                 const char *step,
                 const char *description,
                 guint index,
                 guint total,
                 gpointer user_data)
{
  SpiritGpuObject *self = user_data;
  SpiritGpuProgress *progress = g_new0 (SpiritGpuProgress, 1);

  progress->self = g_object_ref (self);
  progress->step = g_strdup (step);
  progress->description = g_strdup (description);
  progress->index = index;
  progress->total = total;
  g_main_context_invoke_full (self->main_context, G_PRIORITY_DEFAULT, emit_progress, progress,
                              progress_free);
}

/* --- the VM that holds the GPU ----------------------------------------------------------- */

static gboolean
vm_state_is_down (const char *state)
{
  return g_strcmp0 (state, "shutoff") == 0 || g_strcmp0 (state, "crashed") == 0
         || g_strcmp0 (state, "saved") == 0;
}

static void
on_vm_state (GObject *skeleton, GParamSpec *pspec, gpointer user_data)
{
  SpiritGpuObject *self = user_data;

  if (self->busy || self->vm == NULL
      || !g_str_equal (spirit_dbus_gpu_get_state (self->iface), "vm"))
    return;
  if (!g_str_equal (spirit_vm_get_state (self->vm), "shutoff"))
    spirit_gpu_object_send_deferred_reply (self);
  if (vm_state_is_down (spirit_vm_get_state (self->vm)))
    {
      g_message ("%s is %s: taking the GPU %s back", spirit_vm_get_name (self->vm),
                 spirit_vm_get_state (self->vm), self->address);
      spirit_gpu_object_start_reclaim (self, NULL, FALSE);
    }
}

static void
spirit_gpu_object_watch_vm (SpiritGpuObject *self, SpiritVm *vm)
{
  if (self->vm == vm)
    return;
  spirit_gpu_object_unwatch_vm (self);
  if (vm == NULL)
    return;
  self->vm = g_object_ref (vm);
  self->vm_state_id = g_signal_connect (spirit_vm_get_skeleton (vm), "notify::state",
                                        G_CALLBACK (on_vm_state), self);
}

/* --- running a swap ------------------------------------------------------------------------ */

typedef enum
{
  RUN_PASSTHROUGH,
  RUN_RECLAIM,
} SpiritGpuRunKind;

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SpiritGpuObject *self = source;
  GError *error = NULL;
  gboolean ok = GPOINTER_TO_INT (task_data) == RUN_PASSTHROUGH
                  ? spirit_gpu_run_passthrough (self->run, &error)
                  : spirit_gpu_run_reclaim (self->run, &error);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritGpuObject *self = SPIRIT_GPU_OBJECT (source);
  GDBusMethodInvocation *invocation = user_data; /* owned, or NULL */
  g_autoptr (GError) error = NULL;
  g_autofree char *direction = NULL;

  self->busy = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_message ("GPU %s: %s", self->address, error->message);

  direction = g_strdup (spirit_gpu_run_get_direction (self->run));
  if (g_str_equal (direction, "vm"))
    spirit_gpu_object_set_state (self, "vm");
  else if (g_str_equal (direction, "host"))
    {
      g_clear_pointer (&self->run, spirit_gpu_run_free);
      spirit_gpu_object_unwatch_vm (self);
      spirit_gpu_object_set_state (self, "host");
    }
  else
    spirit_gpu_object_set_state (self, "failed");
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));

  if (invocation == NULL)
    return;
  if (error != NULL)
    g_dbus_method_invocation_take_error (invocation, spirit_gpu_error_to_dbus (error));
  else if (g_str_equal (direction, "vm") && self->vm != NULL
           && !g_str_equal (spirit_vm_get_state (self->vm), "running"))
    {
      self->reply_when_running = invocation;
      self->reply_timeout_id = g_timeout_add_seconds (5, on_reply_timeout, self);
      spirit_vm_refresh (self->vm);
    }
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
spirit_gpu_object_start_run (SpiritGpuObject *self,
                             SpiritGpuRunKind kind,
                             GDBusMethodInvocation *invocation)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, on_run_done, invocation);

  self->busy = TRUE;
  spirit_gpu_object_set_state (self, kind == RUN_PASSTHROUGH ? "to-vm" : "to-host");
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
  spirit_gpu_run_set_progress (self->run, on_run_progress, self);
  g_task_set_source_tag (task, spirit_gpu_object_start_run);
  g_task_set_task_data (task, GINT_TO_POINTER (kind), NULL);
  g_task_run_in_thread (task, run_thread);
}

static void
spirit_gpu_object_start_reclaim (SpiritGpuObject *self,
                                 GDBusMethodInvocation *invocation,
                                 gboolean force)
{
  if (self->vm != NULL)
    spirit_gpu_run_set_vm (self->run, spirit_vm_get_domain (self->vm),
                           spirit_vm_get_name (self->vm), NULL);
  spirit_gpu_run_set_force (self->run, force);
  spirit_gpu_object_start_run (self, RUN_RECLAIM, invocation);
}

/* --- methods --------------------------------------------------------------------------------- */

typedef struct
{
  SpiritGpuObject *self;
  GDBusMethodInvocation *invocation;
  char *vm_name;
  gboolean force;
} SpiritGpuCall;

static void
spirit_gpu_call_free (SpiritGpuCall *call)
{
  g_clear_object (&call->self);
  g_clear_object (&call->invocation);
  g_free (call->vm_name);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritGpuCall, spirit_gpu_call_free)

static gboolean
spirit_gpu_object_check_idle (SpiritGpuObject *self, GError **error)
{
  if (self->busy || self->pending)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_BUSY,
                   "The GPU %s is being %s (step %s); try again when it is done", self->address,
                   g_str_equal (spirit_dbus_gpu_get_state (self->iface), "to-vm") ? "passed through"
                                                                                  : "taken back",
                   self->pending ? "waiting for libvirt" : spirit_dbus_gpu_get_step (self->iface));
      return FALSE;
    }
  return TRUE;
}

static gboolean
spirit_gpu_object_prepare_passthrough (SpiritGpuObject *self, SpiritGpuCall *call, GError **error)
{
  g_autoptr (SpiritGpu) gpu = NULL;
  g_autoptr (SpiritVfioSwap) swap = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *key = NULL;
  SpiritVm *vm;
  const char *state = spirit_dbus_gpu_get_state (self->iface);

  if (!spirit_gpu_object_check_idle (self, error))
    return FALSE;
  if (!g_str_equal (state, "host"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
                   g_str_equal (state, "vm")
                     ? "The GPU %s is already passed through to %s"
                     : "The GPU %s is not on the host (a way back failed); reclaim it first%s",
                   self->address,
                   g_str_equal (state, "vm") ? spirit_dbus_gpu_get_owner_name (self->iface) : "");
      return FALSE;
    }
  vm = self->context->lookup (self->context->lookup_data, call->vm_name, error);
  if (vm == NULL)
    return FALSE;
  if (g_str_equal (spirit_vm_get_state (vm), "unavailable") || spirit_vm_get_domain (vm) == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                   "The libvirt connection of %s is down", spirit_vm_get_name (vm));
      return FALSE;
    }
  if (!g_str_equal (spirit_vm_get_state (vm), "shutoff"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
                   "%s is %s; the GPU can only be given to a VM that is shut off",
                   spirit_vm_get_name (vm), spirit_vm_get_state (vm));
      return FALSE;
    }
  gpu = spirit_gpu_discover (self->address, &local_error);
  if (gpu == NULL || !spirit_gpu_check_viable (gpu, &local_error))
    {
      g_propagate_error (error, spirit_gpu_error_to_dbus (local_error));
      return FALSE;
    }
  swap = spirit_vfio_swap_new (gpu);
  g_clear_pointer (&self->run, spirit_gpu_run_free);
  self->run = spirit_gpu_run_new (self->context->config, swap);
  key = g_strdup_printf ("%s/%s", spirit_vm_get_host (vm), spirit_vm_get_uuid (vm));
  spirit_gpu_run_set_vm (self->run, spirit_vm_get_domain (vm), spirit_vm_get_name (vm), key);
  spirit_gpu_run_set_force (self->run, call->force);
  spirit_gpu_object_watch_vm (self, vm);
  spirit_gpu_object_set_owner (self, vm, NULL);
  return TRUE;
}

static void
on_passthrough_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SpiritGpuCall) call = user_data;
  g_autoptr (GError) error = NULL;

  if (!spirit_auth_check_finish (SPIRIT_AUTH (source), result, &error)
      || !spirit_gpu_object_prepare_passthrough (call->self, call, &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return;
    }
  spirit_gpu_object_start_run (call->self, RUN_PASSTHROUGH, g_steal_pointer (&call->invocation));
}

static gboolean
on_handle_passthrough (SpiritDBusGpu *iface,
                       GDBusMethodInvocation *invocation,
                       const char *vm_name,
                       gboolean force,
                       gpointer user_data)
{
  SpiritGpuCall *call = g_new0 (SpiritGpuCall, 1);

  call->self = g_object_ref (user_data);
  call->invocation = invocation; /* GDBus's reference: given back with the reply */
  call->vm_name = g_strdup (vm_name);
  call->force = force;
  spirit_auth_check_async (call->self->context->auth, invocation, NULL, on_passthrough_authorized,
                           call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_reclaim_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SpiritGpuCall) call = user_data;
  g_autoptr (GError) error = NULL;
  SpiritGpuObject *self = call->self;

  if (!spirit_auth_check_finish (SPIRIT_AUTH (source), result, &error)
      || !spirit_gpu_object_check_idle (self, &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return;
    }
  if (self->run == NULL)
    {
      g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation), SPIRIT_ERROR,
                                             SPIRIT_ERROR_INVALID_STATE,
                                             "The GPU %s is on the host already", self->address);
      return;
    }
  if (self->vm != NULL && !call->force && !vm_state_is_down (spirit_vm_get_state (self->vm)))
    {
      g_dbus_method_invocation_return_error (
        g_steal_pointer (&call->invocation), SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
        "%s is %s and holds the GPU; shut it down first, or force the reclaim",
        spirit_vm_get_name (self->vm), spirit_vm_get_state (self->vm));
      return;
    }
  spirit_gpu_object_start_reclaim (self, g_steal_pointer (&call->invocation), call->force);
}

static gboolean
on_handle_reclaim (SpiritDBusGpu *iface,
                   GDBusMethodInvocation *invocation,
                   gboolean force,
                   gpointer user_data)
{
  SpiritGpuCall *call = g_new0 (SpiritGpuCall, 1);

  call->self = g_object_ref (user_data);
  call->invocation = invocation; /* GDBus's reference: given back with the reply */
  call->force = force;
  spirit_auth_check_async (call->self->context->auth, invocation, NULL, on_reclaim_authorized,
                           call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- recovery ----------------------------------------------------------------------------- */

void
spirit_gpu_object_recover_pending (SpiritGpuObject *self)
{
  g_autoptr (GError) error = NULL;
  const char *key;
  SpiritVm *vm;

  if (!self->pending || self->run == NULL)
    return;
  self->pending = FALSE;
  key = spirit_gpu_run_get_vm_key (self->run);
  vm = key ? self->context->lookup (self->context->lookup_data, key, &error) : NULL;
  if (vm != NULL && spirit_vm_get_domain (vm) != NULL)
    {
      spirit_gpu_run_set_vm (self->run, spirit_vm_get_domain (vm), spirit_vm_get_name (vm), NULL);
      spirit_gpu_object_watch_vm (self, vm);
      spirit_gpu_object_set_owner (self, vm, NULL);
      if (spirit_gpu_run_get_phase (self->run) == SPIRIT_VFIO_PHASE_VFIO
          && !vm_state_is_down (spirit_vm_get_state (vm)))
        {
          g_message ("%s still holds the GPU %s: keeping it there", spirit_vm_get_name (vm),
                     self->address);
          spirit_gpu_run_adopt (self->run);
          spirit_gpu_object_set_state (self, "vm");
          g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
          return;
        }
    }
  else if (key != NULL)
    g_message ("The VM of the GPU journal is gone (%s)", error ? error->message : key);
  g_message ("Taking the GPU %s back to the host after an interrupted swap", self->address);
  /* Not forced: a process (a QEMU libvirt no longer knows) that still holds /dev/vfio/GROUP is
   * named in the error, not killed; Reclaim with force does that. */
  spirit_gpu_object_start_reclaim (self, NULL, FALSE);
}

void
spirit_gpu_object_recover (SpiritGpuObject *self, SpiritGpuRun *run, gboolean libvirt_ready)
{
  g_clear_pointer (&self->run, spirit_gpu_run_free);
  self->run = run;
  self->pending = TRUE;
  spirit_gpu_object_set_owner (
    self, NULL, spirit_gpu_run_get_vm_name (run) ? spirit_gpu_run_get_vm_name (run) : "host");
  spirit_gpu_object_set_state (self, "to-host");
  if (libvirt_ready || !spirit_gpu_run_needs_libvirt (run))
    spirit_gpu_object_recover_pending (self);
  else
    g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
}

/* --- public ------------------------------------------------------------------------------- */

SpiritGpuObject *
spirit_gpu_object_new (const SpiritGpuContext *context, SpiritGpu *gpu)
{
  SpiritGpuObject *self = g_object_new (SPIRIT_TYPE_GPU_OBJECT, NULL);

  self->context = context;
  self->address = g_strdup (spirit_gpu_get_address (gpu));
  self->object_path = spirit_gpu_object_path_for (self->address);
  self->iface = spirit_dbus_gpu_skeleton_new ();
  spirit_dbus_gpu_set_host_driver (self->iface, "");
  spirit_dbus_gpu_set_state (self->iface, "host");
  spirit_dbus_gpu_set_step (self->iface, "");
  spirit_dbus_gpu_set_owner (self->iface, "host");
  spirit_dbus_gpu_set_owner_name (self->iface, "host");
  spirit_gpu_object_publish (self, gpu);
  g_signal_connect_object (self->iface, "handle-passthrough", G_CALLBACK (on_handle_passthrough),
                           self, 0);
  g_signal_connect_object (self->iface, "handle-reclaim", G_CALLBACK (on_handle_reclaim), self, 0);
  return self;
}

GDBusInterfaceSkeleton *
spirit_gpu_object_get_skeleton (SpiritGpuObject *self)
{
  return G_DBUS_INTERFACE_SKELETON (self->iface);
}

const char *
spirit_gpu_object_get_object_path (SpiritGpuObject *self)
{
  return self->object_path;
}

const char *
spirit_gpu_object_get_address (SpiritGpuObject *self)
{
  return self->address;
}

gboolean
spirit_gpu_object_is_busy (SpiritGpuObject *self)
{
  return self->busy;
}
