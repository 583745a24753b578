/* spirit-proxy.c: Exec, Cancel and JobExited, and the jobs of each caller. */
#define G_LOG_DOMAIN "spirit-proxy"

#include "spirit-proxy.h"
#include "spirit-dbus-generated.h"
#include "spirit-error.h"
#include "spirit-exec-job.h"
#include "spirit-qga-job.h"

#include <gio/gunixfdlist.h>
#include <signal.h>
#include <unistd.h>

struct _SpiritProxy
{
  SpiritAuth *auth;
  SpiritProxyLookupVm lookup;
  gpointer lookup_data;
  SpiritDBusGuestProxy *iface;
  GHashTable *jobs;    /* path → ProxyJob* (owned) */
  GHashTable *callers; /* unique name → Caller* */
  GPtrArray *waiting;  /* AgentWait*: calls waiting for a booting guest's agent */
  guint64 next_job;
};

/* A job of either backend. */
typedef struct
{
  SpiritExecJob *agent;
  SpiritQgaJob *qga;
} ProxyJob;

static void
proxy_job_free (ProxyJob *job)
{
  spirit_exec_job_free (job->agent);
  spirit_qga_job_free (job->qga);
  g_free (job);
}

static const char *
proxy_job_get_sender (ProxyJob *job)
{
  return job->agent ? spirit_exec_job_get_caller (job->agent)->sender
                    : spirit_qga_job_get_caller (job->qga)->sender;
}

typedef struct
{
  SpiritProxy *proxy;
  char *name;
  guint watch;
  guint jobs;
} Caller;

typedef struct
{
  SpiritProxy *proxy;
  GDBusMethodInvocation *invocation;
  char *vm_path;
  char **argv; /* as called, checked after authorization */
  GVariant *options;
  SpiritExecRequest request;
  char *backend;
  int fds[3];
  gboolean waited; /* for the agent already: do not wait again */
} ExecCall;

static void
exec_call_free (ExecCall *call)
{
  for (int i = 0; i < 3; i++)
    if (call->fds[i] >= 0)
      close (call->fds[i]);
  g_clear_object (&call->invocation);
  spirit_exec_request_clear (&call->request);
  g_free (call->backend);
  g_free (call->vm_path);
  g_strfreev (call->argv);
  g_clear_pointer (&call->options, g_variant_unref);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ExecCall, exec_call_free)

static void
caller_free (Caller *caller)
{
  g_bus_unwatch_name (caller->watch);
  g_free (caller->name);
  g_free (caller);
}

/* --- callers -------------------------------------------------------------------------------- */

static void
on_caller_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  Caller *caller = user_data;
  SpiritProxy *proxy = caller->proxy;
  g_autoptr (GList) jobs = g_hash_table_get_values (proxy->jobs);

  g_debug ("%s left the bus; killing its %u commands", name, caller->jobs);
  for (GList *l = jobs; l; l = l->next)
    {
      ProxyJob *job = l->data;
      if (!g_str_equal (proxy_job_get_sender (job), name))
        continue;
      if (job->agent != NULL)
        spirit_exec_job_abandon (job->agent);
      else
        spirit_qga_job_abandon (job->qga);
    }
}

static void
spirit_proxy_ref_caller (SpiritProxy *proxy, GDBusConnection *bus, const char *name)
{
  Caller *caller = g_hash_table_lookup (proxy->callers, name);

  if (caller == NULL)
    {
      caller = g_new0 (Caller, 1);
      caller->proxy = proxy;
      caller->name = g_strdup (name);
      caller->watch = g_bus_watch_name_on_connection (bus, name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                      NULL, on_caller_vanished, caller, NULL);
      g_hash_table_insert (proxy->callers, caller->name, caller);
    }
  caller->jobs++;
}

static void
spirit_proxy_unref_caller (SpiritProxy *proxy, const char *name)
{
  Caller *caller = g_hash_table_lookup (proxy->callers, name);

  if (caller != NULL && --caller->jobs == 0)
    g_hash_table_remove (proxy->callers, name);
}

static void
on_job_done (SpiritExecJob *job, gpointer user_data)
{
  SpiritProxy *proxy = user_data;

  spirit_proxy_unref_caller (proxy, spirit_exec_job_get_caller (job)->sender);
  g_hash_table_remove (proxy->jobs, spirit_exec_job_get_caller (job)->path);
}

static void
on_qga_job_done (SpiritQgaJob *job, gpointer user_data)
{
  SpiritProxy *proxy = user_data;

  spirit_proxy_unref_caller (proxy, spirit_qga_job_get_caller (job)->sender);
  g_hash_table_remove (proxy->jobs, spirit_qga_job_get_caller (job)->path);
}

/* --- Exec ----------------------------------------------------------------------------------- */

static gboolean
parse_options (ExecCall *call, const char *const *argv, GVariant *options, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned = value;
      const char *type = NULL;

      if (g_str_equal (key, "shell") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        call->request.shell = g_variant_dup_string (value, NULL);
      else if (g_str_equal (key, "cwd") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        call->request.cwd = g_variant_dup_string (value, NULL);
      else if (g_str_equal (key, "env")
               && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        call->request.env = g_variant_dup_strv (value, NULL);
      else if (g_str_equal (key, "timeout-ms")
               && g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
        call->request.timeout_ms = g_variant_get_uint32 (value);
      else if (g_str_equal (key, "backend") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        call->backend = g_variant_dup_string (value, NULL);
      else
        {
          if (g_str_equal (key, "shell") || g_str_equal (key, "cwd")
              || g_str_equal (key, "backend"))
            type = "s";
          else if (g_str_equal (key, "env"))
            type = "as";
          else if (g_str_equal (key, "timeout-ms"))
            type = "u";
          if (type != NULL)
            g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                         "Option '%s' must be of type '%s', not '%s'", key, type,
                         g_variant_get_type_string (value));
          else
            g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                         "Unknown option '%s' (known: shell, cwd, env, timeout-ms, backend)", key);
          return FALSE;
        }
    }

  if (call->request.shell != NULL && argv[0] != NULL)
    {
      g_set_error_literal (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           "Give either argv or the shell option, not both");
      return FALSE;
    }
  if (call->request.shell == NULL && (argv[0] == NULL || argv[0][0] == '\0'))
    {
      g_set_error_literal (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           "No command: argv is empty");
      return FALSE;
    }
  if (call->request.shell != NULL && call->request.shell[0] == '\0')
    {
      g_set_error_literal (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           "The shell command line is empty");
      return FALSE;
    }
  if (call->request.cwd != NULL && call->request.cwd[0] == '\0')
    {
      g_set_error_literal (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           "The working directory is empty");
      return FALSE;
    }
  for (guint i = 0; call->request.env && call->request.env[i]; i++)
    {
      const char *eq = strchr (call->request.env[i], '=');
      if (eq == NULL || eq == call->request.env[i])
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "Environment entry '%s' is not NAME=VALUE", call->request.env[i]);
          return FALSE;
        }
    }
  if (call->backend != NULL && !g_str_equal (call->backend, "auto")
      && !g_str_equal (call->backend, "spirit-agent") && !g_str_equal (call->backend, "qemu-ga"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Unknown backend '%s' (auto, spirit-agent or qemu-ga)", call->backend);
      return FALSE;
    }
  if (call->request.shell == NULL)
    call->request.argv = g_strdupv ((char **)argv);
  return TRUE;
}

static void spirit_proxy_return_error (ExecCall *call, SpiritError code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static void
spirit_proxy_return_error (ExecCall *call, SpiritError code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_dbus_method_invocation_return_error_literal (g_steal_pointer (&call->invocation), SPIRIT_ERROR,
                                                 code, message);
}

/* --- waiting for a booting guest's agent ---------------------------------------------------- */

/* A VM whose channel appeared less than this long ago is taken to be booting: an Exec waits for
 * its agent to answer (at most until then) instead of failing at once. "@linux --start" followed
 * by "@linux uname -r" then just works. */
#define AGENT_BOOT_GRACE_US (90 * G_USEC_PER_SEC)

typedef struct
{
  SpiritProxy *proxy;
  ExecCall *call;
  SpiritVm *vm;
  SpiritAgentLink *link;
  gulong ready_id;
  guint timeout_id;
} AgentWait;

static void spirit_proxy_start_job (SpiritProxy *proxy, ExecCall **callp, SpiritVm *vm);

static void
agent_wait_free (AgentWait *wait)
{
  g_clear_signal_handler (&wait->ready_id, wait->link);
  g_clear_handle_id (&wait->timeout_id, g_source_remove);
  if (wait->call != NULL && wait->call->invocation != NULL)
    g_dbus_method_invocation_return_error_literal (g_steal_pointer (&wait->call->invocation),
                                                   SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                                                   "spiritd is stopping");
  g_clear_pointer (&wait->call, exec_call_free);
  g_clear_object (&wait->link);
  g_clear_object (&wait->vm);
  g_free (wait);
}

/* The agent answered, or the grace ran out: try again, this time without waiting. */
static void
agent_wait_done (AgentWait *wait)
{
  ExecCall *call = g_steal_pointer (&wait->call);
  g_autoptr (SpiritVm) vm = g_object_ref (wait->vm);
  SpiritProxy *proxy = wait->proxy;

  g_ptr_array_remove_fast (proxy->waiting, wait); /* frees it */
  spirit_proxy_start_job (proxy, &call, vm);
  g_clear_pointer (&call, exec_call_free);
}

static void
on_agent_ready (SpiritAgentLink *link, GParamSpec *pspec, AgentWait *wait)
{
  if (spirit_agent_link_is_ready (link))
    agent_wait_done (wait);
}

static gboolean
on_agent_wait_timeout (gpointer user_data)
{
  AgentWait *wait = user_data;

  wait->timeout_id = 0;
  agent_wait_done (wait);
  return G_SOURCE_REMOVE;
}

static gboolean
spirit_proxy_wait_for_agent (SpiritProxy *proxy,
                             ExecCall **callp,
                             SpiritVm *vm,
                             SpiritAgentLink *link)
{
  gint64 age = spirit_agent_link_get_channel_age (link);
  AgentWait *wait;

  if ((*callp)->waited || age >= AGENT_BOOT_GRACE_US)
    return FALSE;
  wait = g_new0 (AgentWait, 1);
  wait->proxy = proxy;
  wait->call = g_steal_pointer (callp);
  wait->call->waited = TRUE;
  wait->vm = g_object_ref (vm);
  wait->link = g_object_ref (link);
  wait->ready_id = g_signal_connect (link, "notify::ready", G_CALLBACK (on_agent_ready), wait);
  wait->timeout_id
    = g_timeout_add ((AGENT_BOOT_GRACE_US - age) / 1000 + 1, on_agent_wait_timeout, wait);
  g_ptr_array_add (proxy->waiting, wait);
  g_debug ("Waiting up to %" G_GINT64_FORMAT " ms for %s's agent (the VM is starting)",
           (AGENT_BOOT_GRACE_US - age) / 1000, spirit_vm_get_name (vm));
  return TRUE;
}

/* --- starting a job ------------------------------------------------------------------------- */

static void
spirit_proxy_start_job (SpiritProxy *proxy, ExecCall **callp, SpiritVm *vm)
{
  ExecCall *call = *callp;
  SpiritAgentLink *link = spirit_vm_get_agent_link (vm);
  gboolean agent_ready = link != NULL && spirit_agent_link_is_ready (link);
  const char *backend = call->backend ? call->backend : "auto";
  gboolean use_qga;
  g_autofree char *path = NULL;
  ProxyJob *job = g_new0 (ProxyJob, 1);
  /* Copies: starting a job may answer (and free) the invocation. */
  g_autofree char *sender = g_strdup (g_dbus_method_invocation_get_sender (call->invocation));
  g_autoptr (GDBusConnection) bus
    = g_object_ref (g_dbus_method_invocation_get_connection (call->invocation));
  const char *name = spirit_vm_get_name (vm);

  if (!g_str_equal (spirit_vm_get_state (vm), "running"))
    {
      spirit_proxy_return_error (call, SPIRIT_ERROR_INVALID_STATE,
                                 "Cannot run a command in '%s': it is %s", name,
                                 spirit_vm_get_state (vm));
      g_free (job);
      return;
    }
  /* spirit-agent when it answers; qemu-ga when asked for, or when spirit-agent does not answer
   * and the VM has qemu-ga's channel. */
  use_qga = g_str_equal (backend, "qemu-ga")
            || (g_str_equal (backend, "auto") && !agent_ready && spirit_vm_has_qemu_ga (vm));
  if (use_qga && !spirit_vm_has_qemu_ga (vm))
    {
      spirit_proxy_return_error (call, SPIRIT_ERROR_AGENT_UNAVAILABLE,
                                 "'%s' has no qemu-guest-agent channel (org.qemu.guest_agent.0)",
                                 name);
      g_free (job);
      return;
    }
  if (use_qga && call->request.timeout_ms > 0)
    {
      spirit_proxy_return_error (call, SPIRIT_ERROR_NOT_SUPPORTED,
                                 "qemu-guest-agent cannot stop a command after a timeout; "
                                 "install spirit-agent in '%s' for timeout-ms",
                                 name);
      g_free (job);
      return;
    }
  if (!use_qga && link == NULL)
    {
      spirit_proxy_return_error (call, SPIRIT_ERROR_AGENT_UNAVAILABLE,
                                 "Cannot run a command in '%s': spirit-agent needs a VM on a local "
                                 "host (qemu:///system or qemu:///session), and the VM has no "
                                 "qemu-guest-agent channel",
                                 name);
      g_free (job);
      return;
    }
  if (!use_qga && !agent_ready && spirit_proxy_wait_for_agent (proxy, callp, vm, link))
    {
      g_free (job);
      return;
    }
  if (!use_qga && !agent_ready)
    {
      spirit_proxy_return_error (
        call, SPIRIT_ERROR_AGENT_UNAVAILABLE,
        "spirit-agent does not answer in '%s' (is it installed and running "
        "in the guest?)%s",
        name, spirit_vm_has_qemu_ga (vm) ? "" : " and it has no qemu-guest-agent channel");
      g_free (job);
      return;
    }

  path = g_strdup_printf ("/org/crom/Spirit/job/%" G_GUINT64_FORMAT, ++proxy->next_job);
  if (use_qga)
    job->qga
      = spirit_qga_job_start (vm, path, g_steal_pointer (&call->invocation), &call->request,
                              call->fds[0], call->fds[1], call->fds[2], on_qga_job_done, proxy);
  else
    job->agent = spirit_exec_job_start (link, name, path, g_steal_pointer (&call->invocation),
                                        &call->request, call->fds[0], call->fds[1], call->fds[2],
                                        on_job_done, proxy);
  call->fds[0] = call->fds[1] = call->fds[2] = -1; /* taken, also on failure */
  if (job->agent == NULL && job->qga == NULL)
    {
      g_free (job);
      return;
    }
  g_hash_table_insert (proxy->jobs, g_strdup (path), job);
  spirit_proxy_ref_caller (proxy, bus, sender);
}

static void
on_exec_authorized (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (ExecCall) call = user_data;
  g_autoptr (GError) error = NULL;
  SpiritVm *vm;

  if (!spirit_auth_check_finish (SPIRIT_AUTH (source), result, &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return;
    }
  /* Arguments are looked at only once authorized, like every VM method. */
  if (!parse_options (call, (const char *const *)call->argv, call->options, &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return;
    }
  vm = call->proxy->lookup (call->vm_path, call->proxy->lookup_data);
  if (vm == NULL)
    {
      g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation), SPIRIT_ERROR,
                                             SPIRIT_ERROR_NO_SUCH_VM, "No VM at %s", call->vm_path);
      return;
    }
  spirit_proxy_start_job (call->proxy, &call, vm);
}

static gboolean
take_fd (GUnixFDList *fd_list, GVariant *handle, int *out, GError **error)
{
  gint32 index = g_variant_get_handle (handle);

  if (fd_list == NULL || index < 0 || index >= g_unix_fd_list_get_length (fd_list))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "File descriptor handle %d was not passed with the call", index);
      return FALSE;
    }
  *out = g_unix_fd_list_get (fd_list, index, error);
  return *out >= 0;
}

static gboolean
on_handle_exec (SpiritDBusGuestProxy *iface,
                GDBusMethodInvocation *invocation,
                GUnixFDList *fd_list,
                const char *vm_path,
                const char *const *argv,
                GVariant *options,
                GVariant *stdin_handle,
                GVariant *stdout_handle,
                GVariant *stderr_handle,
                gpointer user_data)
{
  SpiritProxy *proxy = user_data;
  g_autoptr (ExecCall) call = g_new0 (ExecCall, 1);
  g_autoptr (GError) error = NULL;

  call->proxy = proxy;
  call->invocation = invocation; /* the skeleton's reference, which a return_*() consumes */
  call->vm_path = g_strdup (vm_path);
  call->argv = g_strdupv ((char **)argv);
  call->options = g_variant_ref (options);
  call->fds[0] = call->fds[1] = call->fds[2] = -1;
  if (!take_fd (fd_list, stdin_handle, &call->fds[0], &error)
      || !take_fd (fd_list, stdout_handle, &call->fds[1], &error)
      || !take_fd (fd_list, stderr_handle, &call->fds[2], &error))
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  spirit_auth_check_async (proxy->auth, invocation, NULL, on_exec_authorized,
                           g_steal_pointer (&call));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- Cancel --------------------------------------------------------------------------------- */

static gboolean
on_handle_cancel (SpiritDBusGuestProxy *iface,
                  GDBusMethodInvocation *invocation,
                  const char *job_path,
                  const char *signal_name,
                  gpointer user_data)
{
  SpiritProxy *proxy = user_data;
  ProxyJob *job = g_hash_table_lookup (proxy->jobs, job_path);

  if (job == NULL
      || !g_str_equal (proxy_job_get_sender (job),
                       g_dbus_method_invocation_get_sender (invocation)))
    {
      g_dbus_method_invocation_return_error (invocation, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_JOB,
                                             "No running job %s of this caller", job_path);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!spirit_signal_name_is_valid (signal_name))
    {
      g_dbus_method_invocation_return_error (invocation, SPIRIT_ERROR,
                                             SPIRIT_ERROR_INVALID_ARGUMENT,
                                             "Unknown signal '%s' (use a name such as TERM, INT, "
                                             "KILL, HUP)",
                                             signal_name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (job->qga != NULL)
    {
      g_dbus_method_invocation_return_error_literal (
        invocation, SPIRIT_ERROR, SPIRIT_ERROR_NOT_SUPPORTED,
        "qemu-guest-agent cannot send signals to a command it started");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  spirit_exec_job_signal (job->agent, signal_name);
  spirit_dbus_guest_proxy_complete_cancel (iface, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- public --------------------------------------------------------------------------------- */

SpiritProxy *
spirit_proxy_new (SpiritAuth *auth, SpiritProxyLookupVm lookup, gpointer lookup_data)
{
  SpiritProxy *proxy = g_new0 (SpiritProxy, 1);

  /* A caller that closes its end of an output pipe must cost it its output, not spiritd its life.
   */
  signal (SIGPIPE, SIG_IGN);
  proxy->auth = g_object_ref (auth);
  proxy->lookup = lookup;
  proxy->lookup_data = lookup_data;
  proxy->jobs
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)proxy_job_free);
  proxy->callers
    = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)caller_free);
  proxy->waiting = g_ptr_array_new_with_free_func ((GDestroyNotify)agent_wait_free);
  proxy->iface = spirit_dbus_guest_proxy_skeleton_new ();
  g_signal_connect (proxy->iface, "handle-exec", G_CALLBACK (on_handle_exec), proxy);
  g_signal_connect (proxy->iface, "handle-cancel", G_CALLBACK (on_handle_cancel), proxy);
  return proxy;
}

void
spirit_proxy_free (SpiritProxy *proxy)
{
  if (proxy == NULL)
    return;
  g_signal_handlers_disconnect_by_data (proxy->iface, proxy);
  /* Waiting calls, then jobs (freeing one does not call back), then the name watches. */
  g_ptr_array_unref (proxy->waiting);
  g_hash_table_unref (proxy->jobs);
  g_hash_table_unref (proxy->callers);
  g_clear_object (&proxy->iface);
  g_clear_object (&proxy->auth);
  g_free (proxy);
}

GDBusInterfaceSkeleton *
spirit_proxy_get_skeleton (SpiritProxy *proxy)
{
  return G_DBUS_INTERFACE_SKELETON (proxy->iface);
}
