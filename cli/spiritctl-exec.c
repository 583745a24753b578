/* spiritctl-exec.c: "spiritctl exec VM -- ARGV…": a command in a guest, on our own stdio.
 *
 * spiritd gets spiritctl's own stdin, stdout and stderr (fd passing), so the guest command's
 * output goes straight to wherever ours goes, with no copy through this process. We subscribe to
 * JobExited before calling Exec (the signal may come right after the reply), turn Ctrl-C into
 * Cancel(job, "INT"), and exit with the command's status: its exit code, 128+N for signal N
 * (like a shell), 124 when --timeout killed it (like timeout(1)).
 */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-exec.h"
#include "spirit-error.h"
#include "spirit-job-status.h"
#include "spirit-job-table.h"

#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>

#define PROXY_IFACE "org.crom.Spirit.Proxy"

typedef struct
{
  GMainLoop *loop;
  GDBusConnection *bus;
  SpiritJobTable *jobs;       /* subscribed to JobExited before Exec */
  char *job;                  /* set from Exec's reply */
  GVariant *status;           /* ours, once it came */
  GError *error;              /* Exec failed, or spiritd went away */
  const char *pending_signal; /* Ctrl-C before the reply: sent once the job is known */
  gboolean done;
} ExecState;

static void
exec_state_done (ExecState *state)
{
  state->done = TRUE;
  g_main_loop_quit (state->loop);
}

static void
on_job_end (GVariant *status, gpointer user_data)
{
  ExecState *state = user_data;

  if (status != NULL)
    state->status = g_variant_ref (status);
  else
    state->error = g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                                _ ("The Spirit service went away while the command ran"));
  exec_state_done (state);
}

static void
send_cancel (ExecState *state, const char *signal_name)
{
  g_dbus_connection_call (state->bus, SPIRIT_BUS_NAME, SPIRIT_OBJECT_ROOT, PROXY_IFACE, "Cancel",
                          g_variant_new ("(os)", state->job, signal_name), NULL,
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
}

static void
on_exec_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ExecState *state = user_data;
  g_autoptr (GVariant) reply = g_dbus_connection_call_with_unix_fd_list_finish (
    G_DBUS_CONNECTION (source), NULL, result, &state->error);

  if (reply == NULL)
    {
      exec_state_done (state);
      return;
    }
  g_variant_get (reply, "(o)", &state->job);
  if (state->pending_signal != NULL)
    send_cancel (state, state->pending_signal);
  spirit_job_table_wait (state->jobs, state->job, on_job_end, state);
}

static gboolean
on_unix_signal (ExecState *state, const char *signal_name)
{
  if (state->job != NULL)
    send_cancel (state, signal_name);
  else
    state->pending_signal = signal_name;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigint (gpointer user_data)
{
  return on_unix_signal (user_data, "INT");
}

static gboolean
on_sigterm (gpointer user_data)
{
  return on_unix_signal (user_data, "TERM");
}

static gboolean
on_sighup (gpointer user_data)
{
  return on_unix_signal (user_data, "HUP");
}

static int
exit_status_of (GVariant *status)
{
  SpiritJobEnd end;

  spirit_job_end_from_status (status, &end);
  if (end.error != NULL)
    {
      g_printerr ("spiritctl: %s\n", end.error);
      return 1;
    }
  if (end.stdout_truncated)
    g_printerr (_ ("spiritctl: the command's stdout was truncated by the guest agent\n"));
  if (end.stderr_truncated)
    g_printerr (_ ("spiritctl: the command's stderr was truncated by the guest agent\n"));
  if (end.timed_out)
    g_printerr (_ ("spiritctl: the command timed out and was killed\n"));
  if (!end.has_exit_status)
    g_printerr (_ ("spiritctl: the service reported no exit status\n"));
  return end.exit_status;
}

int
spiritctl_exec_command (SpiritctlClient *client, int argc, char **argv)
{
  int timeout = 0;
  gboolean shell = FALSE;
  g_autofree char *cwd = NULL;
  g_autofree char *backend = NULL;
  g_auto (GStrv) env = NULL;
  g_auto (GStrv) rest = NULL;
  g_auto (GStrv) args = NULL;
  const GOptionEntry entries[]
    = { { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, N_ ("Kill the command after SECONDS"),
          N_ ("SECONDS") },
        { "cwd", 0, 0, G_OPTION_ARG_STRING, &cwd, N_ ("Working directory in the guest"),
          N_ ("DIR") },
        { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env,
          N_ ("Set NAME=VALUE in the command's environment"), N_ ("NAME=VALUE") },
        { "shell", 's', 0, G_OPTION_ARG_NONE, &shell,
          N_ ("Run the words as one command line of the guest's shell"), NULL },
        { "backend", 0, 0, G_OPTION_ARG_STRING, &backend, N_ ("auto, spirit-agent or qemu-ga"),
          N_ ("NAME") },
        { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, NULL },
        { NULL } };
  g_autoptr (GOptionContext) context = g_option_context_new (_ ("VM -- COMMAND [ARGS…]"));
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritDBusVm) vm = NULL;
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GVariantBuilder) options = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  g_autofree char *command_line = NULL;
  const char *const empty[] = { NULL };
  ExecState state = { 0 };
  guint sig[3];
  int status;

  (void)argc;
  g_option_context_set_summary (context, _ ("Run a command in a VM through its guest agent"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  args = g_strdupv (argv);
  if (!g_option_context_parse_strv (context, &args, &error))
    {
      g_printerr ("spiritctl exec: %s\n", error->message);
      return 2;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] == NULL)
    {
      g_printerr ("%s", _ ("usage: spiritctl exec [--timeout SEC] [--cwd DIR] [--env K=V]… "
                           "[--shell] VM -- COMMAND [ARGS…]\n"));
      return 2;
    }
  for (guint i = 0; rest[i]; i++)
    if (!g_utf8_validate (rest[i], -1, NULL))
      {
        g_printerr (_ ("spiritctl exec: argument '%s' is not valid UTF-8\n"), rest[i]);
        return 2;
      }
  if (timeout < 0 || timeout > G_MAXINT / 1000)
    {
      g_printerr ("spiritctl exec: %s\n", _ ("--timeout must be between 0 and 2147483 seconds"));
      return 2;
    }

  vm = spiritctl_client_get_vm (client, rest[0], &error);
  if (vm == NULL)
    return spiritctl_client_fail (error);

  if (shell)
    {
      command_line = g_strjoinv (" ", rest + 1);
      g_variant_builder_add (options, "{sv}", "shell", g_variant_new_string (command_line));
    }
  if (cwd != NULL)
    g_variant_builder_add (options, "{sv}", "cwd", g_variant_new_string (cwd));
  if (env != NULL)
    g_variant_builder_add (options, "{sv}", "env",
                           g_variant_new_strv ((const char *const *)env, -1));
  if (timeout > 0)
    g_variant_builder_add (options, "{sv}", "timeout-ms",
                           g_variant_new_uint32 ((guint32)timeout * 1000));
  if (backend != NULL)
    g_variant_builder_add (options, "{sv}", "backend", g_variant_new_string (backend));
  for (int fd = 0; fd < 3; fd++)
    if (g_unix_fd_list_append (fds, fd, &error) < 0)
      return spiritctl_client_fail (error);

  state.loop = g_main_loop_new (NULL, FALSE);
  state.bus = client->bus;
  /* Before Exec: JobExited may follow its reply at once. */
  state.jobs = spirit_job_table_new (client->bus);
  sig[0] = g_unix_signal_add (SIGINT, on_sigint, &state);
  sig[1] = g_unix_signal_add (SIGTERM, on_sigterm, &state);
  sig[2] = g_unix_signal_add (SIGHUP, on_sighup, &state);

  g_dbus_connection_call_with_unix_fd_list (
    client->bus, SPIRIT_BUS_NAME, SPIRIT_OBJECT_ROOT, PROXY_IFACE, "Exec",
    g_variant_new ("(o^as@a{sv}hhh)", g_dbus_proxy_get_object_path (G_DBUS_PROXY (vm)),
                   shell ? (char **)empty : rest + 1, g_variant_builder_end (options), 0, 1, 2),
    G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, fds, NULL,
    on_exec_reply, &state);
  while (!state.done)
    g_main_loop_run (state.loop);

  if (state.error != NULL)
    status = spiritctl_client_fail (state.error);
  else
    status = exit_status_of (state.status);

  for (int i = 0; i < 3; i++)
    g_source_remove (sig[i]);
  g_clear_pointer (&state.jobs, spirit_job_table_free);
  g_clear_error (&state.error);
  g_clear_pointer (&state.status, g_variant_unref);
  g_free (state.job);
  g_main_loop_unref (state.loop);
  return status;
}
