/* spirit-manager.h: the service's object tree and its hosts.
 *
 * Exports org.crom.Spirit.Manager on /org/crom/Spirit, which is also the ObjectManager of every
 * VM object of every host, and answers name lookups across hosts.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-auth.h"
#include "spirit-config.h"

G_BEGIN_DECLS

#define SPIRIT_OBJECT_ROOT "/org/crom/Spirit"
#define SPIRIT_VM_NAME_MAX 1024

#define SPIRIT_TYPE_MANAGER (spirit_manager_get_type ())
G_DECLARE_FINAL_TYPE (SpiritManager, spirit_manager, SPIRIT, MANAGER, GObject)

SpiritManager *spirit_manager_new (GDBusConnection *bus, SpiritAuth *auth, const SpiritConfig *config);
gboolean spirit_manager_export (SpiritManager *self, GError **error);
void spirit_manager_start (SpiritManager *self);
/* Finds a VM by "name", "UUID" or "HOST/NAME"; a registered error names what exists. */
struct _SpiritVm *spirit_manager_lookup (SpiritManager *self, const char *name, GError **error);

G_END_DECLS
