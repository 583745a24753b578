/* spirit-vm.c: one org.crom.Spirit.VM object and the life of a method call on it.
 *
 * Every method goes the same way: authorize (spirit-auth), check the arguments and the current
 * state (spirit-vm-ops), run the libvirt call on a worker thread, read the state back, publish it
 * (PropertiesChanged), and only then reply, so a caller that gets the reply also sees the new state.
 */
#define G_LOG_DOMAIN "spirit-vm"

#include "spirit-vm.h"
#include "spirit-agent-channel.h"
#include "spirit-agent-link.h"
#include "spirit-cpu-usage.h"
#include "spirit-dbus-generated.h"
#include "spirit-error.h"
#include "spirit-libvirt.h"
#include "spirit-vm-ops.h"
#include "spirit-worker.h"

typedef struct
{
  SpiritVm *vm;        /* weak: the VM outlives its waiters (they are failed when it goes) */
  SpiritVmCall *call;  /* owned */
  guint timeout_id;
} SpiritVmWaiter;

struct _SpiritVm
{
  GObject parent_instance;

  SpiritAuth *auth;
  SpiritWorker *worker; /* the host's; the host outlives its VMs */
  char *host;
  char *uuid;
  char *object_path;
  SpiritDBusVm *iface;
  SpiritVmInfo *info; /* the last state applied; what check() functions see */
  GVirDomain *domain; /* NULL while the connection is down */

  /* Every read of libvirt state takes a number when it starts (on whichever thread); a result
   * older than the one applied is dropped, so a slow read can never undo a newer one. */
  gint fetch_seq; /* atomic */
  gint applied_seq;
  gboolean refreshing;
  gboolean refresh_again;

  GList *waiters; /* SpiritVmWaiter*: Shutdown calls waiting for the VM to be off */

  SpiritCpuSample cpu_sample; /* the last reading of the CPU time, for CpuUsage */
  gboolean sampling_cpu;

  /* spirit-agent (local hosts only): the link, and the domain id whose channel it uses */
  gboolean agent_local;
  SpiritAgentLink *link;
  int channel_id;
  gboolean channel_resolving;
  gboolean has_qemu_ga;
};

enum
{
  SIGNAL_VANISHED,
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SpiritVm, spirit_vm, G_TYPE_OBJECT)

static void spirit_vm_fail_waiters (SpiritVm *self, GQuark domain, int code, const char *message);
static void spirit_vm_update_agent (SpiritVm *self);
static void spirit_vm_reset_cpu_usage (SpiritVm *self);

static SpiritVmInfo *
spirit_vm_info_copy (const SpiritVmInfo *src)
{
  SpiritVmInfo *info = g_new0 (SpiritVmInfo, 1);

  *info = *src;
  info->name = g_strdup (src->name);
  info->uuid = g_strdup (src->uuid);
  info->title = g_strdup (src->title);
  info->snapshots = g_strdupv (src->snapshots);
  info->current_snapshot = g_strdup (src->current_snapshot);
  info->memory_stats = src->memory_stats ? g_variant_ref (src->memory_stats) : NULL;
  return info;
}

char *
spirit_vm_object_path_for (const char *host, const char *uuid)
{
  g_autofree char *host_elem = g_dbus_escape_object_path (host);
  g_autofree char *uuid_elem = g_strdelimit (g_strdup (uuid), "-", '_');

  return g_strdup_printf ("/org/crom/Spirit/vm/%s/%s", host_elem, uuid_elem);
}

static void
spirit_vm_dispose (GObject *object)
{
  SpiritVm *self = SPIRIT_VM (object);

  spirit_vm_fail_waiters (self, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_VM, "The VM went away");
  if (self->link != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->link, self);
      spirit_agent_link_set_socket (self->link, NULL);
      g_clear_object (&self->link);
    }
  g_clear_object (&self->domain);
  g_clear_object (&self->iface);
  g_clear_object (&self->auth);
  G_OBJECT_CLASS (spirit_vm_parent_class)->dispose (object);
}

static void
spirit_vm_finalize (GObject *object)
{
  SpiritVm *self = SPIRIT_VM (object);

  g_free (self->host);
  g_free (self->uuid);
  g_free (self->object_path);
  spirit_vm_info_free (self->info);
  G_OBJECT_CLASS (spirit_vm_parent_class)->finalize (object);
}

static void
spirit_vm_class_init (SpiritVmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spirit_vm_dispose;
  object_class->finalize = spirit_vm_finalize;

  /* The domain no longer exists in libvirt (a transient VM stopped, or an undefine raced). */
  signals[SIGNAL_VANISHED] =
    g_signal_new ("vanished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* The State property took another value (the host runs its CPU readings only while a VM runs). */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
}

static void
spirit_vm_init (SpiritVm *self)
{
}

/* --- waiting for the VM to be off (Shutdown) --------------------------------------------- */

static void
spirit_vm_waiter_free (SpiritVmWaiter *waiter)
{
  g_clear_handle_id (&waiter->timeout_id, g_source_remove);
  spirit_vm_call_free (waiter->call);
  g_free (waiter);
}

static void
spirit_vm_fail_waiters (SpiritVm *self, GQuark domain, int code, const char *message)
{
  GList *waiters = g_steal_pointer (&self->waiters);

  for (GList *l = waiters; l; l = l->next)
    {
      SpiritVmWaiter *waiter = l->data;
      g_dbus_method_invocation_return_error_literal (g_steal_pointer (&waiter->call->invocation),
                                                     domain, code, message);
      spirit_vm_waiter_free (waiter);
    }
  g_list_free (waiters);
}

static gboolean
state_is_off (const char *state)
{
  return g_str_equal (state, "shutoff") || g_str_equal (state, "saved");
}

static void
spirit_vm_complete_waiters_if_off (SpiritVm *self)
{
  GList *waiters;

  if (self->info == NULL || !state_is_off (self->info->state))
    return;
  waiters = g_steal_pointer (&self->waiters);
  for (GList *l = waiters; l; l = l->next)
    {
      SpiritVmWaiter *waiter = l->data;
      g_dbus_method_invocation_return_value (g_steal_pointer (&waiter->call->invocation), NULL);
      spirit_vm_waiter_free (waiter);
    }
  g_list_free (waiters);
}

static gboolean
on_waiter_timeout (gpointer user_data)
{
  SpiritVmWaiter *waiter = user_data;
  SpiritVm *self = waiter->vm;

  waiter->timeout_id = 0;
  self->waiters = g_list_remove (self->waiters, waiter);
  g_dbus_method_invocation_return_error (g_steal_pointer (&waiter->call->invocation),
                                         SPIRIT_ERROR,
                                         SPIRIT_ERROR_TIMEOUT,
                                         "'%s' did not shut down within %u s and is still %s; "
                                         "it was left running (use ForceStop to turn it off)",
                                         waiter->call->vm_name,
                                         waiter->call->timeout_arg,
                                         spirit_vm_get_state (self));
  spirit_vm_waiter_free (waiter);
  return G_SOURCE_REMOVE;
}

static void
spirit_vm_add_waiter (SpiritVm *self, SpiritVmCall *call)
{
  SpiritVmWaiter *waiter = g_new0 (SpiritVmWaiter, 1);

  waiter->vm = self;
  waiter->call = call;
  waiter->timeout_id = g_timeout_add_seconds (call->timeout_arg, on_waiter_timeout, waiter);
  self->waiters = g_list_append (self->waiters, waiter);
}

/* --- state ------------------------------------------------------------------------------- */

static void
spirit_vm_publish (SpiritVm *self, const SpiritVmInfo *info, const char *state)
{
  SpiritDBusVm *iface = self->iface;
  gboolean state_changed = g_strcmp0 (spirit_dbus_vm_get_state (iface), state) != 0;

  spirit_dbus_vm_set_name (iface, info->name);
  spirit_dbus_vm_set_title (iface, info->title ? info->title : "");
  spirit_dbus_vm_set_state (iface, state);
  spirit_dbus_vm_set_state_reason (iface, g_str_equal (state, "unavailable") ? "unknown" : info->reason);
  spirit_dbus_vm_set_id (iface, info->id);
  spirit_dbus_vm_set_vcpus (iface, info->vcpus);
  spirit_dbus_vm_set_memory_ki_b (iface, info->memory_kib);
  spirit_dbus_vm_set_max_memory_ki_b (iface, info->max_memory_kib);
  spirit_dbus_vm_set_persistent (iface, info->persistent);
  spirit_dbus_vm_set_autostart (iface, info->autostart);
  spirit_dbus_vm_set_has_saved_state (iface, info->has_saved_state);
  spirit_dbus_vm_set_snapshots (iface, (const char *const *) info->snapshots);
  spirit_dbus_vm_set_current_snapshot (iface, info->current_snapshot ? info->current_snapshot : "");
  spirit_dbus_vm_set_memory_stats (iface, info->memory_stats ? info->memory_stats
                                                             : g_variant_new ("a{st}", NULL));
  if (state_changed)
    g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0);
}

void
spirit_vm_apply_info (SpiritVm *self, const SpiritVmInfo *info)
{
  g_return_if_fail (SPIRIT_IS_VM (self));

  spirit_vm_info_free (self->info);
  self->info = spirit_vm_info_copy (info);
  spirit_vm_publish (self, self->info, self->domain ? self->info->state : "unavailable");
  /* Emit PropertiesChanged now rather than from an idle: clients see the change sooner, and
   * always before a method reply or a Manager property change that follows it. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
  spirit_vm_complete_waiters_if_off (self);
  spirit_vm_update_agent (self);
  if (!g_str_equal (self->info->state, "running"))
    spirit_vm_reset_cpu_usage (self);
}

void
spirit_vm_set_domain (SpiritVm *self, GVirDomain *domain)
{
  g_return_if_fail (SPIRIT_IS_VM (self));

  if (!g_set_object (&self->domain, domain))
    return;
  if (domain == NULL)
    {
      spirit_vm_fail_waiters (self, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                              "The libvirt connection went down while waiting for the VM");
      if (self->info != NULL)
        spirit_vm_publish (self, self->info, "unavailable");
      spirit_vm_reset_cpu_usage (self);
      g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
    }
}

static gint
spirit_vm_next_seq (SpiritVm *self)
{
  return g_atomic_int_add (&self->fetch_seq, 1) + 1;
}

gint
spirit_vm_reserve_seq (SpiritVm *self)
{
  return spirit_vm_next_seq (self);
}

/* Applies a read of libvirt state unless a newer one was applied already. */
void
spirit_vm_apply_fetched (SpiritVm *self, const SpiritVmInfo *info, gint seq)
{
  if (seq <= self->applied_seq)
    return;
  self->applied_seq = seq;
  spirit_vm_apply_info (self, info);
}

typedef struct
{
  SpiritVmInfo *info;
  gint seq;
} SpiritVmFetched;

static void
spirit_vm_fetched_free (SpiritVmFetched *fetched)
{
  spirit_vm_info_free (fetched->info);
  g_free (fetched);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritVmFetched, spirit_vm_fetched_free)

static void
refresh_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GVirDomain *domain = task_data;
  g_autoptr (virDomain) handle = spirit_domain_get_handle (domain);
  g_autoptr (SpiritVmFetched) fetched = g_new0 (SpiritVmFetched, 1);
  GError *error = NULL;

  fetched->seq = spirit_vm_next_seq (SPIRIT_VM (source));
  fetched->info = spirit_vm_info_fetch (handle, &error);
  if (fetched->info == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&fetched), (GDestroyNotify) spirit_vm_fetched_free);
}

static void
on_refresh_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritVm *self = SPIRIT_VM (source);
  g_autoptr (SpiritVmFetched) fetched = NULL;
  g_autoptr (GError) error = NULL;

  self->refreshing = FALSE;
  fetched = g_task_propagate_pointer (G_TASK (result), &error);
  if (fetched != NULL)
    spirit_vm_apply_fetched (self, fetched->info, fetched->seq);
  else if (g_error_matches (error, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_VM))
    {
      g_debug ("%s is gone from libvirt", self->uuid);
      g_signal_emit (self, signals[SIGNAL_VANISHED], 0);
      return;
    }
  else if (error != NULL)
    g_debug ("Could not refresh %s: %s", self->uuid, error->message);

  if (self->refresh_again)
    {
      self->refresh_again = FALSE;
      spirit_vm_refresh (self);
    }
}

void
spirit_vm_refresh (SpiritVm *self)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SPIRIT_IS_VM (self));

  if (self->domain == NULL)
    return;
  if (self->refreshing)
    {
      self->refresh_again = TRUE;
      return;
    }
  self->refreshing = TRUE;
  task = g_task_new (self, NULL, on_refresh_done, NULL);
  g_task_set_source_tag (task, spirit_vm_refresh);
  g_task_set_task_data (task, g_object_ref (self->domain), g_object_unref);
  spirit_worker_run (self->worker, task, refresh_thread);
}

/* --- CPU usage ------------------------------------------------------------------------------ */

/* libvirt is reachable and the VM runs: its CPU time means something. */
static gboolean
spirit_vm_cpu_readable (SpiritVm *self)
{
  return self->domain != NULL && self->info != NULL && g_str_equal (self->info->state, "running");
}

static void
spirit_vm_set_cpu_usage (SpiritVm *self, double percent)
{
  /* whole percents: a busy guest would otherwise change it at every reading */
  double rounded = (double)(gint64)(percent + 0.5);

  if (spirit_dbus_vm_get_cpu_usage (self->iface) == rounded)
    return;
  spirit_dbus_vm_set_cpu_usage (self->iface, rounded);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
}

/* Not running (or out of reach): no usage, and the next reading starts over. */
static void
spirit_vm_reset_cpu_usage (SpiritVm *self)
{
  self->cpu_sample.valid = FALSE;
  spirit_vm_set_cpu_usage (self, 0.0);
}

static void
cpu_sample_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (task_data);
  SpiritCpuSample *sample = g_new0 (SpiritCpuSample, 1);

  if (handle == NULL || !spirit_cpu_sample_read (handle, sample))
    {
      g_free (sample);
      g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "no CPU time");
      return;
    }
  g_task_return_pointer (task, sample, g_free);
}

static void
on_cpu_sampled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritVm *self = SPIRIT_VM (source);
  g_autofree SpiritCpuSample *sample = g_task_propagate_pointer (G_TASK (result), NULL);
  double percent;

  self->sampling_cpu = FALSE;
  /* the VM stopped (or libvirt went away) while this was read: that reset wins */
  if (sample == NULL || !spirit_vm_cpu_readable (self))
    return;
  percent = spirit_cpu_usage_between (&self->cpu_sample, sample);
  self->cpu_sample = *sample;
  if (percent >= 0)
    spirit_vm_set_cpu_usage (self, percent);
}

void
spirit_vm_sample_cpu (SpiritVm *self)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (SPIRIT_IS_VM (self));

  if (!spirit_vm_cpu_readable (self) || self->sampling_cpu)
    return;
  self->sampling_cpu = TRUE;
  task = g_task_new (self, NULL, on_cpu_sampled, NULL);
  g_task_set_source_tag (task, spirit_vm_sample_cpu);
  g_task_set_task_data (task, g_object_ref (self->domain), g_object_unref);
  spirit_worker_run (self->worker, task, cpu_sample_thread);
}

/* --- the guest agent ------------------------------------------------------------------------ */

static void
spirit_vm_publish_agent (SpiritVm *self)
{
  const SpiritMessage *hello = self->link ? spirit_agent_link_get_hello (self->link) : NULL;

  spirit_dbus_vm_set_agent_connected (self->iface, hello != NULL);
  spirit_dbus_vm_set_agent_version (self->iface, hello && hello->software ? hello->software : "");
  spirit_dbus_vm_set_guest_os (self->iface, hello && hello->os ? hello->os : "");
  spirit_dbus_vm_set_guest_kernel (self->iface, hello && hello->kernel ? hello->kernel : "");
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
}

static void
on_agent_ready_changed (SpiritAgentLink *link, GParamSpec *pspec, gpointer user_data)
{
  spirit_vm_publish_agent (user_data);
}

typedef struct
{
  SpiritAgentChannels channels;
  int id;
} SpiritVmChannels;

static void
spirit_vm_channels_free (SpiritVmChannels *found)
{
  spirit_agent_channels_clear (&found->channels);
  g_free (found);
}

static void
channels_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (task_data);
  SpiritVmChannels *found = g_new0 (SpiritVmChannels, 1);
  GError *error = NULL;

  found->id = (int) virDomainGetID (handle);
  if (!spirit_agent_channels_read_live (handle, &found->channels, &error))
    {
      spirit_vm_channels_free (found);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, found, (GDestroyNotify) spirit_vm_channels_free);
}

static gboolean
state_has_agent (const char *state)
{
  return g_str_equal (state, "running") || g_str_equal (state, "paused") ||
         g_str_equal (state, "blocked") || g_str_equal (state, "shutting-down");
}

static void
on_channels_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritVm *self = SPIRIT_VM (source);
  g_autoptr (GError) error = NULL;
  SpiritVmChannels *found = g_task_propagate_pointer (G_TASK (result), &error);

  self->channel_resolving = FALSE;
  if (found == NULL)
    g_debug ("No agent channels for %s: %s", self->uuid, error->message);
  else if (self->info != NULL && found->id == self->info->id && state_has_agent (self->info->state))
    {
      self->channel_id = found->id;
      self->has_qemu_ga = found->channels.has_qemu_ga;
      if (self->link != NULL)
        spirit_agent_link_set_socket (self->link, found->channels.spirit_socket);
    }
  if (found != NULL)
    spirit_vm_channels_free (found);
  /* The VM changed meanwhile (restarted): look again. */
  spirit_vm_update_agent (self);
}

static void
spirit_vm_update_agent (SpiritVm *self)
{
  g_autoptr (GTask) task = NULL;
  const char *test_dir = spirit_agent_link_get_test_socket_dir ();

  if (self->info == NULL || self->channel_resolving)
    return;
  if (!state_has_agent (self->info->state))
    {
      self->channel_id = -1;
      self->has_qemu_ga = FALSE;
      if (self->link != NULL)
        spirit_agent_link_set_socket (self->link, NULL);
      return;
    }
  if (self->link != NULL && test_dir != NULL)
    {
      g_autofree char *file = g_strdup_printf ("%s.sock", self->info->name);
      g_autofree char *path = g_build_filename (test_dir, file, NULL);
      spirit_agent_link_set_socket (self->link, path);
      return;
    }
  if (self->info->id == self->channel_id || self->domain == NULL)
    return;
  self->channel_resolving = TRUE;
  task = g_task_new (self, NULL, on_channels_done, NULL);
  g_task_set_source_tag (task, spirit_vm_update_agent);
  g_task_set_task_data (task, g_object_ref (self->domain), g_object_unref);
  spirit_worker_run (self->worker, task, channels_thread);
}

void
spirit_vm_enable_agent (SpiritVm *self, gboolean local)
{
  self->agent_local = local;
  if (self->link != NULL || (!local && spirit_agent_link_get_test_socket_dir () == NULL))
    return;
  self->link = spirit_agent_link_new (spirit_vm_get_name (self));
  g_signal_connect (self->link, "notify::ready", G_CALLBACK (on_agent_ready_changed), self);
  spirit_vm_update_agent (self);
}

SpiritAgentLink *
spirit_vm_get_agent_link (SpiritVm *self)
{
  return self->link;
}

gboolean
spirit_vm_has_qemu_ga (SpiritVm *self)
{
  return self->has_qemu_ga;
}

GVirDomain *
spirit_vm_get_domain (SpiritVm *self)
{
  return self->domain;
}

SpiritWorker *
spirit_vm_get_worker (SpiritVm *self)
{
  return self->worker;
}

/* --- method calls ------------------------------------------------------------------------ */

static void
call_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SpiritVmCall *call = task_data;
  g_autoptr (virDomain) handle = NULL;
  g_autoptr (GError) refresh_error = NULL;
  GError *error = NULL;

  if (!call->op->run (call, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* Read back the state the operation left, so the reply carries it. A domain that is gone now
   * (a transient VM that was stopped) is not a failure of the operation. */
  handle = spirit_domain_get_handle (call->domain);
  call->seq = spirit_vm_next_seq (SPIRIT_VM (source));
  call->info = spirit_vm_info_fetch (handle, &refresh_error);
  g_task_return_boolean (task, TRUE);
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritVm *self = SPIRIT_VM (source);
  g_autoptr (SpiritVmCall) call = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      spirit_vm_refresh (self);
      return;
    }

  if (call->info != NULL)
    spirit_vm_apply_fetched (self, call->info, call->seq);
  else
    spirit_vm_refresh (self);

  if (call->op->wait_until_off && !state_is_off (spirit_vm_get_state (self)))
    {
      spirit_vm_add_waiter (self, g_steal_pointer (&call));
      return;
    }
  if (call->result != NULL)
    g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation),
                                           g_variant_new ("(s)", call->result));
  else
    g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), NULL);
}

static void
on_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SpiritVmCall) call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  SpiritVm *self;

  if (!spirit_auth_check_finish (SPIRIT_AUTH (source), result, &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return;
    }

  self = g_object_get_data (G_OBJECT (call->invocation), "spirit-vm");
  if (!spirit_vm_op_check_state (call->op, call->vm_name, spirit_vm_get_state (self), &error) ||
      (call->op->check && !call->op->check (call, self->info, &error)))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return;
    }

  call->domain = g_object_ref (self->domain);
  task = g_task_new (self, NULL, on_call_done, g_steal_pointer (&call));
  g_task_set_source_tag (task, on_authorized);
  g_task_set_task_data (task, user_data, NULL);
  spirit_worker_run (self->worker, task, call_thread);
}

static gboolean
spirit_vm_begin_call (SpiritVm *self,
                      GDBusMethodInvocation *invocation,
                      const char *name_arg,
                      guint timeout_arg,
                      gboolean bool_arg,
                      guint64 size_arg)
{
  SpiritVmCall *call = g_new0 (SpiritVmCall, 1);

  call->op = spirit_vm_op_lookup (g_dbus_method_invocation_get_method_name (invocation));
  g_assert (call->op != NULL);
  call->invocation = invocation; /* GDBus's reference: given back with the reply */
  call->vm_name = g_strdup (spirit_vm_get_name (self));
  call->name_arg = g_strdup (name_arg ? name_arg : "");
  call->timeout_arg = timeout_arg;
  call->bool_arg = bool_arg;
  call->size_arg = size_arg;
  call->add_agent_channel = self->agent_local && g_str_equal (call->op->method, "Start");
  /* The invocation keeps the VM alive until the reply; it is where on_authorized finds it. */
  g_object_set_data_full (G_OBJECT (invocation), "spirit-vm", g_object_ref (self), g_object_unref);

  spirit_auth_check_async (self->auth, invocation, NULL, on_authorized, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_handle_simple (SpiritDBusVm *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
  return spirit_vm_begin_call (user_data, invocation, NULL, 0, FALSE, 0);
}

static gboolean
on_handle_shutdown (SpiritDBusVm *iface,
                    GDBusMethodInvocation *invocation,
                    guint timeout,
                    gpointer user_data)
{
  return spirit_vm_begin_call (user_data, invocation, NULL, timeout, FALSE, 0);
}

static gboolean
on_handle_set_autostart (SpiritDBusVm *iface,
                         GDBusMethodInvocation *invocation,
                         gboolean autostart,
                         gpointer user_data)
{
  return spirit_vm_begin_call (user_data, invocation, NULL, 0, autostart, 0);
}

static gboolean
on_handle_set_memory (SpiritDBusVm *iface,
                      GDBusMethodInvocation *invocation,
                      guint64 memory_kib,
                      gpointer user_data)
{
  return spirit_vm_begin_call (user_data, invocation, NULL, 0, FALSE, memory_kib);
}

static gboolean
on_handle_retune (SpiritDBusVm *iface,
                  GDBusMethodInvocation *invocation,
                  GVariant *options,
                  gpointer user_data)
{
  /* spirit_vm_run_retune() reads the options from the invocation. */
  return spirit_vm_begin_call (user_data, invocation, NULL, 0, FALSE, 0);
}

static gboolean
on_handle_snapshot (SpiritDBusVm *iface,
                    GDBusMethodInvocation *invocation,
                    const char *name,
                    gpointer user_data)
{
  return spirit_vm_begin_call (user_data, invocation, name, 0, FALSE, 0);
}

SpiritVm *
spirit_vm_new (SpiritAuth *auth,
               SpiritWorker *worker,
               const char *host,
               GVirDomain *domain,
               const SpiritVmInfo *info)
{
  SpiritVm *self = g_object_new (SPIRIT_TYPE_VM, NULL);
  static const char *const simple_methods[] = {
    "handle-start", "handle-force-stop", "handle-reboot", "handle-pause",
    "handle-resume", "handle-save-state", "handle-discard-saved-state",
  };

  self->auth = g_object_ref (auth);
  self->worker = worker;
  self->host = g_strdup (host);
  self->uuid = g_strdup (info->uuid);
  self->object_path = spirit_vm_object_path_for (host, info->uuid);
  self->iface = spirit_dbus_vm_skeleton_new ();
  spirit_dbus_vm_set_uuid (self->iface, info->uuid);
  spirit_dbus_vm_set_host (self->iface, host);

  for (gsize i = 0; i < G_N_ELEMENTS (simple_methods); i++)
    g_signal_connect_object (self->iface, simple_methods[i], G_CALLBACK (on_handle_simple), self, 0);
  g_signal_connect_object (self->iface, "handle-shutdown", G_CALLBACK (on_handle_shutdown), self, 0);
  g_signal_connect_object (self->iface, "handle-set-autostart",
                           G_CALLBACK (on_handle_set_autostart), self, 0);
  g_signal_connect_object (self->iface, "handle-set-memory", G_CALLBACK (on_handle_set_memory),
                           self, 0);
  g_signal_connect_object (self->iface, "handle-retune", G_CALLBACK (on_handle_retune), self, 0);
  g_signal_connect_object (self->iface, "handle-create-snapshot", G_CALLBACK (on_handle_snapshot),
                           self, 0);
  g_signal_connect_object (self->iface, "handle-revert-snapshot", G_CALLBACK (on_handle_snapshot),
                           self, 0);
  g_signal_connect_object (self->iface, "handle-delete-snapshot", G_CALLBACK (on_handle_snapshot),
                           self, 0);

  self->channel_id = -1;
  spirit_vm_publish_agent (self);
  self->domain = domain ? g_object_ref (domain) : NULL;
  spirit_vm_apply_info (self, info);
  return self;
}

GDBusInterfaceSkeleton *
spirit_vm_get_skeleton (SpiritVm *self)
{
  return G_DBUS_INTERFACE_SKELETON (self->iface);
}

const char *
spirit_vm_get_object_path (SpiritVm *self)
{
  return self->object_path;
}

const char *
spirit_vm_get_uuid (SpiritVm *self)
{
  return self->uuid;
}

const char *
spirit_vm_get_name (SpiritVm *self)
{
  return spirit_dbus_vm_get_name (self->iface);
}

const char *
spirit_vm_get_state (SpiritVm *self)
{
  return spirit_dbus_vm_get_state (self->iface);
}

const char *
spirit_vm_get_host (SpiritVm *self)
{
  return self->host;
}
