/* nexus-vm.c: one virtual machine as the HUD sees it (see nexus-vm.h).
 *
 * The generated proxy already turns PropertiesChanged into GObject notifications; this object adds
 * what the widgets need on top: which operations the state allows, whether a call of ours is in
 * flight, the last minute of CPU usage while the VM runs (sampled every NEXUS_CPU_SAMPLE_S, the
 * only timer here, and only while it runs), and one "changed" signal so a row redraws from one
 * place.
 */
#define G_LOG_DOMAIN "nexus-vm"

#include "nexus-vm.h"

#include <glib/gi18n.h>
#include <string.h>

struct _NexusVm
{
  GObject parent_instance;

  SpiritDBusVm *proxy;
  guint busy;         /* calls of ours in flight */
  gboolean show_host; /* the list shows VMs of several hosts */

  NexusCpuHistory cpu_history;
  guint cpu_timer; /* while the VM runs */
};

G_DEFINE_FINAL_TYPE (NexusVm, nexus_vm, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_PROXY,
  PROP_NAME,
  PROP_STATE,
  PROP_BUSY,
  N_PROPS
};

enum
{
  CHANGED,
  CPU_SAMPLED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Mirrors the valid_states of spiritd's table in service/spirit-vm-ops.c; NULL means any state
 * but "unavailable", which no operation accepts. tests/hud/test-hud-ops.c compares the two. */
static const char *const states_inactive[] = { "shutoff", "saved", "crashed", NULL };
static const char *const states_running[] = { "running", "blocked", NULL };
static const char *const states_shutdown[] = { "running", "blocked", "shutting-down", NULL };
static const char *const states_active[]
  = { "running", "blocked", "paused", "shutting-down", "crashed", "suspended", "no-state", NULL };
static const char *const states_paused[] = { "paused", NULL };
static const char *const states_saveable[] = { "running", "blocked", "paused", NULL };

typedef struct
{
  const char *action; /* "vm.<action>" on a row, "win.<action>" for the selected VM */
  const char *method;
  const char *const *states;
  gboolean while_busy; /* may run while another call of ours waits, e.g. a long Shutdown */
} NexusVmOpInfo;

static const NexusVmOpInfo ops[NEXUS_VM_N_OPS] = {
  [NEXUS_VM_OP_START] = { "start", "Start", states_inactive, FALSE },
  [NEXUS_VM_OP_SHUTDOWN] = { "shutdown", "Shutdown", states_shutdown, FALSE },
  [NEXUS_VM_OP_FORCE_STOP] = { "force-stop", "ForceStop", states_active, TRUE },
  [NEXUS_VM_OP_REBOOT] = { "reboot", "Reboot", states_running, FALSE },
  [NEXUS_VM_OP_PAUSE] = { "pause", "Pause", states_running, FALSE },
  [NEXUS_VM_OP_RESUME] = { "resume", "Resume", states_paused, FALSE },
  [NEXUS_VM_OP_SAVE_STATE] = { "save-state", "SaveState", states_saveable, FALSE },
  [NEXUS_VM_OP_SNAPSHOT] = { "snapshot", "CreateSnapshot", NULL, FALSE },
};

static const struct
{
  const char *state;
  const char *label;
} state_labels[] = {
  { "running", N_ ("Running") },   { "paused", N_ ("Paused") },
  { "shutoff", N_ ("Shut Off") },  { "saved", N_ ("Saved") },
  { "crashed", N_ ("Crashed") },   { "suspended", N_ ("Suspended") },
  { "blocked", N_ ("Blocked") },   { "shutting-down", N_ ("Shutting Down") },
  { "no-state", N_ ("No State") }, { "unavailable", N_ ("Unavailable") },
};

const char *
nexus_vm_op_get_action_name (NexusVmOp op)
{
  g_return_val_if_fail (op < NEXUS_VM_N_OPS, NULL);
  return ops[op].action;
}

/* "vm.pause" or "win.pause" → NEXUS_VM_OP_PAUSE: the operation behind a row's or the window's
 * action, whatever its prefix. */
gboolean
nexus_vm_op_from_action_name (const char *action_name, NexusVmOp *op)
{
  const char *dot = strchr (action_name, '.');
  const char *name = dot ? dot + 1 : action_name;

  for (guint i = 0; i < NEXUS_VM_N_OPS; i++)
    if (g_str_equal (ops[i].action, name))
      {
        *op = i;
        return TRUE;
      }
  return FALSE;
}

const char *
nexus_vm_op_get_method (NexusVmOp op)
{
  g_return_val_if_fail (op < NEXUS_VM_N_OPS, NULL);
  return ops[op].method;
}

gboolean
nexus_vm_op_valid_in_state (NexusVmOp op, const char *state)
{
  g_return_val_if_fail (op < NEXUS_VM_N_OPS, FALSE);

  if (state == NULL || g_str_equal (state, "unavailable"))
    return FALSE;
  return ops[op].states == NULL || g_strv_contains (ops[op].states, state);
}

/* A state spiritd may add later is shown as it is named rather than hidden. */
const char *
nexus_vm_state_get_label (const char *state)
{
  if (state == NULL)
    return "";
  for (gsize i = 0; i < G_N_ELEMENTS (state_labels); i++)
    if (g_str_equal (state_labels[i].state, state))
      return _ (state_labels[i].label);
  return state;
}

static gboolean
on_cpu_sample (gpointer user_data)
{
  NexusVm *self = user_data;
  double percent = spirit_dbus_vm_get_cpu_usage (self->proxy);
  /* A full minute of one value scrolls into the same picture: no redraw for a steady load. */
  gboolean same_picture = nexus_cpu_history_is_flat_at (&self->cpu_history, percent);

  nexus_cpu_history_push (&self->cpu_history, percent);
  if (!same_picture)
    g_signal_emit (self, signals[CPU_SAMPLED], 0);
  return G_SOURCE_CONTINUE;
}

/* Samples while the VM runs (spiritd reads CpuUsage for running VMs only); forgets otherwise. */
static void
nexus_vm_update_cpu_sampling (NexusVm *self)
{
  const char *state = spirit_dbus_vm_get_state (self->proxy);
  gboolean running = state != NULL && g_strv_contains (states_running, state);

  if (running && self->cpu_timer == 0)
    {
      nexus_cpu_history_clear (&self->cpu_history);
      nexus_cpu_history_push (&self->cpu_history, spirit_dbus_vm_get_cpu_usage (self->proxy));
      self->cpu_timer = g_timeout_add_seconds (NEXUS_CPU_SAMPLE_S, on_cpu_sample, self);
    }
  else if (!running && self->cpu_timer != 0)
    {
      g_clear_handle_id (&self->cpu_timer, g_source_remove);
      nexus_cpu_history_clear (&self->cpu_history);
    }
}

static void
on_proxy_notify (NexusVm *self, GParamSpec *pspec, SpiritDBusVm *proxy)
{
  if (g_str_equal (pspec->name, "name"))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
  else if (g_str_equal (pspec->name, "state"))
    {
      nexus_vm_update_cpu_sampling (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
nexus_vm_set_busy (NexusVm *self, guint busy)
{
  gboolean was_busy = self->busy > 0;

  self->busy = busy;
  if (was_busy != (busy > 0))
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
      g_signal_emit (self, signals[CHANGED], 0);
    }
}

static void
nexus_vm_constructed (GObject *object)
{
  NexusVm *self = NEXUS_VM (object);

  G_OBJECT_CLASS (nexus_vm_parent_class)->constructed (object);
  g_signal_connect_object (self->proxy, "notify", G_CALLBACK (on_proxy_notify), self,
                           G_CONNECT_SWAPPED);
  nexus_vm_update_cpu_sampling (self);
}

static void
nexus_vm_dispose (GObject *object)
{
  NexusVm *self = NEXUS_VM (object);

  g_clear_handle_id (&self->cpu_timer, g_source_remove);
  g_clear_object (&self->proxy);
  G_OBJECT_CLASS (nexus_vm_parent_class)->dispose (object);
}

static void
nexus_vm_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NexusVm *self = NEXUS_VM (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      g_value_set_object (value, self->proxy);
      break;
    case PROP_NAME:
      g_value_set_string (value, nexus_vm_get_name (self));
      break;
    case PROP_STATE:
      g_value_set_string (value, nexus_vm_get_state (self));
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, nexus_vm_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_vm_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  NexusVm *self = NEXUS_VM (object);

  switch (prop_id)
    {
    case PROP_PROXY:
      self->proxy = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_vm_class_init (NexusVmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = nexus_vm_constructed;
  object_class->dispose = nexus_vm_dispose;
  object_class->get_property = nexus_vm_get_property;
  object_class->set_property = nexus_vm_set_property;

  properties[PROP_PROXY]
    = g_param_spec_object ("proxy", NULL, NULL, SPIRIT_TYPE_DBUS_VM,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME]
    = g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE]
    = g_param_spec_string ("state", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY]
    = g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Anything shown about the VM may have changed: a property of the proxy, or "busy". */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                   NULL, NULL, G_TYPE_NONE, 0);
  /* A new sample in the CPU history, and nothing else: only the graph needs redrawing. */
  signals[CPU_SAMPLED] = g_signal_new ("cpu-sampled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
nexus_vm_init (NexusVm *self)
{
}

NexusVm *
nexus_vm_new (SpiritDBusVm *proxy)
{
  g_return_val_if_fail (SPIRIT_IS_DBUS_VM (proxy), NULL);

  return g_object_new (NEXUS_TYPE_VM, "proxy", proxy, NULL);
}

SpiritDBusVm *
nexus_vm_get_proxy (NexusVm *self)
{
  g_return_val_if_fail (NEXUS_IS_VM (self), NULL);
  return self->proxy;
}

const char *
nexus_vm_get_object_path (NexusVm *self)
{
  g_return_val_if_fail (NEXUS_IS_VM (self), NULL);
  return g_dbus_proxy_get_object_path (G_DBUS_PROXY (self->proxy));
}

const char *
nexus_vm_get_host (NexusVm *self)
{
  const char *host;

  g_return_val_if_fail (NEXUS_IS_VM (self), NULL);
  host = spirit_dbus_vm_get_host (self->proxy);
  return host ? host : "";
}

gboolean
nexus_vm_get_show_host (NexusVm *self)
{
  g_return_val_if_fail (NEXUS_IS_VM (self), FALSE);
  return self->show_host;
}

void
nexus_vm_set_show_host (NexusVm *self, gboolean show_host)
{
  g_return_if_fail (NEXUS_IS_VM (self));
  if (self->show_host == !!show_host)
    return;
  self->show_host = !!show_host;
  g_signal_emit (self, signals[CHANGED], 0);
}

const char *
nexus_vm_get_name (NexusVm *self)
{
  const char *name;

  g_return_val_if_fail (NEXUS_IS_VM (self), NULL);
  name = spirit_dbus_vm_get_name (self->proxy);
  return name ? name : "";
}

const char *
nexus_vm_get_state (NexusVm *self)
{
  const char *state;

  g_return_val_if_fail (NEXUS_IS_VM (self), NULL);
  state = spirit_dbus_vm_get_state (self->proxy);
  return state ? state : "unavailable";
}

gboolean
nexus_vm_get_busy (NexusVm *self)
{
  g_return_val_if_fail (NEXUS_IS_VM (self), FALSE);
  return self->busy > 0;
}

gboolean
nexus_vm_can_run (NexusVm *self, NexusVmOp op)
{
  g_return_val_if_fail (NEXUS_IS_VM (self), FALSE);
  g_return_val_if_fail (op < NEXUS_VM_N_OPS, FALSE);

  if (self->busy > 0 && !ops[op].while_busy)
    return FALSE;
  return nexus_vm_op_valid_in_state (op, nexus_vm_get_state (self));
}

const NexusCpuHistory *
nexus_vm_get_cpu_history (NexusVm *self)
{
  g_return_val_if_fail (NEXUS_IS_VM (self), NULL);
  return &self->cpu_history;
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  NexusVm *self = g_task_get_source_object (task);
  NexusVmOp op = GPOINTER_TO_UINT (g_task_get_task_data (task));
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  const char *created = "";

  /* spiritd flushes PropertiesChanged before it replies: the proxy already shows the new state. */
  nexus_vm_set_busy (self, self->busy - 1);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (op == NEXUS_VM_OP_SNAPSHOT)
    g_variant_get (reply, "(&s)", &created);
  g_task_return_pointer (task, g_strdup (created), g_free);
}

void
nexus_vm_run_async (NexusVm *self,
                    NexusVmOp op,
                    GCancellable *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GVariant *args = NULL;

  g_return_if_fail (NEXUS_IS_VM (self));
  g_return_if_fail (op < NEXUS_VM_N_OPS);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, nexus_vm_run_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (op), NULL);

  if (op == NEXUS_VM_OP_SHUTDOWN)
    args = g_variant_new ("(u)", 0); /* spiritd's default wait for the guest */
  else if (op == NEXUS_VM_OP_SNAPSHOT)
    args = g_variant_new ("(s)", ""); /* spiritd names it from the date and time */

  nexus_vm_set_busy (self, self->busy + 1);
  /* Like spiritctl: a polkit agent may ask for a password, and a graceful shutdown may take
   * minutes, so no client-side timeout; spiritd bounds every call itself. */
  g_dbus_proxy_call (G_DBUS_PROXY (self->proxy), ops[op].method, args,
                     G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, cancellable,
                     on_call_done, g_steal_pointer (&task));
}

/* Returns the name of the snapshot taken for NEXUS_VM_OP_SNAPSHOT, "" for the others. The error's
 * message is spiritd's own, without the D-Bus error name. */
char *
nexus_vm_run_finish (NexusVm *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
