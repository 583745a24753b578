/* nexus-client.h: the HUD's connection to org.crom.Spirit.
 *
 * A NexusClient owns a bus connection, watches the service's name and keeps a GListModel of
 * NexusVm that follows the service's object manager: VMs appear, disappear and change state as
 * spiritd announces it, without polling. When the service goes away the model empties and the
 * status says so; when it comes back (a restart, or D-Bus activation) everything is rebuilt.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-dbus-generated.h"

G_BEGIN_DECLS

#define NEXUS_BUS_NAME "org.crom.Spirit"
#define NEXUS_OBJECT_ROOT "/org/crom/Spirit"

typedef enum
{
  NEXUS_CLIENT_CONNECTING, /* opening the bus connection */
  NEXUS_CLIENT_NO_BUS,     /* the bus is unreachable; error-message says why, a retry is pending */
  NEXUS_CLIENT_NO_SERVICE, /* nobody owns org.crom.Spirit */
  NEXUS_CLIENT_LOADING,    /* the service is there and its objects are being fetched */
  NEXUS_CLIENT_READY,      /* the VM model follows the service */
} NexusClientStatus;

#define NEXUS_TYPE_CLIENT_STATUS (nexus_client_status_get_type ())
GType nexus_client_status_get_type (void);

#define NEXUS_TYPE_CLIENT (nexus_client_get_type ())
G_DECLARE_FINAL_TYPE (NexusClient, nexus_client, NEXUS, CLIENT, GObject)

/* address wins over bus_type; both as spiritctl: --address, $SPIRIT_BUS_ADDRESS, --session. */
NexusClient *nexus_client_new (GBusType bus_type, const char *address);
void nexus_client_start (NexusClient *self);

NexusClientStatus nexus_client_get_status (NexusClient *self);
const char *nexus_client_get_error_message (NexusClient *self);
GListModel *nexus_client_get_vms (NexusClient *self);
/* SpiritDBusGpu proxies (org.crom.Spirit.GPU), by PCI address; empty without the service. */
GListModel *nexus_client_get_gpus (NexusClient *self);
gboolean nexus_client_get_libvirt_down (NexusClient *self);
const char *nexus_client_get_uri (NexusClient *self);
const char *nexus_client_get_version (NexusClient *self);
/* The connection the service is reached on, or NULL while there is none. */
GDBusConnection *nexus_client_get_bus (NexusClient *self);

void nexus_client_start_service_async (NexusClient *self,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data);
gboolean
nexus_client_start_service_finish (NexusClient *self, GAsyncResult *result, GError **error);

G_END_DECLS
