/* spirit-connection.h: one libvirt connection that stays up.
 *
 * Opens the connection off the main thread, notices when libvirtd goes away (close callback,
 * keepalive), reopens it with a capped back-off, and turns libvirt's domain lifecycle events into
 * a GObject signal. It knows nothing of D-Bus.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt-gobject/libvirt-gobject.h>

G_BEGIN_DECLS

#define SPIRIT_TYPE_CONNECTION (spirit_connection_get_type ())
G_DECLARE_FINAL_TYPE (SpiritConnection, spirit_connection, SPIRIT, CONNECTION, GObject)

/* The "domain-event" signal carries (GVirDomain*, event, detail): a virDomainEventType for
 * lifecycle events, or this value for a balloon change. */
#define SPIRIT_CONNECTION_EVENT_BALLOON 1000

SpiritConnection *spirit_connection_new (const char *host, const char *uri);
void spirit_connection_start (SpiritConnection *self);

const char *spirit_connection_get_host (SpiritConnection *self);
const char *spirit_connection_get_uri (SpiritConnection *self);
gboolean spirit_connection_is_connected (SpiritConnection *self);
/* NULL while disconnected. */
GVirConnection *spirit_connection_get_gvir (SpiritConnection *self);

G_END_DECLS
