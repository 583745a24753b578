/* nexus-client.c: the HUD's connection to org.crom.Spirit (see nexus-client.h).
 *
 * Lifecycle, all asynchronous so the window never waits on the bus:
 *   open a private bus connection ─► watch org.crom.Spirit ─► appeared: Manager proxy and object
 *   manager client, bound to the owner's unique name ─► vanished: both dropped, the model emptied.
 * A private connection (not the g_bus_get() singleton) so a bus that goes away closes only ours,
 * never exits the process, and is reopened with a back-off.
 */
#define G_LOG_DOMAIN "nexus-client"

#include "nexus-client.h"
#include "nexus-vm.h"
#include "spirit-error.h"

#include <glib/gi18n.h>

#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 5000

struct _NexusClient
{
  GObject parent_instance;

  GBusType bus_type;
  char *address;

  NexusClientStatus status;
  char *error_message;

  GDBusConnection *bus;
  GCancellable *bus_cancellable;
  guint reconnect_source;
  guint reconnect_delay_ms;
  guint watch_id;

  /* One service instance: everything below is dropped when its name vanishes. */
  GCancellable *service_cancellable;
  GDBusObjectManager *objects;
  SpiritDBusManager *manager;
  GListStore *vms;
  GListStore *gpus; /* SpiritDBusGpu, by address */
};

G_DEFINE_FINAL_TYPE (NexusClient, nexus_client, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (NexusClientStatus,
                    nexus_client_status,
                    G_DEFINE_ENUM_VALUE (NEXUS_CLIENT_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (NEXUS_CLIENT_NO_BUS, "no-bus"),
                    G_DEFINE_ENUM_VALUE (NEXUS_CLIENT_NO_SERVICE, "no-service"),
                    G_DEFINE_ENUM_VALUE (NEXUS_CLIENT_LOADING, "loading"),
                    G_DEFINE_ENUM_VALUE (NEXUS_CLIENT_READY, "ready"))

enum
{
  PROP_0,
  PROP_STATUS,
  PROP_ERROR_MESSAGE,
  PROP_LIBVIRT_DOWN,
  PROP_URI,
  PROP_VERSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void connect_bus (NexusClient *self);

static void
set_status (NexusClient *self, NexusClientStatus status, const char *error_message)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (g_strcmp0 (self->error_message, error_message) != 0)
    {
      g_free (self->error_message);
      self->error_message = g_strdup (error_message);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
    }
  if (self->status != status)
    {
      g_debug ("status %d → %d", self->status, status);
      self->status = status;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static void
notify_manager_properties (NexusClient *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIBVIRT_DOWN]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_URI]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERSION]);
}

/* --- the VM model ----------------------------------------------------------------------- */

static gint
compare_vms (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return g_utf8_collate (nexus_vm_get_name ((NexusVm *)a), nexus_vm_get_name ((NexusVm *)b));
}

static gint
compare_vm_pointers (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return compare_vms (*(NexusVm **)a, *(NexusVm **)b, user_data);
}

static gboolean
find_vm (NexusClient *self, const char *object_path, guint *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->vms));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (NexusVm) vm = g_list_model_get_item (G_LIST_MODEL (self->vms), i);
      if (g_str_equal (nexus_vm_get_object_path (vm), object_path))
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

/* A rename (virsh domrename) moves the VM to its new place in the sorted list. */
static void
on_vm_renamed (NexusClient *self, GParamSpec *pspec, NexusVm *vm)
{
  g_autoptr (NexusVm) keep = g_object_ref (vm);
  guint position;

  if (!find_vm (self, nexus_vm_get_object_path (vm), &position))
    return;
  g_list_store_remove (self->vms, position);
  g_list_store_insert_sorted (self->vms, vm, compare_vms, NULL);
}

static NexusVm *
new_vm (NexusClient *self, SpiritDBusVm *proxy)
{
  NexusVm *vm = nexus_vm_new (proxy);

  g_signal_connect_object (vm, "notify::name", G_CALLBACK (on_vm_renamed), self, G_CONNECT_SWAPPED);
  g_debug ("VM %s appeared", nexus_vm_get_name (vm));
  return vm;
}

static void
add_vm (NexusClient *self, SpiritDBusVm *proxy)
{
  g_autoptr (NexusVm) vm = NULL;
  guint position;

  if (find_vm (self, g_dbus_proxy_get_object_path (G_DBUS_PROXY (proxy)), &position))
    return;
  vm = new_vm (self, proxy);
  g_list_store_insert_sorted (self->vms, vm, compare_vms, NULL);
}

static void
remove_vm (NexusClient *self, const char *object_path)
{
  guint position;

  if (find_vm (self, object_path, &position))
    g_list_store_remove (self->vms, position);
}

static void add_gpu (NexusClient *self, SpiritDBusGpu *proxy);
static void remove_gpu (NexusClient *self, const char *object_path);

static void
on_object_added (NexusClient *self, GDBusObject *object, GDBusObjectManager *objects)
{
  g_autoptr (SpiritDBusVm) proxy = spirit_object_get_dbus_vm (SPIRIT_OBJECT (object));
  g_autoptr (SpiritDBusGpu) gpu = spirit_object_get_dbus_gpu (SPIRIT_OBJECT (object));

  if (proxy != NULL)
    add_vm (self, proxy);
  if (gpu != NULL)
    add_gpu (self, gpu);
}

static void
on_object_removed (NexusClient *self, GDBusObject *object, GDBusObjectManager *objects)
{
  remove_vm (self, g_dbus_object_get_object_path (object));
  remove_gpu (self, g_dbus_object_get_object_path (object));
}

static void
on_interface_added (NexusClient *self,
                    GDBusObject *object,
                    GDBusInterface *iface,
                    GDBusObjectManager *objects)
{
  if (SPIRIT_IS_DBUS_VM (iface))
    add_vm (self, SPIRIT_DBUS_VM (iface));
  if (SPIRIT_IS_DBUS_GPU (iface))
    add_gpu (self, SPIRIT_DBUS_GPU (iface));
}

static void
on_interface_removed (NexusClient *self,
                      GDBusObject *object,
                      GDBusInterface *iface,
                      GDBusObjectManager *objects)
{
  if (SPIRIT_IS_DBUS_VM (iface))
    remove_vm (self, g_dbus_object_get_object_path (object));
  if (SPIRIT_IS_DBUS_GPU (iface))
    remove_gpu (self, g_dbus_object_get_object_path (object));
}

/* --- the GPU model ---------------------------------------------------------------------- */

static gint
compare_gpus (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return g_strcmp0 (spirit_dbus_gpu_get_address ((SpiritDBusGpu *)a),
                    spirit_dbus_gpu_get_address ((SpiritDBusGpu *)b));
}

static gboolean
find_gpu (NexusClient *self, const char *object_path, guint *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->gpus));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GDBusProxy) gpu = g_list_model_get_item (G_LIST_MODEL (self->gpus), i);
      if (g_str_equal (g_dbus_proxy_get_object_path (gpu), object_path))
        {
          *position = i;
          return TRUE;
        }
    }
  return FALSE;
}

static void
add_gpu (NexusClient *self, SpiritDBusGpu *proxy)
{
  guint position;

  if (!find_gpu (self, g_dbus_proxy_get_object_path (G_DBUS_PROXY (proxy)), &position))
    g_list_store_insert_sorted (self->gpus, proxy, compare_gpus, NULL);
}

static void
remove_gpu (NexusClient *self, const char *object_path)
{
  guint position;

  if (find_gpu (self, object_path, &position))
    g_list_store_remove (self->gpus, position);
}

/* --- one service instance ---------------------------------------------------------------- */

static void
drop_service (NexusClient *self)
{
  g_cancellable_cancel (self->service_cancellable);
  g_clear_object (&self->service_cancellable);
  if (self->objects != NULL)
    g_signal_handlers_disconnect_by_data (self->objects, self);
  g_clear_object (&self->objects);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->manager);
  g_list_store_remove_all (self->vms);
  g_list_store_remove_all (self->gpus);
  notify_manager_properties (self);
}

static void
on_objects_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NexusClient *self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusObjectManager) objects = spirit_object_manager_client_new_finish (result, &error);
  g_autoptr (GPtrArray) initial = g_ptr_array_new_with_free_func (g_object_unref);
  GList *list;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = NEXUS_CLIENT (user_data);
  if (objects == NULL)
    {
      /* The owner went away while we asked; its vanishing is on its way. */
      g_dbus_error_strip_remote_error (error);
      g_warning ("Could not list the service's objects: %s", error->message);
      set_status (self, NEXUS_CLIENT_NO_SERVICE, error->message);
      return;
    }

  self->objects = g_steal_pointer (&objects);
  g_signal_connect_object (self->objects, "object-added", G_CALLBACK (on_object_added), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->objects, "object-removed", G_CALLBACK (on_object_removed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->objects, "interface-added", G_CALLBACK (on_interface_added), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->objects, "interface-removed", G_CALLBACK (on_interface_removed),
                           self, G_CONNECT_SWAPPED);

  /* The initial set in one change, sorted: the list draws once and selects its first row. */
  list = g_dbus_object_manager_get_objects (self->objects);
  for (GList *l = list; l != NULL; l = l->next)
    {
      g_autoptr (SpiritDBusVm) proxy = spirit_object_get_dbus_vm (SPIRIT_OBJECT (l->data));
      g_autoptr (SpiritDBusGpu) gpu = spirit_object_get_dbus_gpu (SPIRIT_OBJECT (l->data));
      if (proxy != NULL)
        g_ptr_array_add (initial, new_vm (self, proxy));
      if (gpu != NULL)
        add_gpu (self, gpu);
    }
  g_list_free_full (list, g_object_unref);
  g_ptr_array_sort_with_data (initial, compare_vm_pointers, NULL);
  g_list_store_splice (self->vms, 0, g_list_model_get_n_items (G_LIST_MODEL (self->vms)),
                       initial->pdata, initial->len);

  set_status (self, NEXUS_CLIENT_READY, NULL);
}

static void
on_manager_notify (NexusClient *self, GParamSpec *pspec, SpiritDBusManager *manager)
{
  notify_manager_properties (self);
}

static void
on_manager_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NexusClient *self;
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritDBusManager) manager = spirit_dbus_manager_proxy_new_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = NEXUS_CLIENT (user_data);
  if (manager == NULL)
    {
      g_warning ("Could not reach the service's Manager: %s", error->message);
      return;
    }
  self->manager = g_steal_pointer (&manager);
  g_signal_connect_object (self->manager, "notify", G_CALLBACK (on_manager_notify), self,
                           G_CONNECT_SWAPPED);
  notify_manager_properties (self);
}

static void
on_name_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer user_data)
{
  NexusClient *self = NEXUS_CLIENT (user_data);

  g_debug ("%s appeared as %s", name, owner);
  drop_service (self);
  set_status (self, NEXUS_CLIENT_LOADING, NULL);
  self->service_cancellable = g_cancellable_new ();

  /* Bound to this owner: a restarted service is a new owner, and rebuilt from scratch. */
  spirit_dbus_manager_proxy_new (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, owner,
                                 NEXUS_OBJECT_ROOT, self->service_cancellable, on_manager_ready,
                                 self);
  spirit_object_manager_client_new (bus, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                    owner, NEXUS_OBJECT_ROOT, self->service_cancellable,
                                    on_objects_ready, self);
}

static void
on_name_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  NexusClient *self = NEXUS_CLIENT (user_data);

  g_debug ("%s has no owner", name);
  drop_service (self);
  if (self->bus != NULL)
    set_status (self, NEXUS_CLIENT_NO_SERVICE, NULL);
}

/* --- the bus connection ------------------------------------------------------------------ */

static gboolean
on_reconnect_timeout (gpointer user_data)
{
  NexusClient *self = NEXUS_CLIENT (user_data);

  self->reconnect_source = 0;
  connect_bus (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconnect (NexusClient *self, const char *message)
{
  set_status (self, NEXUS_CLIENT_NO_BUS, message);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  self->reconnect_source = g_timeout_add (self->reconnect_delay_ms, on_reconnect_timeout, self);
  self->reconnect_delay_ms = MIN (self->reconnect_delay_ms * 2, RECONNECT_MAX_MS);
}

static void
drop_bus (NexusClient *self)
{
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  drop_service (self);
  if (self->bus != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->bus, self);
      g_dbus_connection_close (self->bus, NULL, NULL, NULL);
    }
  g_clear_object (&self->bus);
}

static void
on_bus_closed (GDBusConnection *bus,
               gboolean remote_peer_vanished,
               GError *error,
               gpointer user_data)
{
  NexusClient *self = NEXUS_CLIENT (user_data);

  g_debug ("bus connection closed");
  drop_bus (self);
  schedule_reconnect (self, _ ("The connection to the bus was lost"));
}

static void
on_bus_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NexusClient *self;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_dbus_connection_new_for_address_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = NEXUS_CLIENT (user_data);
  g_clear_object (&self->bus_cancellable);
  if (bus == NULL)
    {
      schedule_reconnect (self, error->message);
      return;
    }

  self->bus = g_steal_pointer (&bus);
  self->reconnect_delay_ms = RECONNECT_MIN_MS;
  g_signal_connect (self->bus, "closed", G_CALLBACK (on_bus_closed), self);
  /* AUTO_START: on the system bus, opening the HUD starts spiritd through D-Bus activation. */
  self->watch_id = g_bus_watch_name_on_connection (self->bus, NEXUS_BUS_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_AUTO_START,
                                                   on_name_appeared, on_name_vanished, self, NULL);
}

static void
connect_bus (NexusClient *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *address = NULL;

  set_status (self, NEXUS_CLIENT_CONNECTING, NULL);
  if (self->address != NULL)
    address = g_strdup (self->address);
  else
    address = g_dbus_address_get_for_bus_sync (self->bus_type, NULL, &error);
  if (address == NULL)
    {
      schedule_reconnect (self, error->message);
      return;
    }

  self->bus_cancellable = g_cancellable_new ();
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                       | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, self->bus_cancellable, on_bus_ready, self);
}

/* --- GObject ----------------------------------------------------------------------------- */

static void
nexus_client_dispose (GObject *object)
{
  NexusClient *self = NEXUS_CLIENT (object);

  g_cancellable_cancel (self->bus_cancellable);
  g_clear_object (&self->bus_cancellable);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  drop_bus (self);
  G_OBJECT_CLASS (nexus_client_parent_class)->dispose (object);
}

static void
nexus_client_finalize (GObject *object)
{
  NexusClient *self = NEXUS_CLIENT (object);

  g_clear_object (&self->vms);
  g_clear_object (&self->gpus);
  g_free (self->address);
  g_free (self->error_message);
  G_OBJECT_CLASS (nexus_client_parent_class)->finalize (object);
}

static void
nexus_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NexusClient *self = NEXUS_CLIENT (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    case PROP_LIBVIRT_DOWN:
      g_value_set_boolean (value, nexus_client_get_libvirt_down (self));
      break;
    case PROP_URI:
      g_value_set_string (value, nexus_client_get_uri (self));
      break;
    case PROP_VERSION:
      g_value_set_string (value, nexus_client_get_version (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_client_class_init (NexusClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = nexus_client_dispose;
  object_class->finalize = nexus_client_finalize;
  object_class->get_property = nexus_client_get_property;

  properties[PROP_STATUS]
    = g_param_spec_enum ("status", NULL, NULL, NEXUS_TYPE_CLIENT_STATUS, NEXUS_CLIENT_CONNECTING,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR_MESSAGE]
    = g_param_spec_string ("error-message", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LIBVIRT_DOWN] = g_param_spec_boolean ("libvirt-down", NULL, NULL, FALSE,
                                                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_URI]
    = g_param_spec_string ("uri", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_VERSION]
    = g_param_spec_string ("version", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Remote errors come back as SPIRIT_ERROR codes once the domain is registered. */
  g_type_ensure (NEXUS_TYPE_CLIENT_STATUS);
  (void)SPIRIT_ERROR;
}

static void
nexus_client_init (NexusClient *self)
{
  self->vms = g_list_store_new (NEXUS_TYPE_VM);
  self->gpus = g_list_store_new (SPIRIT_TYPE_DBUS_GPU_PROXY);
  self->reconnect_delay_ms = RECONNECT_MIN_MS;
}

NexusClient *
nexus_client_new (GBusType bus_type, const char *address)
{
  NexusClient *self = g_object_new (NEXUS_TYPE_CLIENT, NULL);

  self->bus_type = bus_type;
  self->address = (address != NULL && address[0] != '\0') ? g_strdup (address) : NULL;
  return self;
}

void
nexus_client_start (NexusClient *self)
{
  g_return_if_fail (NEXUS_IS_CLIENT (self));
  g_return_if_fail (self->bus == NULL && self->bus_cancellable == NULL);

  connect_bus (self);
}

NexusClientStatus
nexus_client_get_status (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), NEXUS_CLIENT_CONNECTING);
  return self->status;
}

const char *
nexus_client_get_error_message (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), NULL);
  return self->error_message;
}

GListModel *
nexus_client_get_vms (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), NULL);
  return G_LIST_MODEL (self->vms);
}

/* Whether spiritd says its libvirt connection is down (it reconnects by itself meanwhile);
 * FALSE while there is no service to say so. */
gboolean
nexus_client_get_libvirt_down (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), FALSE);
  return self->manager != NULL && !spirit_dbus_manager_get_connected (self->manager);
}

GListModel *
nexus_client_get_gpus (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), NULL);
  return G_LIST_MODEL (self->gpus);
}

GDBusConnection *
nexus_client_get_bus (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), NULL);
  return self->bus;
}

const char *
nexus_client_get_uri (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), NULL);
  return self->manager != NULL ? spirit_dbus_manager_get_uri (self->manager) : NULL;
}

const char *
nexus_client_get_version (NexusClient *self)
{
  g_return_val_if_fail (NEXUS_IS_CLIENT (self), NULL);
  return self->manager != NULL ? spirit_dbus_manager_get_version (self->manager) : NULL;
}

static void
on_start_service_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The name watch sees the new owner and does the rest. */
  g_task_return_boolean (task, TRUE);
}

/* Asks the bus to start spiritd (D-Bus activation, through systemd on a real system). */
void
nexus_client_start_service_async (NexusClient *self,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (NEXUS_IS_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, nexus_client_start_service_async);
  if (self->bus == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "%s",
                               _ ("Not connected to the bus"));
      return;
    }
  g_dbus_connection_call (
    self->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "StartServiceByName", g_variant_new ("(su)", NEXUS_BUS_NAME, 0), G_VARIANT_TYPE ("(u)"),
    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, cancellable, on_start_service_done, g_steal_pointer (&task));
}

gboolean
nexus_client_start_service_finish (NexusClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
