/* spirit-host.c: one libvirt connection and the VM objects that live on it.
 *
 * VM objects in, VM objects out, following libvirt. A full resync (one listing plus one read per
 * domain, on a worker thread) runs whenever the connection opens, so a libvirtd restart costs no
 * spiritd restart. Between resyncs, lifecycle events refresh one VM each, or add one that was
 * defined outside Spirit.
 */
#define G_LOG_DOMAIN "spirit-host"

#include "spirit-host.h"
#include "spirit-cpu-usage.h"
#include "spirit-agent-channel.h"
#include "spirit-connection.h"
#include "spirit-error.h"
#include "spirit-libvirt.h"
#include "spirit-vm.h"
#include "spirit-object-tree.h"
#include "spirit-worker.h"

struct _SpiritHost
{
  GObject parent_instance;

  SpiritAuth *auth;
  SpiritWorker *worker; /* this host's libvirt calls run here, and only here */
  SpiritConnection *connection;
  SpiritObjectTree *tree; /* the manager's; it outlives its hosts */
  gboolean connected;     /* connected and listed: the VM objects are current */

  GHashTable *vms;    /* uuid → SpiritVm */
  GHashTable *adding; /* uuid → GINT_TO_POINTER (another event came while adding) */
  gboolean resyncing;
  guint resync_generation; /* a resync from an older connection is dropped */
  GHashTable *touched;     /* uuid → GVirDomain with events during a resync, looked at after it */
  GHashTable *resync_seqs; /* uuid → the read number each VM got when the resync started */
  guint cpu_timer;         /* while connected and a VM runs: CpuUsage is read again */
};

typedef struct
{
  GVirDomain *domain;
  SpiritVmInfo *info;
} SpiritDomainState;

enum
{
  PROP_0,
  PROP_CONNECTED,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

/* Enough for many VMs' refreshes to overlap, few enough that a hung daemon costs little. */
#define SPIRIT_HOST_MAX_WORKERS 8

G_DEFINE_FINAL_TYPE (SpiritHost, spirit_host, G_TYPE_OBJECT)

static void
spirit_domain_state_free (SpiritDomainState *state)
{
  g_clear_object (&state->domain);
  spirit_vm_info_free (state->info);
  g_free (state);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritDomainState, spirit_domain_state_free)

/* Blocking: reads one domain. NULL with NO_SUCH_VM if it vanished meanwhile. */
static SpiritDomainState *
spirit_domain_state_fetch (virDomainPtr handle, GError **error)
{
  g_autoptr (SpiritDomainState) state = g_new0 (SpiritDomainState, 1);

  state->info = spirit_vm_info_fetch (handle, error);
  if (state->info == NULL)
    return NULL;
  state->domain = g_object_new (GVIR_TYPE_DOMAIN, "handle", handle, NULL);
  return g_steal_pointer (&state);
}

static void
spirit_host_dispose (GObject *object)
{
  SpiritHost *self = SPIRIT_HOST (object);

  g_clear_handle_id (&self->cpu_timer, g_source_remove);
  g_clear_pointer (&self->vms, g_hash_table_unref);
  g_clear_pointer (&self->adding, g_hash_table_unref);
  g_clear_pointer (&self->touched, g_hash_table_unref);
  g_clear_pointer (&self->resync_seqs, g_hash_table_unref);
  g_clear_object (&self->connection);
  g_clear_object (&self->auth);
  g_clear_pointer (&self->worker, spirit_worker_free);
  G_OBJECT_CLASS (spirit_host_parent_class)->dispose (object);
}

static void
spirit_host_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SpiritHost *self = SPIRIT_HOST (object);

  switch (prop_id)
    {
    case PROP_CONNECTED:
      g_value_set_boolean (value, self->connected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spirit_host_class_init (SpiritHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spirit_host_dispose;
  object_class->get_property = spirit_host_get_property;
  props[PROP_CONNECTED]
    = g_param_spec_boolean ("connected", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static gboolean
on_cpu_timer (gpointer user_data)
{
  SpiritHost *self = user_data;
  GHashTableIter iter;
  gpointer vm;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &vm))
    spirit_vm_sample_cpu (vm); /* only the running ones read anything */
  return G_SOURCE_CONTINUE;
}

/* The CPU readings run while the host is connected and one of its VMs runs, and only then: an
 * idle spiritd does not wake up for them. */
static void
spirit_host_update_cpu_timer (SpiritHost *self)
{
  gboolean running = FALSE;
  GHashTableIter iter;
  gpointer vm;

  g_hash_table_iter_init (&iter, self->vms);
  while (!running && g_hash_table_iter_next (&iter, NULL, &vm))
    running = g_strcmp0 (spirit_vm_get_state (vm), "running") == 0;
  if (running && self->connected && self->cpu_timer == 0)
    self->cpu_timer = g_timeout_add_seconds (SPIRIT_CPU_SAMPLE_S, on_cpu_timer, self);
  else if (!(running && self->connected))
    g_clear_handle_id (&self->cpu_timer, g_source_remove);
}

static void
spirit_host_set_connected (SpiritHost *self, gboolean connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  spirit_host_update_cpu_timer (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONNECTED]);
}

static void
spirit_host_init (SpiritHost *self)
{
  self->vms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->adding = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->touched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->resync_seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* --- the set of VM objects ------------------------------------------------------------- */

static void spirit_host_remove_vm (SpiritHost *self, const char *uuid);

static void
on_vm_vanished (SpiritVm *vm, gpointer user_data)
{
  SpiritHost *self = user_data;
  g_autofree char *uuid = g_strdup (spirit_vm_get_uuid (vm));

  spirit_host_remove_vm (self, uuid);
}

static void
spirit_host_add_vm (SpiritHost *self, const SpiritDomainState *state)
{
  SpiritVm *vm
    = spirit_vm_new (self->auth, self->worker, spirit_connection_get_host (self->connection),
                     state->domain, state->info);

  g_signal_connect_object (vm, "vanished", G_CALLBACK (on_vm_vanished), self, 0);
  g_signal_connect_object (vm, "state-changed", G_CALLBACK (spirit_host_update_cpu_timer), self,
                           G_CONNECT_SWAPPED);
  spirit_vm_enable_agent (
    vm, spirit_agent_channel_uri_is_local (spirit_connection_get_uri (self->connection)));
  g_hash_table_replace (self->vms, g_strdup (state->info->uuid), vm);
  spirit_object_tree_add (self->tree, spirit_vm_get_object_path (vm), spirit_vm_get_skeleton (vm));
  g_debug ("Added VM %s (%s)", state->info->name, state->info->uuid);
  spirit_host_update_cpu_timer (self);
}

static void
spirit_host_remove_vm (SpiritHost *self, const char *uuid)
{
  SpiritVm *vm = g_hash_table_lookup (self->vms, uuid);

  if (vm == NULL)
    return;
  g_debug ("Removed VM %s (%s)", spirit_vm_get_name (vm), uuid);
  spirit_object_tree_remove (self->tree, spirit_vm_get_object_path (vm));
  g_hash_table_remove (self->vms, uuid);
  spirit_host_update_cpu_timer (self);
}

/* --- one domain defined outside Spirit ------------------------------------------------- */

static void
add_domain_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (task_data);
  GError *error = NULL;
  SpiritDomainState *state = spirit_domain_state_fetch (handle, &error);

  if (state == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, state, (GDestroyNotify)spirit_domain_state_free);
}

static void
on_add_domain_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritHost *self = SPIRIT_HOST (source);
  g_autofree char *uuid = user_data;
  g_autoptr (SpiritDomainState) state = NULL;
  g_autoptr (GError) error = NULL;
  gboolean again = GPOINTER_TO_INT (g_hash_table_lookup (self->adding, uuid));

  g_hash_table_remove (self->adding, uuid);
  state = g_task_propagate_pointer (G_TASK (result), &error);
  if (state == NULL)
    {
      g_debug ("Not adding %s: %s", uuid, error->message);
      return;
    }
  if (g_hash_table_contains (self->vms, uuid))
    return;
  spirit_host_add_vm (self, state);
  if (again)
    spirit_vm_refresh (g_hash_table_lookup (self->vms, uuid));
}

static void
spirit_host_add_domain (SpiritHost *self, GVirDomain *domain)
{
  g_autoptr (GTask) task = NULL;
  const char *uuid = gvir_domain_get_uuid (domain);

  if (g_hash_table_contains (self->adding, uuid))
    {
      g_hash_table_insert (self->adding, g_strdup (uuid), GINT_TO_POINTER (TRUE));
      return;
    }
  g_hash_table_insert (self->adding, g_strdup (uuid), GINT_TO_POINTER (FALSE));
  task = g_task_new (self, NULL, on_add_domain_done, g_strdup (uuid));
  g_task_set_source_tag (task, spirit_host_add_domain);
  g_task_set_task_data (task, g_object_ref (domain), g_object_unref);
  spirit_worker_run (self->worker, task, add_domain_thread);
}

static void
on_domain_event (
  SpiritConnection *connection, GVirDomain *domain, int event, int detail, gpointer user_data)
{
  SpiritHost *self = user_data;
  const char *uuid = gvir_domain_get_uuid (domain);
  SpiritVm *vm;

  g_debug ("Event %d/%d on %s", event, detail, uuid);
  if (self->resyncing)
    {
      g_hash_table_replace (self->touched, g_strdup (uuid), g_object_ref (domain));
      return;
    }
  vm = g_hash_table_lookup (self->vms, uuid);
  if (vm != NULL)
    spirit_vm_refresh (vm); /* finds out itself whether it was undefined for good */
  else if (event != VIR_DOMAIN_EVENT_UNDEFINED)
    spirit_host_add_domain (self, domain);
}

/* --- full resync on (re)connect -------------------------------------------------------- */

static void
resync_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  virConnectPtr conn = NULL;
  virDomainPtr *domains = NULL;
  g_autoptr (GPtrArray) states
    = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_domain_state_free);
  int n;

  g_object_get (task_data, "handle", &conn, NULL);
  n = virConnectListAllDomains (conn, &domains, 0);
  if (n < 0)
    {
      GError *error = NULL;
      spirit_set_error_from_libvirt (&error, "Could not list the VMs");
      virConnectClose (conn);
      g_task_return_error (task, error);
      return;
    }
  for (int i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      SpiritDomainState *state = spirit_domain_state_fetch (domains[i], &error);
      if (state != NULL)
        g_ptr_array_add (states, state);
      else
        g_debug ("Skipping a domain: %s", error->message);
      virDomainFree (domains[i]);
    }
  free (domains);
  virConnectClose (conn);
  g_task_return_pointer (task, g_steal_pointer (&states), (GDestroyNotify)g_ptr_array_unref);
}

static void
on_resync_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritHost *self = SPIRIT_HOST (source);
  g_autoptr (GPtrArray) states = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GError) error = NULL;
  GHashTableIter iter;
  gpointer key, value;

  states = g_task_propagate_pointer (G_TASK (result), &error);
  if (GPOINTER_TO_UINT (user_data) != self->resync_generation
      || !spirit_connection_is_connected (self->connection))
    return;
  self->resyncing = FALSE;
  if (states == NULL)
    {
      g_warning ("%s", error->message);
      g_hash_table_remove_all (self->touched);
      return;
    }

  for (guint i = 0; i < states->len; i++)
    {
      SpiritDomainState *state = g_ptr_array_index (states, i);
      SpiritVm *vm = g_hash_table_lookup (self->vms, state->info->uuid);

      g_hash_table_add (seen, state->info->uuid);
      if (vm == NULL)
        {
          spirit_host_add_vm (self, state);
          continue;
        }
      spirit_vm_set_domain (vm, state->domain);
      /* A refresh that started after the listing and finished first is newer: keep it. */
      if (g_hash_table_contains (self->resync_seqs, state->info->uuid))
        spirit_vm_apply_fetched (
          vm, state->info,
          GPOINTER_TO_INT (g_hash_table_lookup (self->resync_seqs, state->info->uuid)));
      else
        spirit_vm_apply_info (vm, state->info);
    }

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (seen, key))
      {
        spirit_object_tree_remove (self->tree, spirit_vm_get_object_path (value));
        g_hash_table_iter_remove (&iter);
      }

  /* Events that arrived while listing may describe changes the listing missed. */
  g_hash_table_iter_init (&iter, self->touched);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      SpiritVm *vm = g_hash_table_lookup (self->vms, key);
      if (vm != NULL)
        spirit_vm_refresh (vm);
      else
        spirit_host_add_domain (self, value);
    }
  g_hash_table_remove_all (self->touched);
  g_hash_table_remove_all (self->resync_seqs);

  g_message ("%u VMs on %s (%s)", g_hash_table_size (self->vms),
             spirit_connection_get_host (self->connection),
             spirit_connection_get_uri (self->connection));
  spirit_host_set_connected (self, TRUE);
}

static void
on_connected (SpiritConnection *connection, gpointer user_data)
{
  SpiritHost *self = user_data;
  g_autoptr (GTask) task = NULL;

  GHashTableIter iter;
  gpointer uuid, vm;

  self->resyncing = TRUE;
  g_hash_table_remove_all (self->touched);
  /* Numbered before the listing starts, so reads that began earlier count as older. */
  g_hash_table_remove_all (self->resync_seqs);
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, &uuid, &vm))
    g_hash_table_insert (self->resync_seqs, g_strdup (uuid),
                         GINT_TO_POINTER (spirit_vm_reserve_seq (vm)));
  task = g_task_new (self, NULL, on_resync_done, GUINT_TO_POINTER (++self->resync_generation));
  g_task_set_source_tag (task, on_connected);
  g_task_set_task_data (task, g_object_ref (spirit_connection_get_gvir (connection)),
                        g_object_unref);
  spirit_worker_run (self->worker, task, resync_thread);
}

static void
on_disconnected (SpiritConnection *connection, gpointer user_data)
{
  SpiritHost *self = user_data;
  GHashTableIter iter;
  gpointer vm;

  /* VMs first: a client that sees the host go down already sees them unavailable. */
  self->resyncing = FALSE;
  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &vm))
    spirit_vm_set_domain (vm, NULL);
  spirit_host_set_connected (self, FALSE);
}

/* --- public ---------------------------------------------------------------------------- */

SpiritHost *
spirit_host_new (SpiritAuth *auth, SpiritObjectTree *tree, const char *name, const char *uri)
{
  SpiritHost *self = g_object_new (SPIRIT_TYPE_HOST, NULL);

  self->auth = g_object_ref (auth);
  self->worker = spirit_worker_new (SPIRIT_HOST_MAX_WORKERS);
  self->tree = tree;
  self->connection = spirit_connection_new (name, uri);
  g_signal_connect_object (self->connection, "connected", G_CALLBACK (on_connected), self, 0);
  g_signal_connect_object (self->connection, "disconnected", G_CALLBACK (on_disconnected), self, 0);
  g_signal_connect_object (self->connection, "domain-event", G_CALLBACK (on_domain_event), self, 0);
  return self;
}

void
spirit_host_start (SpiritHost *self)
{
  spirit_connection_start (self->connection);
}

const char *
spirit_host_get_name (SpiritHost *self)
{
  return spirit_connection_get_host (self->connection);
}

const char *
spirit_host_get_uri (SpiritHost *self)
{
  return spirit_connection_get_uri (self->connection);
}

gboolean
spirit_host_is_connected (SpiritHost *self)
{
  return self->connected;
}

void
spirit_host_find_vms (SpiritHost *self, const char *name_or_uuid, GPtrArray *matches)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (spirit_vm_get_name (value), name_or_uuid)
        || g_str_equal (spirit_vm_get_uuid (value), name_or_uuid))
      g_ptr_array_add (matches, value);
}

SpiritVm *
spirit_host_find_vm_by_path (SpiritHost *self, const char *object_path)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (spirit_vm_get_object_path (value), object_path))
      return value;
  return NULL;
}

void
spirit_host_collect_names (SpiritHost *self, GPtrArray *names)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->vms);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (names, (gpointer)spirit_vm_get_name (value));
}

void
spirit_host_run_on_worker (SpiritHost *self, GTask *task, GTaskThreadFunc func)
{
  spirit_worker_run (self->worker, task, func);
}

GVirConnection *
spirit_host_get_gvir (SpiritHost *self)
{
  return self->connected ? spirit_connection_get_gvir (self->connection) : NULL;
}

SpiritVm *
spirit_host_add_defined (SpiritHost *self, GVirDomain *domain, const SpiritVmInfo *info)
{
  SpiritVm *vm = g_hash_table_lookup (self->vms, info->uuid);
  SpiritDomainState state = { .domain = domain, .info = (SpiritVmInfo *)info };

  if (vm != NULL)
    return vm;
  spirit_host_add_vm (self, &state);
  return g_hash_table_lookup (self->vms, info->uuid);
}
