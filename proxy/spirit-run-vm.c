/* spirit-run-vm.c: @VM stages, through spiritd.
 *
 * A control (--pause, --resume, --start, --stop, --snapshot save) is a call on the VM's
 * org.crom.Spirit.VM object. A command is org.crom.Spirit.Proxy.Exec with the stage's three
 * descriptors: spiritd moves the bytes between them and the guest's agent, and tells how the
 * command ended with JobExited, a signal sent to this client only. The runner subscribes to it
 * once (spirit-job-table.c) before its first Exec, so no exit can be missed.
 */
#define G_LOG_DOMAIN "spirit-run-vm"

#include "spirit-line-runner-private.h"
#include "spirit-error.h"
#include "spirit-job-status.h"
#include "spirit-proxy-errors.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <unistd.h>

#define SPIRIT_BUS_NAME "org.crom.Spirit"
#define SPIRIT_ROOT_PATH "/org/crom/Spirit"
#define SPIRIT_VM_IFACE "org.crom.Spirit.VM"
#define SPIRIT_PROXY_IFACE "org.crom.Spirit.Proxy"

/* ---- one stage ---------------------------------------------------------------------------- */

typedef struct
{
  SpiritStageRun *run;
  char *vm_path;
  char *job_path;
  gulong cancel_id;
} VmStage;

static void
vm_stage_free (VmStage *vs)
{
  if (vs->cancel_id)
    g_cancellable_disconnect (vs->run->cancellable, vs->cancel_id);
  g_free (vs->vm_path);
  g_free (vs->job_path);
  g_free (vs);
}

static void
vm_stage_end (VmStage *vs, int status, const GError *error)
{
  SpiritStageRun *run = vs->run;

  vm_stage_free (vs);
  spirit_stage_run_done (run, status, error);
}

static void
vm_stage_service_gone (VmStage *vs)
{
  g_autoptr (GError) error = g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                                          "@%s: the Spirit service went away while the command ran",
                                          vs->run->target->name);

  vm_stage_end (vs, 1, error);
}

static void
finish_from_status (VmStage *vs, GVariant *status)
{
  SpiritStageRun *run = vs->run;
  SpiritJobEnd end;
  g_autoptr (GError) error = NULL;

  spirit_job_end_from_status (status, &end);
  /* qemu-guest-agent keeps 16 MiB per stream: say so, never hide it */
  for (int i = 0; i < 2; i++)
    if (i == 0 ? end.stdout_truncated : end.stderr_truncated)
      {
        g_autofree char *note = g_strdup_printf ("@%s: the command's %s was truncated by the guest "
                                                 "agent",
                                                 run->target->name, i == 0 ? "stdout" : "stderr");
        spirit_stage_run_note (run, note);
      }
  if (end.has_exit_status)
    {
      vm_stage_end (vs, end.exit_status, NULL);
      return;
    }
  error = g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "@%s: %s", run->target->name,
                       end.error ? end.error : "the job ended without an exit status");
  vm_stage_end (vs, 1, error);
}

static void
fail_with_remote (VmStage *vs, GError *error)
{
  g_autoptr (GError) shown = NULL;

  g_dbus_error_strip_remote_error (error);
  shown
    = g_error_new (error->domain, error->code, "@%s: %s", vs->run->target->name, error->message);
  vm_stage_end (vs, 1, shown);
}

/* The reply, or NULL when the call failed and the stage has ended with its error. */
static GVariant *
call_finish_or_fail (VmStage *vs, GObject *source, GAsyncResult *result)
{
  g_autoptr (GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    fail_with_remote (vs, error);
  return reply;
}

static void
on_cancel_replied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  VmStage *vs = user_data;

  /* Only a running job can be interrupted; the call in flight otherwise ends by itself. */
  if (vs->job_path == NULL)
    return;
  g_dbus_connection_call (spirit_line_runner_get_bus (vs->run->runner), SPIRIT_BUS_NAME,
                          SPIRIT_ROOT_PATH, SPIRIT_PROXY_IFACE, "Cancel",
                          g_variant_new ("(os)", vs->job_path, "INT"), NULL, G_DBUS_CALL_FLAGS_NONE,
                          -1, NULL, on_cancel_replied, NULL);
}

static void
on_state_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VmStage *vs = user_data;
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  g_autoptr (GVariant) state = NULL;
  g_autoptr (GError) error = NULL;

  if (reply != NULL)
    g_variant_get (reply, "(v)", &state);
  error = spirit_proxy_error_vm_not_running (
    vs->run->target, state != NULL && g_variant_is_of_type (state, G_VARIANT_TYPE_STRING)
                       ? g_variant_get_string (state, NULL)
                       : NULL);
  vm_stage_end (vs, 1, error);
}

/* Exec's errors in the words of docs/proxy-syntax.md: a VM that is not running says how to run
 * it ('@windows --start'), a missing agent says what to check. */
static void
fail_exec (VmStage *vs, GError *error)
{
  if (g_error_matches (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE))
    {
      g_dbus_connection_call (
        spirit_line_runner_get_bus (vs->run->runner), SPIRIT_BUS_NAME, vs->vm_path,
        "org.freedesktop.DBus.Properties", "Get", g_variant_new ("(ss)", SPIRIT_VM_IFACE, "State"),
        G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_state_read, vs);
      return;
    }
  if (g_error_matches (error, SPIRIT_ERROR, SPIRIT_ERROR_AGENT_UNAVAILABLE))
    {
      g_autoptr (GError) shown = NULL;

      g_dbus_error_strip_remote_error (error);
      shown = spirit_proxy_error_no_agent (vs->run->target, error->message);
      vm_stage_end (vs, 1, shown);
      return;
    }
  fail_with_remote (vs, error);
}

static void
on_job_end (GVariant *status, gpointer user_data)
{
  VmStage *vs = user_data;

  if (status == NULL)
    vm_stage_service_gone (vs);
  else
    finish_from_status (vs, status);
}

static void
on_exec_replied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VmStage *vs = user_data;
  SpiritJobTable *jobs = spirit_line_runner_get_jobs (vs->run->runner);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_with_unix_fd_list_finish (
    G_DBUS_CONNECTION (source), NULL, result, &error);

  if (reply == NULL)
    {
      fail_exec (vs, error);
      return;
    }
  g_variant_get (reply, "(o)", &vs->job_path);
  if (g_cancellable_is_cancelled (vs->run->cancellable))
    on_cancelled (vs->run->cancellable, vs);
  /* a job that ended already finishes the stage within this call: vs is gone after it */
  spirit_job_table_wait (jobs, vs->job_path, on_job_end, vs);
}

static void
start_exec (VmStage *vs)
{
  SpiritStageRun *run = vs->run;
  GDBusConnection *bus = spirit_line_runner_get_bus (run->runner);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GError) error = NULL;
  GVariantBuilder options;
  const char *no_argv[] = { NULL };

  for (guint i = 0; i < 3; i++)
    if (g_unix_fd_list_append (fds, run->fds[i], &error) < 0)
      {
        vm_stage_end (vs, 1, error);
        return;
      }
  /* spiritd holds its own copies now (the list duplicated them when the message was built). */
  g_variant_builder_init (&options, G_VARIANT_TYPE ("a{sv}"));
  if (run->shell != NULL)
    g_variant_builder_add (&options, "{sv}", "shell", g_variant_new_string (run->shell));
  if (run->env[0] != NULL)
    g_variant_builder_add (&options, "{sv}", "env",
                           g_variant_new_strv ((const char *const *)run->env, -1));
  (void)spirit_line_runner_get_jobs (run->runner); /* subscribed before the call */
  g_dbus_connection_call_with_unix_fd_list (
    bus, SPIRIT_BUS_NAME, SPIRIT_ROOT_PATH, SPIRIT_PROXY_IFACE, "Exec",
    g_variant_new ("(o^as@a{sv}hhh)", vs->vm_path,
                   run->shell ? (const char *const *)no_argv : (const char *const *)run->argv,
                   g_variant_builder_end (&options), 0, 1, 2),
    G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, fds, NULL,
    on_exec_replied, vs);
  spirit_stage_run_close_fds (run);
}

static void
on_control_replied (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VmStage *vs = user_data;
  g_autoptr (GVariant) reply = call_finish_or_fail (vs, source, result);

  if (reply == NULL)
    return;
  if (vs->run->control == SPIRIT_CONTROL_SNAPSHOT_SAVE)
    {
      const char *name;
      g_autofree char *line = NULL;

      /* The name spiritd chose (or was given) is the stage's output. */
      g_variant_get (reply, "(&s)", &name);
      line = g_strdup_printf ("%s\n", name);
      if (write (vs->run->fds[1], line, strlen (line)) < 0)
        g_debug ("the snapshot's name could not be written: %s", g_strerror (errno));
    }
  vm_stage_end (vs, 0, NULL);
}

static void
start_control (VmStage *vs)
{
  SpiritStageRun *run = vs->run;
  const char *method = NULL;
  GVariant *args = NULL;
  const GVariantType *reply_type = G_VARIANT_TYPE_UNIT;

  switch (run->control)
    {
    case SPIRIT_CONTROL_PAUSE:
      method = "Pause";
      break;
    case SPIRIT_CONTROL_RESUME:
      method = "Resume";
      break;
    case SPIRIT_CONTROL_START:
      method = "Start";
      break;
    case SPIRIT_CONTROL_STOP:
      method = "Shutdown";
      args = g_variant_new ("(u)", 0);
      break;
    case SPIRIT_CONTROL_SNAPSHOT_SAVE:
      method = "CreateSnapshot";
      args = g_variant_new ("(s)", run->snapshot_name ? run->snapshot_name : "");
      reply_type = G_VARIANT_TYPE ("(s)");
      break;
    case SPIRIT_CONTROL_NONE:
      g_assert_not_reached ();
    }
  g_dbus_connection_call (spirit_line_runner_get_bus (run->runner), SPIRIT_BUS_NAME, vs->vm_path,
                          SPIRIT_VM_IFACE, method, args, reply_type,
                          G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT,
                          run->cancellable, on_control_replied, vs);
}

static void
on_vm_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VmStage *vs = user_data;
  g_autoptr (GVariant) reply = call_finish_or_fail (vs, source, result);

  if (reply == NULL)
    return;
  g_variant_get (reply, "(o)", &vs->vm_path);
  if (vs->run->control != SPIRIT_CONTROL_NONE)
    start_control (vs);
  else
    start_exec (vs);
}

void
spirit_run_vm_start (SpiritStageRun *run)
{
  GDBusConnection *bus = spirit_line_runner_get_bus (run->runner);
  VmStage *vs;

  if (bus == NULL)
    {
      g_autoptr (GError) error
        = g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                       "@%s: the Spirit service cannot be reached", run->target->name);
      spirit_stage_run_done (run, 1, error);
      return;
    }
  vs = g_new0 (VmStage, 1);
  vs->run = run;
  vs->cancel_id = g_cancellable_connect (run->cancellable, G_CALLBACK (on_cancelled), vs, NULL);
  g_dbus_connection_call (
    bus, SPIRIT_BUS_NAME, SPIRIT_ROOT_PATH, "org.crom.Spirit.Manager", "GetVM",
    g_variant_new ("(s)", run->target->vm ? run->target->vm : run->target->name),
    G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, run->cancellable, on_vm_found, vs);
}
