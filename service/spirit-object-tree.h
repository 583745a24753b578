/* spirit-object-tree.h: the objects below /org/crom/Spirit and the ObjectManager over them.
 *
 * Does what GDBusObjectManagerServer does (export interface skeletons per object path, answer
 * GetManagedObjects, emit InterfacesAdded/Removed), but keeps each interface's properties as a
 * ready-made a{sv} that is rebuilt only when a property changes. GetManagedObjects of a
 * thousand VMs is then a concatenation of cached, already serialized values, instead of
 * converting every property of every object on every call.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SpiritObjectTree SpiritObjectTree;

SpiritObjectTree *spirit_object_tree_new (const char *root_path);
void spirit_object_tree_free (SpiritObjectTree *tree);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritObjectTree, spirit_object_tree_free)

/* Registers org.freedesktop.DBus.ObjectManager on the root path and exports everything added
 * so far. Objects added later are exported at once. */
gboolean spirit_object_tree_set_connection (SpiritObjectTree *tree, GDBusConnection *bus, GError **error);

/* Adds one interface to the object at path (below the root), exporting it if connected. */
void spirit_object_tree_add (SpiritObjectTree *tree, const char *path, GDBusInterfaceSkeleton *iface);
/* Removes the object at path with all its interfaces. */
void spirit_object_tree_remove (SpiritObjectTree *tree, const char *path);

G_END_DECLS
