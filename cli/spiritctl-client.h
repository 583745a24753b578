/* spiritctl-client.h: how spiritctl reaches spiritd: the bus, the generated proxies, errors.
 *
 * Every command goes through the same code generated from the interface XML in dbus/ that the HUD uses.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-dbus-generated.h"

G_BEGIN_DECLS

#define SPIRIT_BUS_NAME "org.crom.Spirit"
#define SPIRIT_OBJECT_ROOT "/org/crom/Spirit"

typedef struct
{
  GDBusConnection *bus;
  gboolean json;
} SpiritctlClient;

gboolean spiritctl_client_connect (SpiritctlClient *client,
                                   gboolean session,
                                   const char *address,
                                   GError **error);
void spiritctl_client_clear (SpiritctlClient *client);

SpiritDBusManager *spiritctl_client_get_manager (SpiritctlClient *client, GError **error);
GDBusObjectManager *spiritctl_client_get_objects (SpiritctlClient *client, GError **error);
SpiritDBusVm *spiritctl_client_get_vm (SpiritctlClient *client, const char *name, GError **error);

/* Calls a VM method as the user would: no client-side timeout (the service always replies, and a
 * graceful shutdown or a snapshot may take minutes) and polkit may ask for a password. */
GVariant *spiritctl_client_call_vm (SpiritDBusVm *vm,
                                    const char *method,
                                    GVariant *args,
                                    GError **error);

/* Prints "spiritctl: message" without the remote error prefix and returns the exit code. */
int spiritctl_client_fail (const GError *error);

G_END_DECLS
