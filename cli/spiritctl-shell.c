/* spiritctl-shell.c: "spiritctl shell", an interactive prompt for @target lines.
 *
 * GNU readline gives the line editing, the history (kept in $XDG_STATE_HOME/spirit/history,
 * 1000 lines) and the completion: a word that starts with '@' completes to a target name,
 * any other word to a file name on the host. "exit", "quit" or Ctrl-D leave; the status of the
 * last line is the shell's, as in sh. The list of targets is read again before every line,
 * so a VM defined meanwhile can be named at once.
 */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-line.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#define HISTORY_LINES 1000

static SpiritProxyTargets *completion_targets;

static char *
complete_target (const char *text, int state)
{
  static GStrv names = NULL;
  static guint next;

  if (state == 0)
    {
      g_clear_pointer (&names, g_strfreev);
      names = completion_targets ? spirit_proxy_targets_list_names (completion_targets) : NULL;
      next = 0;
    }
  while (names != NULL && names[next] != NULL)
    {
      const char *name = names[next++];
      g_autofree char *word = g_strconcat ("@", name, NULL);

      if (g_str_has_prefix (word, text))
        return strdup (word); /* readline frees it with free() */
    }
  return NULL;
}

static char **
complete (const char *text, int start, int end)
{
  if (text[0] == '@')
    {
      rl_attempted_completion_over = 1;
      return rl_completion_matches (text, complete_target);
    }
  return NULL; /* readline's file names */
}

/* Without a terminal (a script piped in), readline would echo every line: read it plainly. */
static char *
read_plain_line (void)
{
  char *line = NULL;
  size_t size = 0;
  ssize_t n = getline (&line, &size, stdin);

  if (n < 0)
    {
      free (line);
      return NULL;
    }
  return line;
}

static char *
history_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "spirit", "history", NULL);
}

int
spiritctl_shell_command (SpiritctlClient *client)
{
  g_autofree char *history = history_path ();
  g_autofree char *history_dir = g_path_get_dirname (history);
  gboolean interactive = isatty (STDIN_FILENO);
  int status = 0;

  rl_readline_name = "spirit";
  rl_attempted_completion_function = complete;
  /* '@' starts a word to complete, and '/' is part of HOST/NAME targets. */
  rl_completer_word_break_characters = (char *)" \t\n\"'|<>";
  using_history ();
  stifle_history (HISTORY_LINES);
  read_history (history);

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SpiritProxyTargets) targets = spiritctl_line_targets (client, &error);
      g_autofree char *text = NULL;
      char *input;

      if (targets == NULL)
        {
          g_printerr ("spirit: %s\n", error->message);
          return 2;
        }
      completion_targets = targets;
      input = interactive ? readline ("spirit> ") : read_plain_line ();
      completion_targets = NULL;
      if (input == NULL)
        break;
      text = g_strdup (g_strstrip (input));
      free (input);
      if (g_str_equal (text, "exit") || g_str_equal (text, "quit"))
        break;
      if (text[0] == '\0')
        continue;
      if (interactive)
        add_history (text);
      status = spiritctl_line_run (client, targets, text);
    }
  if (interactive)
    g_print ("\n");
  if (g_mkdir_with_parents (history_dir, 0700) == 0 && write_history (history) != 0)
    g_debug ("cannot write %s", history);
  return status;
}
