/* spirit-connection.c: open, watch and reopen one libvirt connection.
 *
 * libvirt-gobject's GVirConnection opens the connection and drives libvirt's events from the GLib
 * main loop; it does not notice a dead daemon nor deliver every lifecycle event, so this file
 * registers libvirt's close callback, keepalive and a lifecycle callback on the raw handle.
 */
#define G_LOG_DOMAIN "spirit-connection"

#include "spirit-connection.h"

#include "spirit-libvirt.h"

#define RECONNECT_FIRST_MS 200
#define RECONNECT_MAX_MS 5000
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3

struct _SpiritConnection
{
  GObject parent_instance;

  char *host;
  char *uri;
  GVirConnection *gvir;  /* set while connected */
  virConnectPtr handle;  /* our reference to gvir's handle, while connected */
  int lifecycle_cb_id;
  int balloon_cb_id;
  gboolean opening;
  guint reconnect_id;
  guint lost_idle_id;
  guint backoff_ms;
};

enum
{
  SIGNAL_CONNECTED,
  SIGNAL_DISCONNECTED,
  SIGNAL_DOMAIN_EVENT,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SpiritConnection, spirit_connection, G_TYPE_OBJECT)

static void spirit_connection_open (SpiritConnection *self);
static void spirit_connection_drop (SpiritConnection *self);
static void on_libvirt_close (virConnectPtr conn, int reason, void *opaque);

static void
spirit_connection_dispose (GObject *object)
{
  SpiritConnection *self = SPIRIT_CONNECTION (object);

  g_clear_handle_id (&self->reconnect_id, g_source_remove);
  g_clear_handle_id (&self->lost_idle_id, g_source_remove);
  spirit_connection_drop (self);
  G_OBJECT_CLASS (spirit_connection_parent_class)->dispose (object);
}

static void
spirit_connection_finalize (GObject *object)
{
  SpiritConnection *self = SPIRIT_CONNECTION (object);

  g_free (self->host);
  g_free (self->uri);
  G_OBJECT_CLASS (spirit_connection_parent_class)->finalize (object);
}

static void
spirit_connection_class_init (SpiritConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spirit_connection_dispose;
  object_class->finalize = spirit_connection_finalize;

  signals[SIGNAL_CONNECTED] = g_signal_new ("connected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                            0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_DISCONNECTED] = g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* (GVirDomain *domain, int virDomainEventType, int detail) */
  signals[SIGNAL_DOMAIN_EVENT] =
    g_signal_new ("domain-event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 3, GVIR_TYPE_DOMAIN, G_TYPE_INT, G_TYPE_INT);
}

static void
spirit_connection_init (SpiritConnection *self)
{
  self->lifecycle_cb_id = -1;
  self->balloon_cb_id = -1;
  self->backoff_ms = RECONNECT_FIRST_MS;
}

SpiritConnection *
spirit_connection_new (const char *host, const char *uri)
{
  SpiritConnection *self = g_object_new (SPIRIT_TYPE_CONNECTION, NULL);

  self->host = g_strdup (host);
  self->uri = g_strdup (uri);
  return self;
}

/* Releases everything tied to the current connection. Safe to call when not connected. */
static void
spirit_connection_drop (SpiritConnection *self)
{
  if (self->handle != NULL)
    {
      if (self->lifecycle_cb_id >= 0)
        virConnectDomainEventDeregisterAny (self->handle, self->lifecycle_cb_id);
      if (self->balloon_cb_id >= 0)
        virConnectDomainEventDeregisterAny (self->handle, self->balloon_cb_id);
      self->lifecycle_cb_id = -1;
      self->balloon_cb_id = -1;
      virConnectUnregisterCloseCallback (self->handle, on_libvirt_close);
      virResetLastError ();
      virConnectClose (self->handle);
      self->handle = NULL;
    }
  if (self->gvir != NULL)
    {
      gvir_connection_close (self->gvir);
      g_clear_object (&self->gvir);
    }
}

static gboolean
on_reconnect_timeout (gpointer user_data)
{
  SpiritConnection *self = user_data;

  self->reconnect_id = 0;
  spirit_connection_open (self);
  return G_SOURCE_REMOVE;
}

static void
spirit_connection_schedule_reconnect (SpiritConnection *self)
{
  if (self->reconnect_id != 0)
    return;
  g_debug ("Reconnecting to %s in %u ms", self->uri, self->backoff_ms);
  self->reconnect_id = g_timeout_add (self->backoff_ms, on_reconnect_timeout, self);
  self->backoff_ms = MIN (self->backoff_ms * 2, RECONNECT_MAX_MS);
}

static gboolean
on_lost_idle (gpointer user_data)
{
  SpiritConnection *self = user_data;

  self->lost_idle_id = 0;
  if (self->gvir == NULL)
    return G_SOURCE_REMOVE;
  g_message ("Lost the libvirt connection %s", self->uri);
  spirit_connection_drop (self);
  g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0);
  spirit_connection_schedule_reconnect (self);
  return G_SOURCE_REMOVE;
}

/* libvirt calls this from its event dispatch; the connection may not be closed from inside it. */
static void
on_libvirt_close (virConnectPtr conn, int reason, void *opaque)
{
  SpiritConnection *self = opaque;

  g_debug ("libvirt closed %s (reason %d)", self->uri, reason);
  if (self->lost_idle_id == 0)
    self->lost_idle_id = g_idle_add (on_lost_idle, self);
}

static int
on_libvirt_lifecycle (virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
  SpiritConnection *self = opaque;
  g_autoptr (GVirDomain) domain = g_object_new (GVIR_TYPE_DOMAIN, "handle", dom, NULL);

  g_signal_emit (self, signals[SIGNAL_DOMAIN_EVENT], 0, domain, event, detail);
  return 0;
}

/* The guest's balloon moved: the VM's current memory changed. */
static void
on_libvirt_balloon_change (virConnectPtr conn, virDomainPtr dom, unsigned long long actual, void *opaque)
{
  SpiritConnection *self = opaque;
  g_autoptr (GVirDomain) domain = g_object_new (GVIR_TYPE_DOMAIN, "handle", dom, NULL);

  g_signal_emit (self, signals[SIGNAL_DOMAIN_EVENT], 0, domain, SPIRIT_CONNECTION_EVENT_BALLOON, 0);
}

static void
on_open_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SpiritConnection) self = user_data;
  g_autoptr (GVirConnection) gvir = GVIR_CONNECTION (source);
  g_autoptr (GError) error = NULL;

  self->opening = FALSE;
  if (!gvir_connection_open_finish (gvir, result, &error))
    {
      g_message ("Could not connect to %s: %s", self->uri, error->message);
      spirit_connection_schedule_reconnect (self);
      return;
    }

  self->gvir = g_steal_pointer (&gvir);
  g_object_get (self->gvir, "handle", &self->handle, NULL);
  if (virConnectRegisterCloseCallback (self->handle, on_libvirt_close, self, NULL) < 0)
    g_debug ("%s has no close callback; a lost daemon is noticed on the next call", self->uri);
  if (virConnectSetKeepAlive (self->handle, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) < 0)
    g_debug ("%s does not support keepalive", self->uri);
  self->lifecycle_cb_id =
    virConnectDomainEventRegisterAny (self->handle, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                      VIR_DOMAIN_EVENT_CALLBACK (on_libvirt_lifecycle), self, NULL);
  self->balloon_cb_id =
    virConnectDomainEventRegisterAny (self->handle, NULL, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                      VIR_DOMAIN_EVENT_CALLBACK (on_libvirt_balloon_change), self, NULL);
  if (self->lifecycle_cb_id < 0)
    g_warning ("Could not subscribe to lifecycle events of %s: VM states will not follow changes "
               "made outside Spirit",
               self->uri);
  virResetLastError ();

  self->backoff_ms = RECONNECT_FIRST_MS;
  g_message ("Connected to %s", self->uri);
  g_signal_emit (self, signals[SIGNAL_CONNECTED], 0);
}

static void
spirit_connection_open (SpiritConnection *self)
{
  GVirConnection *gvir;

  if (self->gvir != NULL || self->opening)
    return;
  self->opening = TRUE;
  gvir = gvir_connection_new (self->uri);
  gvir_connection_open_async (gvir, NULL, on_open_done, g_object_ref (self));
}

void
spirit_connection_start (SpiritConnection *self)
{
  g_return_if_fail (SPIRIT_IS_CONNECTION (self));
  spirit_connection_open (self);
}

const char *
spirit_connection_get_host (SpiritConnection *self)
{
  return self->host;
}

const char *
spirit_connection_get_uri (SpiritConnection *self)
{
  return self->uri;
}

gboolean
spirit_connection_is_connected (SpiritConnection *self)
{
  return self->gvir != NULL;
}

GVirConnection *
spirit_connection_get_gvir (SpiritConnection *self)
{
  return self->gvir;
}
