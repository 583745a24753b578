/* spirit-manager.h: the service's object tree.
 *
 * Exports org.crom.Spirit.Manager on /org/crom/Spirit, which is also the ObjectManager of every
 * VM object, and keeps the set of VM objects equal to the set of libvirt domains across events,
 * disconnects and reconnects.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-auth.h"

G_BEGIN_DECLS

#define SPIRIT_OBJECT_ROOT "/org/crom/Spirit"
#define SPIRIT_VM_NAME_MAX 1024

#define SPIRIT_TYPE_MANAGER (spirit_manager_get_type ())
G_DECLARE_FINAL_TYPE (SpiritManager, spirit_manager, SPIRIT, MANAGER, GObject)

SpiritManager *spirit_manager_new (GDBusConnection *bus, SpiritAuth *auth, const char *uri);
gboolean spirit_manager_export (SpiritManager *self, GError **error);
void spirit_manager_start (SpiritManager *self);

G_END_DECLS
