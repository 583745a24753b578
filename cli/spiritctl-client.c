/* spiritctl-client.c: connecting to spiritd and finding VMs. */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-client.h"
#include "spirit-error.h"

#include <glib/gi18n.h>

gboolean
spiritctl_client_connect (SpiritctlClient *client,
                          gboolean session,
                          const char *address,
                          GError **error)
{
  (void) SPIRIT_ERROR; /* so remote errors come back as SPIRIT_ERROR codes */

  if (address == NULL)
    address = g_getenv ("SPIRIT_BUS_ADDRESS");
  if (address != NULL && address[0] != '\0')
    client->bus = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, error);
  else
    client->bus = g_bus_get_sync (session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, NULL, error);
  return client->bus != NULL;
}

void
spiritctl_client_clear (SpiritctlClient *client)
{
  g_clear_object (&client->bus);
}

SpiritDBusManager *
spiritctl_client_get_manager (SpiritctlClient *client, GError **error)
{
  return spirit_dbus_manager_proxy_new_sync (client->bus, G_DBUS_PROXY_FLAGS_NONE, SPIRIT_BUS_NAME,
                                             SPIRIT_OBJECT_ROOT, NULL, error);
}

static gboolean
service_is_running (SpiritctlClient *client, GError **error)
{
  g_autoptr (SpiritDBusManager) manager = spiritctl_client_get_manager (client, error);
  g_autofree char *owner = NULL;

  if (manager == NULL)
    return FALSE;
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (manager));
  if (owner == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                   _("The Spirit service is not running (nobody owns %s on this bus)"),
                   SPIRIT_BUS_NAME);
      return FALSE;
    }
  return TRUE;
}

GDBusObjectManager *
spiritctl_client_get_objects (SpiritctlClient *client, GError **error)
{
  /* The Manager proxy starts the service through D-Bus activation if needed. */
  if (!service_is_running (client, error))
    return NULL;
  return spirit_object_manager_client_new_sync (client->bus, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE,
                                                SPIRIT_BUS_NAME, SPIRIT_OBJECT_ROOT, NULL, error);
}

SpiritDBusVm *
spiritctl_client_get_vm (SpiritctlClient *client, const char *name, GError **error)
{
  g_autoptr (SpiritDBusManager) manager = NULL;
  g_autofree char *path = NULL;

  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           _("The VM name is not valid UTF-8"));
      return NULL;
    }
  manager = spiritctl_client_get_manager (client, error);
  if (manager == NULL)
    return NULL;
  if (!spirit_dbus_manager_call_get_vm_sync (manager, name, &path, NULL, error))
    return NULL;
  return spirit_dbus_vm_proxy_new_sync (client->bus, G_DBUS_PROXY_FLAGS_NONE, SPIRIT_BUS_NAME, path,
                                        NULL, error);
}

GVariant *
spiritctl_client_call_vm (SpiritDBusVm *vm, const char *method, GVariant *args, GError **error)
{
  return g_dbus_proxy_call_sync (G_DBUS_PROXY (vm), method, args,
                                 G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, NULL,
                                 error);
}

int
spiritctl_client_fail (const GError *error)
{
  g_autoptr (GError) copy = g_error_copy (error);

  g_dbus_error_strip_remote_error (copy);
  g_printerr ("spiritctl: %s\n", copy->message);
  return 1;
}
