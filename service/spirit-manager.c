/* spirit-manager.c: org.crom.Spirit.Manager, and the hosts behind it.
 *
 * Each host (spirit-host.c) keeps its own VM objects in the shared object manager; this file
 * aggregates their connection state and resolves "name", "UUID" and "host/name" to a VM.
 */
#define G_LOG_DOMAIN "spirit-manager"

#include "spirit-manager.h"
#include "spirit-dbus-generated.h"
#include "spirit-error.h"
#include "spirit-gpu-service.h"
#include "spirit-host.h"
#include "spirit-manager-define.h"
#include "spirit-proxy.h"
#include "spirit-vm.h"

struct _SpiritManager
{
  GObject parent_instance;

  GDBusConnection *bus;
  SpiritAuth *auth;
  SpiritObjectTree *tree; /* every VM object of every host */
  SpiritDBusManager *iface;
  GPtrArray *hosts; /* SpiritHost*, in configuration order */
  SpiritGpuService *gpus; /* the GPU objects, in the same tree */
  SpiritProxy *proxy; /* org.crom.Spirit.Proxy, on the root object too */
};

G_DEFINE_FINAL_TYPE (SpiritManager, spirit_manager, G_TYPE_OBJECT)

static void
spirit_manager_dispose (GObject *object)
{
  SpiritManager *self = SPIRIT_MANAGER (object);

  g_clear_object (&self->gpus);
  g_clear_pointer (&self->proxy, spirit_proxy_free);
  g_clear_pointer (&self->hosts, g_ptr_array_unref);
  g_clear_pointer (&self->tree, spirit_object_tree_free);
  g_clear_object (&self->iface);
  g_clear_object (&self->auth);
  g_clear_object (&self->bus);
  G_OBJECT_CLASS (spirit_manager_parent_class)->dispose (object);
}

static void
spirit_manager_class_init (SpiritManagerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = spirit_manager_dispose;
}

static void
spirit_manager_init (SpiritManager *self)
{
  self->hosts = g_ptr_array_new_with_free_func (g_object_unref);
}

static SpiritHost *
spirit_manager_find_host (SpiritManager *self, const char *name)
{
  for (guint i = 0; i < self->hosts->len; i++)
    if (g_str_equal (spirit_host_get_name (g_ptr_array_index (self->hosts, i)), name))
      return g_ptr_array_index (self->hosts, i);
  return NULL;
}

static void
on_host_connected_changed (SpiritHost *host, GParamSpec *pspec, gpointer user_data)
{
  SpiritManager *self = user_data;
  g_autoptr (GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("a(ssb)"));
  gboolean all = TRUE;

  for (guint i = 0; i < self->hosts->len; i++)
    {
      SpiritHost *h = g_ptr_array_index (self->hosts, i);
      g_variant_builder_add (builder, "(ssb)", spirit_host_get_name (h), spirit_host_get_uri (h),
                             spirit_host_is_connected (h));
      all = all && spirit_host_is_connected (h);
    }
  spirit_dbus_manager_set_hosts (self->iface, g_variant_builder_end (builder));
  spirit_dbus_manager_set_connected (self->iface, all);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (self->iface));
  if (all && self->gpus != NULL)
    spirit_gpu_service_libvirt_ready (self->gpus);
}

/* --- GetVM ----------------------------------------------------------------------------- */

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* "a, b, c" of everything on the given hosts, sorted; "none" if empty. */
static char *
spirit_manager_describe_vms (SpiritManager *self, SpiritHost *only)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < self->hosts->len; i++)
    {
      SpiritHost *host = g_ptr_array_index (self->hosts, i);
      g_autoptr (GPtrArray) host_names = g_ptr_array_new ();

      if (only != NULL && host != only)
        continue;
      spirit_host_collect_names (host, host_names);
      for (guint j = 0; j < host_names->len; j++)
        g_ptr_array_add (names, self->hosts->len > 1 && only == NULL
                                  ? g_strdup_printf ("%s/%s", spirit_host_get_name (host),
                                                     (char *) g_ptr_array_index (host_names, j))
                                  : g_strdup (g_ptr_array_index (host_names, j)));
    }
  if (names->len == 0)
    return g_strdup ("none");
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (", ", (char **) names->pdata);
}

static char *
spirit_manager_describe_down_hosts (SpiritManager *self)
{
  g_autoptr (GString) down = g_string_new (NULL);

  for (guint i = 0; i < self->hosts->len; i++)
    {
      SpiritHost *host = g_ptr_array_index (self->hosts, i);
      if (!spirit_host_is_connected (host))
        g_string_append_printf (down, "%s%s", down->len ? ", " : "", spirit_host_get_name (host));
    }
  return down->len ? g_string_free (g_steal_pointer (&down), FALSE) : NULL;
}

/* Resolves name / UUID / host/name to exactly one VM, or sets a readable error. */
SpiritVm *
spirit_manager_lookup (SpiritManager *self, const char *name, GError **error)
{
  g_autoptr (GPtrArray) matches = g_ptr_array_new ();
  const char *slash = strchr (name, '/');
  SpiritHost *only = NULL;
  const char *vm_name = name;
  g_autofree char *known = NULL;
  g_autofree char *down = NULL;

  if (name[0] == '\0' || strlen (name) > SPIRIT_VM_NAME_MAX)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   name[0] == '\0' ? "The VM name is empty" : "The VM name is longer than %d bytes",
                   SPIRIT_VM_NAME_MAX);
      return NULL;
    }

  if (slash != NULL)
    {
      g_autofree char *host_name = g_strndup (name, slash - name);
      only = spirit_manager_find_host (self, host_name);
      vm_name = slash + 1;
      if (only == NULL)
        {
          g_autoptr (GString) hosts = g_string_new (NULL);
          for (guint i = 0; i < self->hosts->len; i++)
            g_string_append_printf (hosts, "%s%s", i ? ", " : "",
                                    spirit_host_get_name (g_ptr_array_index (self->hosts, i)));
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_VM, "No host named '%s' (hosts: %s)",
                       host_name, hosts->str);
          return NULL;
        }
    }

  for (guint i = 0; i < self->hosts->len; i++)
    if (only == NULL || g_ptr_array_index (self->hosts, i) == only)
      spirit_host_find_vms (g_ptr_array_index (self->hosts, i), vm_name, matches);

  if (matches->len == 1)
    return g_ptr_array_index (matches, 0);

  if (matches->len > 1)
    {
      g_autoptr (GPtrArray) candidates = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < matches->len; i++)
        {
          SpiritVm *vm = g_ptr_array_index (matches, i);
          g_ptr_array_add (candidates, g_strdup_printf ("%s/%s", spirit_vm_get_host (vm), spirit_vm_get_name (vm)));
        }
      g_ptr_array_sort (candidates, compare_names);
      g_ptr_array_add (candidates, NULL);
      known = g_strjoinv (", ", (char **) candidates->pdata);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_AMBIGUOUS_NAME,
                   "'%s' is ambiguous: it names a VM on several hosts (%s); say which, as HOST/NAME",
                   name, known);
      return NULL;
    }

  down = only ? (spirit_host_is_connected (only) ? NULL : g_strdup (spirit_host_get_name (only)))
              : spirit_manager_describe_down_hosts (self);
  known = spirit_manager_describe_vms (self, only);
  if (down != NULL && g_str_equal (known, "none"))
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                 "No VM named '%s', and libvirt is not connected on %s", name, down);
  else if (down != NULL)
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_VM,
                 "No VM named '%s' (VMs: %s; not connected: %s)", name, known, down);
  else
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_VM, "No VM named '%s' (VMs: %s)", name, known);
  return NULL;
}

static gboolean
on_handle_get_vm (SpiritDBusManager *iface,
                  GDBusMethodInvocation *invocation,
                  const char *name,
                  gpointer user_data)
{
  SpiritManager *self = user_data;
  GError *error = NULL;
  SpiritVm *vm = spirit_manager_lookup (self, name, &error);

  if (vm == NULL)
    g_dbus_method_invocation_take_error (invocation, error);
  else
    spirit_dbus_manager_complete_get_vm (iface, invocation, spirit_vm_get_object_path (vm));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static SpiritVm *
spirit_manager_find_vm_by_path (const char *object_path, gpointer user_data)
{
  SpiritManager *self = user_data;

  for (guint i = 0; i < self->hosts->len; i++)
    {
      SpiritVm *vm = spirit_host_find_vm_by_path (g_ptr_array_index (self->hosts, i), object_path);
      if (vm != NULL)
        return vm;
    }
  return NULL;
}

/* --- public ---------------------------------------------------------------------------- */

SpiritManager *
spirit_manager_new (GDBusConnection *bus, SpiritAuth *auth, const SpiritConfig *config)
{
  SpiritManager *self = g_object_new (SPIRIT_TYPE_MANAGER, NULL);

  self->bus = g_object_ref (bus);
  self->auth = g_object_ref (auth);
  self->tree = spirit_object_tree_new (SPIRIT_OBJECT_ROOT);
  self->iface = spirit_dbus_manager_skeleton_new ();
  spirit_dbus_manager_set_version (self->iface, SPIRIT_VERSION);

  for (guint i = 0; i < config->hosts->len; i++)
    {
      const SpiritHostSpec *spec = g_ptr_array_index (config->hosts, i);
      SpiritHost *host = spirit_host_new (auth, self->tree, spec->name, spec->uri);

      g_signal_connect_object (host, "notify::connected", G_CALLBACK (on_host_connected_changed), self, 0);
      g_ptr_array_add (self->hosts, host);
    }
  g_assert (self->hosts->len > 0);
  self->gpus = spirit_gpu_service_new (self->tree, auth, (SpiritGpuVmLookup) spirit_manager_lookup, self);
  spirit_dbus_manager_set_uri (self->iface, spirit_host_get_uri (g_ptr_array_index (self->hosts, 0)));
  on_host_connected_changed (NULL, NULL, self);

  g_signal_connect_object (self->iface, "handle-get-vm", G_CALLBACK (on_handle_get_vm), self, 0);
  spirit_manager_define_connect (self->iface, auth, self->hosts);
  self->proxy = spirit_proxy_new (auth, spirit_manager_find_vm_by_path, self);
  return self;
}

gboolean
spirit_manager_export (SpiritManager *self, GError **error)
{
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->iface), self->bus,
                                         SPIRIT_OBJECT_ROOT, error))
    return FALSE;
  if (!g_dbus_interface_skeleton_export (spirit_proxy_get_skeleton (self->proxy), self->bus,
                                         SPIRIT_OBJECT_ROOT, error))
    return FALSE;
  return spirit_object_tree_set_connection (self->tree, self->bus, error);
}

void
spirit_manager_start (SpiritManager *self)
{
  spirit_gpu_service_start (self->gpus);
  for (guint i = 0; i < self->hosts->len; i++)
    spirit_host_start (g_ptr_array_index (self->hosts, i));
}
