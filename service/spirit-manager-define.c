/* spirit-manager-define.c: Manager.DefineVM, ListProfiles, GetHugePages, ReserveHugePages.
 *
 * DefineVM goes the way every VM method goes (spirit-vm.c): authorize, check what can be checked
 * on the main thread (the a{sv}, the name, the connection), then on the host's worker thread
 * check the request against the host and build the domain (spirit_vm_plan), define it, read it
 * back; on the main thread publish the VM object, and only then reply.
 */
#define G_LOG_DOMAIN "spirit-manager-define"

#include "spirit-manager-define.h"
#include "spirit-error.h"
#include "spirit-host.h"
#include "spirit-hugepages.h"
#include "spirit-libvirt.h"
#include "spirit-profile.h"
#include "spirit-vm-plan.h"

#define RESERVE_MAX_PAGES G_GUINT64_CONSTANT (1048576)

typedef struct
{
  SpiritAuth *auth;
  GPtrArray *hosts; /* SpiritHost*, the manager's */
} SpiritDefineContext;

typedef struct
{
  GDBusMethodInvocation *invocation;
  SpiritHost *host;
  char *vm_name;
  GVariant *options;
  gboolean dry_run;
  gboolean virt_type_given; /* else: kvm where the host's libvirt offers it, qemu (TCG) if not */
  guint64 page_kib;         /* ReserveHugePages */
  guint64 count;

  /* the worker's part */
  SpiritVmSpec *spec;
  GVirConnection *connection;
  char *xml;
  GVirDomain *domain;
  SpiritVmInfo *info;
} SpiritDefineCall;

static void
spirit_define_context_free (gpointer data, GClosure *closure)
{
  SpiritDefineContext *context = data;

  g_object_unref (context->auth);
  g_ptr_array_unref (context->hosts);
  g_free (context);
}

static void
spirit_define_call_free (SpiritDefineCall *call)
{
  g_clear_object (&call->invocation);
  g_clear_object (&call->host);
  g_free (call->vm_name);
  g_clear_pointer (&call->options, g_variant_unref);
  g_clear_pointer (&call->spec, spirit_vm_spec_free);
  g_clear_object (&call->connection);
  g_free (call->xml);
  g_clear_object (&call->domain);
  spirit_vm_info_free (call->info);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritDefineCall, spirit_define_call_free)

static SpiritDefineCall *
spirit_define_call_new (GDBusMethodInvocation *invocation)
{
  SpiritDefineCall *call = g_new0 (SpiritDefineCall, 1);

  call->invocation = invocation; /* GDBus's reference: given back with the reply */
  return call;
}

/* Replies with the error and frees the call. */
static void
spirit_define_call_fail (SpiritDefineCall *call, GError *error)
{
  g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
  spirit_define_call_free (call);
}

/* --- DefineVM ---------------------------------------------------------------------------- */

/* "NAME" on the first host, or "HOST/NAME". */
static SpiritHost *
spirit_define_pick_host (SpiritDefineContext *context,
                         const char *name,
                         const char **vm_name,
                         GError **error)
{
  const char *slash = strchr (name, '/');
  g_autofree char *host_name = NULL;
  g_autoptr (GString) known = g_string_new (NULL);

  *vm_name = name;
  if (slash == NULL)
    return g_ptr_array_index (context->hosts, 0);
  host_name = g_strndup (name, slash - name);
  *vm_name = slash + 1;
  for (guint i = 0; i < context->hosts->len; i++)
    {
      SpiritHost *host = g_ptr_array_index (context->hosts, i);
      if (g_str_equal (spirit_host_get_name (host), host_name))
        return host;
      g_string_append_printf (known, "%s%s", i ? ", " : "", spirit_host_get_name (host));
    }
  g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
               "No host named '%s': define the VM as NAME or HOST/NAME with one of: %s", host_name,
               known->str);
  return NULL;
}

/* Blocking: whether the host's libvirt can run this arch under KVM. A driver that cannot say
 * (libvirt's test driver) gets the benefit of the doubt. */
static gboolean
host_offers_kvm (virConnectPtr conn, const char *arch)
{
  char *caps = virConnectGetDomainCapabilities (conn, NULL, arch, NULL, "kvm", 0);
  const virError *err;
  gboolean offered;

  if (caps != NULL)
    {
      free (caps);
      return TRUE;
    }
  err = virGetLastError ();
  offered = err != NULL && err->code == VIR_ERR_NO_SUPPORT;
  g_debug ("KVM %s: %s", offered ? "unknown" : "not offered", err ? err->message : "no error");
  virResetLastError ();
  return offered;
}

static void
define_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SpiritDefineCall *call = task_data;
  GVirConfigDomain *config;
  g_autoptr (virDomain) handle = NULL;
  virConnectPtr conn = NULL;
  char *stored;
  GError *error = NULL;

  if (call->connection != NULL && !call->virt_type_given)
    {
      g_object_get (call->connection, "handle", &conn, NULL);
      call->spec->kvm = host_offers_kvm (conn, call->spec->arch);
      virConnectClose (conn);
      conn = NULL;
    }
  config = spirit_vm_plan (call->spec, NULL, NULL, &error);
  if (config == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  call->xml = gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (config));
  g_object_unref (config);
  if (call->dry_run)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_object_get (call->connection, "handle", &conn, NULL);
  handle = virDomainDefineXMLFlags (conn, call->xml, VIR_DOMAIN_DEFINE_VALIDATE);
  if (handle == NULL)
    {
      g_autofree char *what = g_strdup_printf ("libvirt refused to define '%s'", call->spec->name);
      spirit_set_error_from_libvirt (&error, what);
      /* libvirt's XML and argument errors are still libvirt's refusal, not a bad request. */
      if (error->code != SPIRIT_ERROR_UNAVAILABLE)
        error->code = SPIRIT_ERROR_FAILED;
      virConnectClose (conn);
      g_task_return_error (task, error);
      return;
    }
  virConnectClose (conn);
  g_message ("Defined %s with the %s profile", call->spec->name, call->spec->profile);

  stored = virDomainGetXMLDesc (handle, VIR_DOMAIN_XML_INACTIVE);
  if (stored != NULL)
    {
      g_free (call->xml);
      call->xml = g_strdup (stored);
      free (stored);
    }
  call->info = spirit_vm_info_fetch (handle, &error);
  if (call->info == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  call->domain = g_object_new (GVIR_TYPE_DOMAIN, "handle", handle, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
on_define_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SpiritDefineCall) call = user_data;
  g_autoptr (GError) error = NULL;
  SpiritVm *vm;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return;
    }
  if (call->dry_run)
    {
      g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation),
                                             g_variant_new ("(os)", "/", call->xml));
      return;
    }
  vm = spirit_host_add_defined (call->host, call->domain, call->info);
  g_dbus_method_invocation_return_value (
    g_steal_pointer (&call->invocation),
    g_variant_new ("(os)", spirit_vm_get_object_path (vm), call->xml));
}

static void
on_define_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritDefineCall *call = user_data;
  g_autoptr (GPtrArray) existing = g_ptr_array_new ();
  g_autoptr (GTask) task = NULL;
  GVirConnection *connection;
  GError *error = NULL;

  if (!spirit_auth_check_finish (SPIRIT_AUTH (source), result, &error))
    {
      spirit_define_call_fail (call, error);
      return;
    }
  call->spec = spirit_vm_spec_from_variant (call->vm_name, call->options, &error);
  if (call->spec == NULL)
    {
      spirit_define_call_fail (call, error);
      return;
    }
  spirit_host_find_vms (call->host, call->vm_name, existing);
  if (existing->len > 0 && !call->dry_run)
    {
      g_set_error (&error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "A VM named '%s' already exists on %s: choose another name, or change its "
                   "tuning with Retune",
                   call->vm_name, spirit_host_get_name (call->host));
      spirit_define_call_fail (call, error);
      return;
    }
  connection = spirit_host_get_gvir (call->host);
  if (connection == NULL && !call->dry_run)
    {
      g_set_error (&error, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                   "Cannot define '%s': libvirt is not connected on %s", call->vm_name,
                   spirit_host_get_name (call->host));
      spirit_define_call_fail (call, error);
      return;
    }
  call->connection = connection ? g_object_ref (connection) : NULL;
  task = g_task_new (NULL, NULL, on_define_done, call);
  g_task_set_source_tag (task, on_define_authorized);
  g_task_set_task_data (task, call, NULL);
  spirit_host_run_on_worker (call->host, task, define_thread);
}

static gboolean
on_handle_define_vm (SpiritDBusManager *iface,
                     GDBusMethodInvocation *invocation,
                     const char *name,
                     GVariant *options,
                     gboolean dry_run,
                     gpointer user_data)
{
  SpiritDefineContext *context = user_data;
  SpiritDefineCall *call = spirit_define_call_new (invocation);
  g_autoptr (GVariant) virt_type = NULL;
  const char *vm_name = NULL;
  GError *error = NULL;

  call->host = spirit_define_pick_host (context, name, &vm_name, &error);
  if (call->host == NULL)
    {
      spirit_define_call_fail (call, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_object_ref (call->host);
  call->vm_name = g_strdup (vm_name);
  call->options = g_variant_ref (options);
  call->dry_run = dry_run;
  virt_type = g_variant_lookup_value (options, "virt-type", NULL);
  call->virt_type_given = virt_type != NULL;
  spirit_auth_check_async (context->auth, invocation, NULL, on_define_authorized, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- ListProfiles -------------------------------------------------------------------------- */

static void
list_profiles_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  g_auto (GStrv) names = spirit_profile_list (NULL);
  g_autoptr (GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("a(ss)"));

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SpiritProfile) profile = spirit_profile_load (names[i], NULL, &error);
      g_autofree char *invalid = NULL;

      if (profile == NULL)
        invalid = g_strdup_printf ("invalid: %s", error->message);
      g_variant_builder_add (builder, "(ss)", names[i],
                             profile ? (profile->description ? profile->description : "")
                                     : invalid);
    }
  g_task_return_pointer (task, g_variant_ref_sink (g_variant_new ("(a(ss))", builder)),
                         (GDestroyNotify)g_variant_unref);
}

/* Completes the call (the task's data) with the thread's tuple or error. */
static void
on_tuple_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritDefineCall *call = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;
  GVariant *reply = g_task_propagate_pointer (G_TASK (result), &error);

  if (reply == NULL)
    g_dbus_method_invocation_take_error (g_steal_pointer (&call->invocation), error);
  else
    {
      g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), reply);
      g_variant_unref (reply);
    }
}

/* Runs func on a GLib worker thread (host files, not libvirt), taking the call. */
static void
run_for_call (SpiritDefineCall *call, GTaskThreadFunc func)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, on_tuple_done, NULL);

  g_task_set_source_tag (task, run_for_call);
  g_task_set_task_data (task, call, (GDestroyNotify)spirit_define_call_free);
  g_task_run_in_thread (task, func);
}

static gboolean
on_handle_list_profiles (SpiritDBusManager *iface,
                         GDBusMethodInvocation *invocation,
                         gpointer user_data)
{
  run_for_call (spirit_define_call_new (invocation), list_profiles_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- huge pages ---------------------------------------------------------------------------- */

static void
get_hugepages_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  static const guint64 sizes[] = { SPIRIT_HUGEPAGE_2M_KIB, SPIRIT_HUGEPAGE_1G_KIB };
  g_autoptr (GVariantBuilder) builder = g_variant_builder_new (G_VARIANT_TYPE ("a(ttt)"));

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GError) error = NULL;
      SpiritHugepagePool pool;

      if (spirit_hugepages_read (NULL, sizes[i], &pool, &error))
        g_variant_builder_add (builder, "(ttt)", pool.page_kib, pool.total, pool.free);
      else
        g_debug ("No %s pages: %s", spirit_hugepages_size_name (sizes[i]), error->message);
    }
  g_task_return_pointer (task, g_variant_ref_sink (g_variant_new ("(a(ttt))", builder)),
                         (GDestroyNotify)g_variant_unref);
}

static gboolean
on_handle_get_huge_pages (SpiritDBusManager *iface,
                          GDBusMethodInvocation *invocation,
                          gpointer user_data)
{
  run_for_call (spirit_define_call_new (invocation), get_hugepages_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
reserve_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SpiritDefineCall *call = task_data;
  SpiritHugepagePool pool = { 0 };
  GError *error = NULL;

  if (!spirit_hugepages_reserve (NULL, call->page_kib, call->count, &pool, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_message ("Reserved %" G_GUINT64_FORMAT " more %s pages: %" G_GUINT64_FORMAT " in all",
             call->count, spirit_hugepages_size_name (call->page_kib), pool.total);
  g_task_return_pointer (task, g_variant_ref_sink (g_variant_new ("(tt)", pool.total, pool.free)),
                         (GDestroyNotify)g_variant_unref);
}

static void
on_reserve_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritDefineCall *call = user_data;
  GError *error = NULL;

  if (!spirit_auth_check_finish (SPIRIT_AUTH (source), result, &error))
    {
      spirit_define_call_fail (call, error);
      return;
    }
  if (!spirit_hugepages_size_is_valid (call->page_kib))
    {
      g_set_error (&error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Huge pages of %" G_GUINT64_FORMAT " KiB are not supported: use 2048 (2 MB) "
                   "or 1048576 (1 GB)",
                   call->page_kib);
      spirit_define_call_fail (call, error);
      return;
    }
  if (call->count == 0 || call->count > RESERVE_MAX_PAGES)
    {
      g_set_error (&error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Cannot reserve %" G_GUINT64_FORMAT " pages: ask for 1 to %" G_GUINT64_FORMAT,
                   call->count, RESERVE_MAX_PAGES);
      spirit_define_call_fail (call, error);
      return;
    }
  run_for_call (call, reserve_thread);
}

static gboolean
on_handle_reserve_huge_pages (SpiritDBusManager *iface,
                              GDBusMethodInvocation *invocation,
                              guint64 page_kib,
                              guint64 count,
                              gpointer user_data)
{
  SpiritDefineContext *context = user_data;
  SpiritDefineCall *call = spirit_define_call_new (invocation);

  call->page_kib = page_kib;
  call->count = count;
  spirit_auth_check_async (context->auth, invocation, NULL, on_reserve_authorized, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- public -------------------------------------------------------------------------------- */

void
spirit_manager_define_connect (SpiritDBusManager *iface, SpiritAuth *auth, GPtrArray *hosts)
{
  SpiritDefineContext *context = g_new0 (SpiritDefineContext, 1);

  g_return_if_fail (hosts->len > 0);
  context->auth = g_object_ref (auth);
  context->hosts = g_ptr_array_ref (hosts);
  /* The first handler owns the context; it goes when the interface does. */
  g_signal_connect_data (iface, "handle-define-vm", G_CALLBACK (on_handle_define_vm), context,
                         spirit_define_context_free, 0);
  g_signal_connect (iface, "handle-list-profiles", G_CALLBACK (on_handle_list_profiles), context);
  g_signal_connect (iface, "handle-get-huge-pages", G_CALLBACK (on_handle_get_huge_pages), context);
  g_signal_connect (iface, "handle-reserve-huge-pages", G_CALLBACK (on_handle_reserve_huge_pages),
                    context);
}
