/* spirit-object-tree.c: exported skeletons, their cached properties, and the ObjectManager. */
#define G_LOG_DOMAIN "spirit-object-tree"

#include "spirit-object-tree.h"

#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"

/* Three levels of cache, each dropped when something below it changes: an interface's
 * properties, an object's {path: interfaces} entry, and the whole GetManagedObjects reply. */
typedef struct _SpiritTreeObject SpiritTreeObject;

typedef struct
{
  SpiritObjectTree *tree;
  SpiritTreeObject *object;
  GDBusInterfaceSkeleton *skeleton;
  GVariant *properties; /* a{sv}, NULL when a property changed since it was built */
  gulong notify_id;
} SpiritTreeInterface;

struct _SpiritTreeObject
{
  char *path;
  GPtrArray *interfaces; /* SpiritTreeInterface* */
  GVariant *entry;       /* {oa{sa{sv}}} */
};

struct _SpiritObjectTree
{
  char *root;
  GDBusConnection *bus;
  guint registration_id;
  GHashTable *objects; /* path → SpiritTreeObject */
  GVariant *reply;     /* (a{oa{sa{sv}}}) */
};

static const char object_manager_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.DBus.ObjectManager'>"
  "    <method name='GetManagedObjects'>"
  "      <arg type='a{oa{sa{sv}}}' name='object_paths_interfaces_and_properties' direction='out'/>"
  "    </method>"
  "    <signal name='InterfacesAdded'>"
  "      <arg type='o' name='object_path'/>"
  "      <arg type='a{sa{sv}}' name='interfaces_and_properties'/>"
  "    </signal>"
  "    <signal name='InterfacesRemoved'>"
  "      <arg type='o' name='object_path'/>"
  "      <arg type='as' name='interfaces'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

static void
on_property_notify (GObject *skeleton, GParamSpec *pspec, gpointer user_data)
{
  SpiritTreeInterface *iface = user_data;

  g_clear_pointer (&iface->properties, g_variant_unref);
  g_clear_pointer (&iface->object->entry, g_variant_unref);
  g_clear_pointer (&iface->tree->reply, g_variant_unref);
}

static void
spirit_tree_interface_free (SpiritTreeInterface *iface)
{
  g_clear_signal_handler (&iface->notify_id, iface->skeleton);
  if (g_dbus_interface_skeleton_get_connection (iface->skeleton) != NULL)
    g_dbus_interface_skeleton_unexport (iface->skeleton);
  g_clear_pointer (&iface->properties, g_variant_unref);
  g_object_unref (iface->skeleton);
  g_free (iface);
}

static void
spirit_tree_object_free (SpiritTreeObject *object)
{
  g_ptr_array_unref (object->interfaces);
  g_clear_pointer (&object->entry, g_variant_unref);
  g_free (object->path);
  g_free (object);
}

/* The interface's properties, serialized once and reused until one of them changes. */
static GVariant *
spirit_tree_interface_properties (SpiritTreeInterface *iface)
{
  if (iface->properties == NULL)
    {
      iface->properties = g_variant_ref_sink (g_dbus_interface_skeleton_get_properties (iface->skeleton));
      (void) g_variant_get_data (iface->properties); /* serialize now, not at every use */
    }
  return iface->properties;
}

static GVariant *
spirit_tree_object_entry (SpiritTreeObject *object);

static GVariant *
spirit_tree_object_interfaces (SpiritTreeObject *object)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sa{sv}}"));
  for (guint i = 0; i < object->interfaces->len; i++)
    {
      SpiritTreeInterface *iface = g_ptr_array_index (object->interfaces, i);
      g_variant_builder_add (&builder, "{s@a{sv}}",
                             g_dbus_interface_skeleton_get_info (iface->skeleton)->name,
                             spirit_tree_interface_properties (iface));
    }
  return g_variant_builder_end (&builder);
}

static GVariant *
spirit_tree_object_entry (SpiritTreeObject *object)
{
  if (object->entry == NULL)
    {
      object->entry = g_variant_ref_sink (g_variant_new ("{o@a{sa{sv}}}", object->path,
                                                         spirit_tree_object_interfaces (object)));
      (void) g_variant_get_data (object->entry);
    }
  return object->entry;
}

static void
spirit_object_tree_emit (SpiritObjectTree *tree, const char *signal, GVariant *params)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (params);

  if (tree->bus == NULL)
    return;
  g_dbus_connection_emit_signal (tree->bus, NULL, tree->root, OBJECT_MANAGER_IFACE, signal, owned, NULL);
}

static void
on_method_call (GDBusConnection *bus,
                const char *sender,
                const char *path,
                const char *interface_name,
                const char *method_name,
                GVariant *parameters,
                GDBusMethodInvocation *invocation,
                gpointer user_data)
{
  SpiritObjectTree *tree = user_data;

  if (tree->reply == NULL)
    {
      GVariantBuilder builder;
      GHashTableIter iter;
      gpointer value;

      g_variant_builder_init (&builder, G_VARIANT_TYPE ("(a{oa{sa{sv}}})"));
      g_variant_builder_open (&builder, G_VARIANT_TYPE ("a{oa{sa{sv}}}"));
      g_hash_table_iter_init (&iter, tree->objects);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_variant_builder_add_value (&builder, spirit_tree_object_entry (value));
      g_variant_builder_close (&builder);
      tree->reply = g_variant_ref_sink (g_variant_builder_end (&builder));
      (void) g_variant_get_data (tree->reply);
    }
  g_dbus_method_invocation_return_value (invocation, tree->reply);
}

static const GDBusInterfaceVTable object_manager_vtable = { on_method_call, NULL, NULL, { 0 } };

SpiritObjectTree *
spirit_object_tree_new (const char *root_path)
{
  SpiritObjectTree *tree = g_new0 (SpiritObjectTree, 1);

  tree->root = g_strdup (root_path);
  tree->objects = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) spirit_tree_object_free);
  return tree;
}

void
spirit_object_tree_free (SpiritObjectTree *tree)
{
  if (tree == NULL)
    return;
  g_hash_table_unref (tree->objects);
  g_clear_pointer (&tree->reply, g_variant_unref);
  if (tree->registration_id != 0)
    g_dbus_connection_unregister_object (tree->bus, tree->registration_id);
  g_clear_object (&tree->bus);
  g_free (tree->root);
  g_free (tree);
}

static void
spirit_tree_interface_export (SpiritObjectTree *tree, const char *path, SpiritTreeInterface *iface)
{
  g_autoptr (GError) error = NULL;

  if (!g_dbus_interface_skeleton_export (iface->skeleton, tree->bus, path, &error))
    g_critical ("Could not export %s on %s: %s", g_dbus_interface_skeleton_get_info (iface->skeleton)->name,
                path, error->message);
}

gboolean
spirit_object_tree_set_connection (SpiritObjectTree *tree, GDBusConnection *bus, GError **error)
{
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (object_manager_xml, error);
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (tree->bus == NULL, FALSE);
  if (info == NULL)
    return FALSE;
  tree->registration_id = g_dbus_connection_register_object (bus, tree->root, info->interfaces[0],
                                                             &object_manager_vtable, tree, NULL, error);
  if (tree->registration_id == 0)
    return FALSE;
  tree->bus = g_object_ref (bus);

  g_hash_table_iter_init (&iter, tree->objects);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      SpiritTreeObject *object = value;
      for (guint i = 0; i < object->interfaces->len; i++)
        spirit_tree_interface_export (tree, object->path, g_ptr_array_index (object->interfaces, i));
    }
  return TRUE;
}

void
spirit_object_tree_add (SpiritObjectTree *tree, const char *path, GDBusInterfaceSkeleton *skeleton)
{
  SpiritTreeObject *object = g_hash_table_lookup (tree->objects, path);
  SpiritTreeInterface *iface = g_new0 (SpiritTreeInterface, 1);
  GVariantBuilder added;

  g_return_if_fail (g_str_has_prefix (path, tree->root) && path[strlen (tree->root)] == '/');

  if (object == NULL)
    {
      object = g_new0 (SpiritTreeObject, 1);
      object->path = g_strdup (path);
      object->interfaces = g_ptr_array_new_with_free_func ((GDestroyNotify) spirit_tree_interface_free);
      g_hash_table_insert (tree->objects, object->path, object);
    }
  iface->tree = tree;
  iface->object = object;
  g_clear_pointer (&object->entry, g_variant_unref);
  g_clear_pointer (&tree->reply, g_variant_unref);
  iface->skeleton = g_object_ref (skeleton);
  iface->notify_id = g_signal_connect (skeleton, "notify", G_CALLBACK (on_property_notify), iface);
  g_ptr_array_add (object->interfaces, iface);

  if (tree->bus == NULL)
    return;
  spirit_tree_interface_export (tree, path, iface);
  g_variant_builder_init (&added, G_VARIANT_TYPE ("a{sa{sv}}"));
  g_variant_builder_add (&added, "{s@a{sv}}", g_dbus_interface_skeleton_get_info (skeleton)->name,
                         spirit_tree_interface_properties (iface));
  spirit_object_tree_emit (tree, "InterfacesAdded", g_variant_new ("(o@a{sa{sv}})", path,
                                                                    g_variant_builder_end (&added)));
}

void
spirit_object_tree_remove (SpiritObjectTree *tree, const char *path)
{
  SpiritTreeObject *object = g_hash_table_lookup (tree->objects, path);
  g_autoptr (GPtrArray) names = NULL;

  if (object == NULL)
    return;
  names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < object->interfaces->len; i++)
    {
      SpiritTreeInterface *iface = g_ptr_array_index (object->interfaces, i);
      g_ptr_array_add (names, g_strdup (g_dbus_interface_skeleton_get_info (iface->skeleton)->name));
    }
  g_ptr_array_add (names, NULL);
  /* Unexported (by the free function) before the signal, so nobody calls a removed object. */
  g_hash_table_remove (tree->objects, path);
  g_clear_pointer (&tree->reply, g_variant_unref);
  spirit_object_tree_emit (tree, "InterfacesRemoved",
                           g_variant_new ("(o^as)", path, (char **) names->pdata));
}
