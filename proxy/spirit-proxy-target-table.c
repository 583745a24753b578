/* spirit-proxy-target-table.c: aliases and the service's VMs in one table (see the header). */
#define G_LOG_DOMAIN "spirit-proxy-target-table"

#include "spirit-proxy-target-table.h"
#include "spirit-proxy-aliases.h"

static SpiritTargetOs
os_of_vm (SpiritDBusVm *vm)
{
  g_autoptr (GVariant) os = NULL;
  SpiritTargetOs result = SPIRIT_TARGET_OS_UNKNOWN;

  /* GuestOS is what the VM's agent said in its hello; older services do not have it. */
  os = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (vm), "GuestOS");
  if (os != NULL && g_variant_is_of_type (os, G_VARIANT_TYPE_STRING))
    spirit_target_os_from_string (g_variant_get_string (os, NULL), &result);
  return result;
}

SpiritProxyTargets *
spirit_proxy_targets_new_for_vms (GPtrArray *vms, GError **error)
{
  g_autoptr (SpiritProxyTargets) targets = spirit_proxy_targets_new ();
  g_autoptr (GPtrArray) aliases = spirit_proxy_aliases_load_default (error);
  /* VM name and HOST/NAME → its OS, in the service's order */
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) os_by_vm = g_hash_table_new (g_str_hash, g_str_equal);

  if (aliases == NULL)
    return NULL;
  for (guint i = 0; i < vms->len; i++)
    {
      SpiritDBusVm *vm = g_ptr_array_index (vms, i);
      SpiritTargetOs os = os_of_vm (vm);
      char *name = g_strdup (spirit_dbus_vm_get_name (vm));
      char *qualified = g_strdup_printf ("%s/%s", spirit_dbus_vm_get_host (vm), name);

      g_ptr_array_add (names, name);
      g_ptr_array_add (names, qualified);
      g_hash_table_insert (os_by_vm, name, GINT_TO_POINTER (os));
      g_hash_table_insert (os_by_vm, qualified, GINT_TO_POINTER (os));
    }
  /* Aliases first: one that is also a VM's name wins, as configured. */
  for (guint i = 0; i < aliases->len; i++)
    {
      SpiritProxyAlias *alias = g_ptr_array_index (aliases, i);
      SpiritTargetOs os = alias->os;

      if (os == SPIRIT_TARGET_OS_UNKNOWN)
        os = GPOINTER_TO_INT (g_hash_table_lookup (os_by_vm, alias->vm));
      if (!spirit_proxy_targets_add (targets, alias->name, alias->vm, os, error))
        return NULL;
    }
  /* A name two hosts share is added once; GetVM says it is ambiguous if it is used. */
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      const char *known = NULL;

      if (!spirit_proxy_targets_lookup (targets, name, &known, NULL) || g_strcmp0 (known, name) != 0)
        spirit_proxy_targets_add (targets, name, name,
                                  GPOINTER_TO_INT (g_hash_table_lookup (os_by_vm, name)), NULL);
    }
  return g_steal_pointer (&targets);
}
