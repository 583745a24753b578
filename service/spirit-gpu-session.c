/* spirit-gpu-session.c: logind inhibitors and seat sessions, systemd jobs with JobRemoved. */
#define G_LOG_DOMAIN "spirit-gpu-session"

#include "spirit-gpu-session.h"
#include "spirit-error.h"

#include <gio/gunixfdlist.h>

#define LOGIND_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER "org.freedesktop.login1.Manager"
#define LOGIND_SESSION "org.freedesktop.login1.Session"
#define SYSTEMD_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT "org.freedesktop.systemd1.Unit"
#define CALL_TIMEOUT_MS 25000

/* The manager's bus name: none on a direct connection (its private socket). */
static const char *
systemd_name (GDBusConnection *manager)
{
  return g_dbus_connection_get_unique_name (manager) != NULL ? SYSTEMD_NAME : NULL;
}

void
spirit_seat_session_free (SpiritSeatSession *session)
{
  g_free (session->id);
  g_free (session->user);
  g_free (session->type);
  g_free (session->klass);
  g_free (session->state);
  g_free (session);
}

gboolean
spirit_seat_session_is_graphical (const SpiritSeatSession *session)
{
  return (g_strcmp0 (session->type, "x11") == 0 || g_strcmp0 (session->type, "wayland") == 0
          || g_strcmp0 (session->type, "mir") == 0)
         && g_strcmp0 (session->state, "closing") != 0;
}

int
spirit_logind_inhibit (GDBusConnection *system_bus,
                       const char *what,
                       const char *why,
                       GError **error)
{
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GVariant) reply = NULL;
  gint32 index;

  reply = g_dbus_connection_call_with_unix_fd_list_sync (
    system_bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "Inhibit",
    g_variant_new ("(ssss)", what, "Spirit", why, "block"), G_VARIANT_TYPE ("(h)"),
    G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &fds, NULL, error);
  if (reply == NULL)
    return -1;
  g_variant_get (reply, "(h)", &index);
  if (fds == NULL || index < 0 || index >= g_unix_fd_list_get_length (fds))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "logind returned no inhibitor descriptor");
      return -1;
    }
  return g_unix_fd_list_get (fds, index, error);
}

static GVariant *
get_property (GDBusConnection *bus,
              const char *name,
              const char *path,
              const char *iface,
              const char *prop,
              GError **error)
{
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    bus, name, path, "org.freedesktop.DBus.Properties", "Get", g_variant_new ("(ss)", iface, prop),
    G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, error);
  GVariant *value = NULL;

  if (reply != NULL)
    g_variant_get (reply, "(v)", &value);
  return value;
}

static char *
get_string_property (GDBusConnection *bus, const char *path, const char *prop)
{
  g_autoptr (GVariant) value = get_property (bus, LOGIND_NAME, path, LOGIND_SESSION, prop, NULL);

  return value && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
           ? g_variant_dup_string (value, NULL)
           : g_strdup ("");
}

GPtrArray *
spirit_logind_list_seat_sessions (GDBusConnection *system_bus, const char *seat, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (GPtrArray) sessions
    = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_seat_session_free);
  const char *id, *user, *session_seat, *path;
  guint32 uid;

  reply = g_dbus_connection_call_sync (system_bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER,
                                       "ListSessions", NULL, G_VARIANT_TYPE ("(a(susso))"),
                                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(a(susso))", &iter);
  while (g_variant_iter_next (iter, "(&su&s&s&o)", &id, &uid, &user, &session_seat, &path))
    {
      SpiritSeatSession *session;
      g_autoptr (GVariant) active = NULL;

      if (g_strcmp0 (session_seat, seat) != 0)
        continue;
      session = g_new0 (SpiritSeatSession, 1);
      session->id = g_strdup (id);
      session->uid = uid;
      session->user = g_strdup (user);
      session->type = get_string_property (system_bus, path, "Type");
      session->klass = get_string_property (system_bus, path, "Class");
      session->state = get_string_property (system_bus, path, "State");
      active = get_property (system_bus, LOGIND_NAME, path, LOGIND_SESSION, "Active", NULL);
      session->active = active && g_variant_is_of_type (active, G_VARIANT_TYPE_BOOLEAN)
                        && g_variant_get_boolean (active);
      g_ptr_array_add (sessions, session);
    }
  return g_steal_pointer (&sessions);
}

GDBusConnection *
spirit_gpu_user_manager_connect (const char *address,
                                 const char *runtime_dir,
                                 guint uid,
                                 GError **error)
{
  g_autofree char *own_dir = runtime_dir ? NULL : g_strdup_printf ("/run/user/%u", uid);
  g_autofree char *private_socket = NULL;
  g_autofree char *bus = NULL;
  g_autoptr (GError) private_error = NULL;
  GDBusConnection *connection;

  if (address != NULL)
    return g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
        | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, error);
  /* The user manager's own socket: a direct connection that systemd accepts from root, and
   * that exists whether or not the user runs a D-Bus daemon. */
  private_socket
    = g_strdup_printf ("unix:path=%s/systemd/private", runtime_dir ? runtime_dir : own_dir);
  connection = g_dbus_connection_new_for_address_sync (
    private_socket, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL, &private_error);
  if (connection != NULL)
    return connection;
  /* Else the user's bus, where the manager is org.freedesktop.systemd1. */
  g_debug ("No private socket of the user manager of %u (%s); trying the user's bus", uid,
           private_error->message);
  bus = g_strdup_printf ("unix:path=%s/bus", runtime_dir ? runtime_dir : own_dir);
  return g_dbus_connection_new_for_address_sync (bus,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                   | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, error);
}

gboolean
spirit_systemd_unit_is_active (GDBusConnection *manager,
                               const char *unit,
                               gboolean *active,
                               GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) state = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *path;

  *active = FALSE;
  reply
    = g_dbus_connection_call_sync (manager, systemd_name (manager), SYSTEMD_PATH, SYSTEMD_MANAGER,
                                   "GetUnit", g_variant_new ("(s)", unit), G_VARIANT_TYPE ("(o)"),
                                   G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &local_error);
  if (reply == NULL)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (local_error);
      /* Not loaded: not running either. */
      if (g_strcmp0 (remote, "org.freedesktop.systemd1.NoSuchUnit") == 0)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_variant_get (reply, "(&o)", &path);
  state = get_property (manager, systemd_name (manager), path, SYSTEMD_UNIT, "ActiveState", error);
  if (state == NULL)
    return FALSE;
  *active = g_strcmp0 (g_variant_get_string (state, NULL), "active") == 0
            || g_strcmp0 (g_variant_get_string (state, NULL), "activating") == 0
            || g_strcmp0 (g_variant_get_string (state, NULL), "reloading") == 0;
  return TRUE;
}

typedef struct
{
  GHashTable *removed; /* job path → result */
  gboolean timed_out;
} SpiritJobWait;

static void
on_job_removed (GDBusConnection *bus,
                const char *sender,
                const char *path,
                const char *iface,
                const char *signal,
                GVariant *params,
                gpointer user_data)
{
  SpiritJobWait *wait = user_data;
  const char *job, *unit, *result;
  guint32 id;

  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(uoss)")))
    return;
  g_variant_get (params, "(u&o&s&s)", &id, &job, &unit, &result);
  g_hash_table_insert (wait->removed, g_strdup (job), g_strdup (result));
}

static gboolean
on_job_timeout (gpointer user_data)
{
  ((SpiritJobWait *)user_data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
spirit_systemd_run_job (
  GDBusConnection *manager, const char *method, const char *unit, guint timeout_ms, GError **error)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GSource) timeout = NULL;
  SpiritJobWait wait = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), FALSE };
  const char *job = NULL;
  const char *result;
  guint subscription;
  gboolean ok = FALSE;

  g_main_context_push_thread_default (context);
  /* Subscribed before the call: the job may end before its reply arrives. */
  subscription = g_dbus_connection_signal_subscribe (manager, NULL, SYSTEMD_MANAGER, "JobRemoved",
                                                     SYSTEMD_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_job_removed, &wait, NULL);
  /* systemd sends job signals only to subscribed clients; a manager without Subscribe is fine. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = g_dbus_connection_call_sync (manager, systemd_name (manager), SYSTEMD_PATH,
                                       SYSTEMD_MANAGER, "Subscribe", NULL, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, NULL);
  g_clear_pointer (&reply, g_variant_unref);
  reply = g_dbus_connection_call_sync (
    manager, systemd_name (manager), SYSTEMD_PATH, SYSTEMD_MANAGER, method,
    g_variant_new ("(ss)", unit, "replace"), G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE,
    CALL_TIMEOUT_MS, NULL, error);
  if (reply == NULL)
    goto out;
  g_variant_get (reply, "(&o)", &job);

  timeout = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timeout, on_job_timeout, &wait, NULL);
  g_source_attach (timeout, context);
  while (!g_hash_table_contains (wait.removed, job) && !wait.timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);

  result = g_hash_table_lookup (wait.removed, job);
  if (result == NULL)
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_TIMEOUT,
                 "The %s job of %s did not end within %.1f s", method, unit, timeout_ms / 1000.0);
  else if (!g_str_equal (result, "done"))
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "The %s job of %s ended with \"%s\"",
                 method, unit, result);
  else
    ok = TRUE;

out:
  g_dbus_connection_signal_unsubscribe (manager, subscription);
  /* Let the unsubscription's pending callbacks go before the context does. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_hash_table_unref (wait.removed);
  return ok;
}
