/* spiritctl-line.c: "spiritctl @linux ls -la", "spiritctl run LINE": the @target language.
 *
 * The targets a line may name are the aliases of targets.conf and every VM spiritd knows, each
 * under its name (and HOST/NAME), with the OS its agent reported. Without the service, only
 * @spirit and @docker work, and a VM target says why not when it runs.
 */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-line.h"

#include "spirit-error.h"
#include "spirit-line-runner.h"
#include "spirit-proxy-target-table.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>

SpiritProxyTargets *
spiritctl_line_targets (SpiritctlClient *client, GError **error)
{
  g_autoptr (GDBusObjectManager) objects = NULL;
  g_autolist (GDBusObject) list = NULL;
  g_autoptr (GPtrArray) vms = g_ptr_array_new ();

  if (client->bus != NULL)
    objects = spiritctl_client_get_objects (client, NULL);
  if (objects != NULL)
    list = g_dbus_object_manager_get_objects (objects);
  for (GList *l = list; l != NULL; l = l->next)
    {
      SpiritDBusVm *vm = spirit_object_peek_dbus_vm (SPIRIT_OBJECT (l->data));
      if (vm != NULL)
        g_ptr_array_add (vms, vm);
    }
  return spirit_proxy_targets_new_for_vms (vms, error);
}

typedef struct
{
  GMainLoop *loop;
  int status;
  GError *error;
} RunState;

static void
on_line_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RunState *state = user_data;

  if (!spirit_line_runner_run_finish (SPIRIT_LINE_RUNNER (source), result, &state->status,
                                      &state->error))
    state->status = 1;
  g_main_loop_quit (state->loop);
}

static gboolean
on_interrupt (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_CONTINUE;
}

int
spiritctl_line_run (SpiritctlClient *client, SpiritProxyTargets *targets, const char *text)
{
  g_autoptr (SpiritCommandLine) line = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritLineRunner) runner = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  RunState state = { loop, 0, NULL };
  guint sigint;

  line = spirit_command_line_parse (text, targets, NULL, &error);
  if (line == NULL)
    {
      g_printerr ("spirit: %s\n", error->message);
      return 2;
    }
  if (line->stages->len == 0)
    return 0;
  runner = spirit_line_runner_new (client->bus, NULL);
  /* Ctrl-C interrupts the commands (in the guest too), then the line ends with their status. */
  sigint = g_unix_signal_add (SIGINT, on_interrupt, cancellable);
  spirit_line_runner_run_async (runner, line, 0, 1, 2, cancellable, on_line_done, &state);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  if (state.error != NULL)
    {
      g_printerr ("spirit: %s\n", state.error->message);
      g_error_free (state.error);
    }
  return state.status;
}

static gboolean
is_operator (const char *word)
{
  static const char *const operators[]
    = { "|", ">", ">>", "<", "0<", "1>", "1>>", "2>", "2>>", "2>&1", "1>&2", NULL };

  return g_strv_contains (operators, word);
}

char *
spiritctl_line_from_words (int argc, char **argv)
{
  GString *line = g_string_new (argv[0]);
  gboolean shell = g_str_has_suffix (argv[0], "!");

  for (int i = 1; i < argc; i++)
    {
      const char *word = argv[i];
      const char *before = argv[i - 1];
      gboolean raw = shell || is_operator (word)
                     || (word[0] == '@' && (is_operator (before) || i == 0))
                     || (i == 1 && g_str_has_prefix (word, "--"))
                     || (i == 2 && g_str_equal (before, "--snapshot"));

      g_string_append_c (line, ' ');
      if (raw)
        g_string_append (line, word);
      else
        {
          g_autofree char *quoted = spirit_proxy_quote_word (word);
          g_string_append (line, quoted);
        }
    }
  return g_string_free (line, FALSE);
}

int
spiritctl_line_command (SpiritctlClient *client, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritProxyTargets) targets = spiritctl_line_targets (client, &error);

  if (targets == NULL)
    {
      g_printerr ("spirit: %s\n", error->message);
      return 2;
    }
  return spiritctl_line_run (client, targets, text);
}

gboolean
spiritctl_line_is_command (const char *word)
{
  return g_str_equal (word, "run") || g_str_equal (word, "shell");
}

/* @spirit and @docker work without the service, so a bus that cannot be reached only makes VM
 * targets fail when they run. */
int
spiritctl_line_main (gboolean session, const char *address, const char *at_line, guint nargs,
                     char **args)
{
  g_autoptr (GError) error = NULL;
  SpiritctlClient client = { 0 };
  int status;

  if (at_line == NULL && g_str_equal (args[0], "run") && nargs != 2)
    {
      g_printerr ("spiritctl: %s\n", _ ("usage: spiritctl run 'LINE'"));
      return 2;
    }
  if (at_line == NULL && g_str_equal (args[0], "shell") && nargs != 1)
    {
      g_printerr ("spiritctl: %s\n", _ ("usage: spiritctl shell"));
      return 2;
    }
  if (!spiritctl_client_connect (&client, session, address, &error))
    g_debug ("no bus: %s", error->message);
  if (at_line != NULL)
    status = spiritctl_line_command (&client, at_line);
  else if (g_str_equal (args[0], "run"))
    status = spiritctl_line_command (&client, args[1]);
  else
    status = spiritctl_shell_command (&client);
  spiritctl_client_clear (&client);
  return status;
}
