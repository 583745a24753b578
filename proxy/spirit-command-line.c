/* spirit-command-line.c: the command-line tree: its parts, and its two printed forms.
 *
 * dump() is the compact form the parser tests compare against; to_source() writes the line
 * back in the language with every word quoted, which the fuzzer parses again to check that
 * the parser reads its own output the same way.
 */
#define G_LOG_DOMAIN "spirit-command-line"

#include "spirit-command-line-private.h"

#include <string.h>

SpiritTarget *
spirit_target_new (SpiritTargetKind kind, const char *name, guint column)
{
  SpiritTarget *target = g_new0 (SpiritTarget, 1);

  target->kind = kind;
  target->os = kind == SPIRIT_TARGET_VM ? SPIRIT_TARGET_OS_UNKNOWN : SPIRIT_TARGET_OS_POSIX;
  target->name = g_strdup (name);
  target->column = column;
  return target;
}

SpiritTarget *
spirit_target_copy (const SpiritTarget *target)
{
  SpiritTarget *copy = spirit_target_new (target->kind, target->name, target->column);

  copy->os = target->os;
  copy->vm = g_strdup (target->vm);
  copy->container = g_strdup (target->container);
  return copy;
}

void
spirit_target_free (SpiritTarget *target)
{
  if (target == NULL)
    return;
  g_free (target->name);
  g_free (target->vm);
  g_free (target->container);
  g_free (target);
}

SpiritRedirect *
spirit_redirect_new (int fd, SpiritRedirectMode mode, guint column)
{
  SpiritRedirect *redirect = g_new0 (SpiritRedirect, 1);

  redirect->fd = fd;
  redirect->mode = mode;
  redirect->dup_fd = -1;
  redirect->column = column;
  return redirect;
}

void
spirit_redirect_free (SpiritRedirect *redirect)
{
  if (redirect == NULL)
    return;
  spirit_target_free (redirect->target);
  g_free (redirect->path);
  g_free (redirect);
}

SpiritCommand *
spirit_command_new (guint column)
{
  SpiritCommand *command = g_new0 (SpiritCommand, 1);

  command->env = g_new0 (char *, 1);
  command->redirects = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_redirect_free);
  command->column = column;
  return command;
}

void
spirit_command_free (SpiritCommand *command)
{
  if (command == NULL)
    return;
  g_strfreev (command->env);
  g_strfreev (command->argv);
  g_free (command->shell);
  g_ptr_array_unref (command->redirects);
  g_free (command);
}

SpiritStage *
spirit_stage_new (SpiritTarget *target, guint column)
{
  SpiritStage *stage = g_new0 (SpiritStage, 1);

  stage->target = target;
  stage->commands = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_command_free);
  stage->column = column;
  return stage;
}

void
spirit_stage_free (SpiritStage *stage)
{
  if (stage == NULL)
    return;
  spirit_target_free (stage->target);
  g_free (stage->snapshot_name);
  g_ptr_array_unref (stage->commands);
  g_free (stage);
}

SpiritCommandLine *
spirit_command_line_new (void)
{
  SpiritCommandLine *line = g_new0 (SpiritCommandLine, 1);

  line->stages = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_stage_free);
  return line;
}

void
spirit_command_line_free (SpiritCommandLine *line)
{
  if (line == NULL)
    return;
  g_ptr_array_unref (line->stages);
  g_free (line);
}

const char *
spirit_control_to_string (SpiritControl control)
{
  switch (control)
    {
    case SPIRIT_CONTROL_PAUSE:
      return "--pause";
    case SPIRIT_CONTROL_RESUME:
      return "--resume";
    case SPIRIT_CONTROL_START:
      return "--start";
    case SPIRIT_CONTROL_STOP:
      return "--stop";
    case SPIRIT_CONTROL_SNAPSHOT_SAVE:
      return "--snapshot save";
    case SPIRIT_CONTROL_NONE:
    default:
      return "";
    }
}

/* Single quotes keep every byte under both the POSIX and the Windows rules; a quote itself
 * goes inside double quotes, where neither rule lets it mean anything else. */
char *
spirit_proxy_quote_word (const char *word)
{
  GString *out = g_string_new ("'");

  for (const char *p = word; *p != '\0'; p++)
    {
      if (*p == '\'')
        g_string_append (out, "'\"'\"'");
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '\'');
  return g_string_free (out, FALSE);
}

/* ---- dump ---- */

static void
dump_target (GString *out, const SpiritTarget *target)
{
  switch (target->kind)
    {
    case SPIRIT_TARGET_HOST:
      g_string_append (out, "@spirit");
      break;
    case SPIRIT_TARGET_VM:
      g_string_append_printf (out, "@vm:%s", target->vm);
      if (target->os == SPIRIT_TARGET_OS_WINDOWS)
        g_string_append (out, "/win");
      break;
    case SPIRIT_TARGET_DOCKER:
    default:
      g_string_append (out, "@docker");
      if (target->container != NULL)
        g_string_append_printf (out, ":%s", target->container);
      break;
    }
}

static void
dump_redirect (GString *out, const SpiritRedirect *redirect)
{
  static const char *const ops[] = { "<", ">", ">>", ">&" };

  g_string_append_printf (out, " %d%s", redirect->fd, ops[redirect->mode]);
  if (redirect->mode == SPIRIT_REDIRECT_DUP)
    {
      g_string_append_printf (out, "%d", redirect->dup_fd);
      return;
    }
  if (redirect->target != NULL)
    dump_target (out, redirect->target);
  g_string_append_printf (out, "{%s}", redirect->path);
}

static void
dump_command (GString *out, const SpiritCommand *command)
{
  gboolean first = TRUE;

  for (guint i = 0; command->env[i] != NULL; i++, first = FALSE)
    g_string_append_printf (out, "%senv{%s}", first ? "" : " ", command->env[i]);
  if (command->shell != NULL)
    g_string_append_printf (out, "%ssh{%s}", first ? "" : " ", command->shell);
  for (guint i = 0; command->argv != NULL && command->argv[i] != NULL; i++, first = FALSE)
    g_string_append_printf (out, "%s{%s}", first ? "" : " ", command->argv[i]);
  for (guint i = 0; i < command->redirects->len; i++)
    dump_redirect (out, g_ptr_array_index (command->redirects, i));
}

char *
spirit_command_line_dump (const SpiritCommandLine *line)
{
  GString *out = g_string_new (NULL);

  for (guint s = 0; s < line->stages->len; s++)
    {
      const SpiritStage *stage = g_ptr_array_index (line->stages, s);

      if (s > 0)
        g_string_append (out, " |> ");
      dump_target (out, stage->target);
      if (stage->control != SPIRIT_CONTROL_NONE)
        {
          g_string_append_printf (out, " %s", spirit_control_to_string (stage->control));
          if (stage->snapshot_name != NULL)
            g_string_append_printf (out, " {%s}", stage->snapshot_name);
        }
      for (guint c = 0; c < stage->commands->len; c++)
        {
          g_string_append (out, c > 0 ? " | " : " ");
          dump_command (out, g_ptr_array_index (stage->commands, c));
        }
    }
  return g_string_free (out, FALSE);
}

/* ---- to_source ---- */

static void
source_target (GString *out, const SpiritTarget *target)
{
  g_string_append_printf (out, "@%s", target->name);
  if (target->container != NULL)
    g_string_append_printf (out, ":%s", target->container);
}

static void
source_word (GString *out, const char *word)
{
  g_autofree char *quoted = spirit_proxy_quote_word (word);

  g_string_append (out, quoted);
}

static void
source_redirect (GString *out, const SpiritRedirect *redirect)
{
  static const char *const ops[] = { "<", ">", ">>", ">&" };

  g_string_append_printf (out, " %d%s", redirect->fd, ops[redirect->mode]);
  if (redirect->mode == SPIRIT_REDIRECT_DUP)
    {
      g_string_append_printf (out, "%d", redirect->dup_fd);
      return;
    }
  g_string_append_c (out, ' ');
  if (redirect->target != NULL)
    {
      source_target (out, redirect->target);
      g_string_append_c (out, ' ');
    }
  source_word (out, redirect->path);
}

static void
source_command (GString *out, const SpiritCommand *command, gboolean with_redirects)
{
  for (guint i = 0; command->env[i] != NULL; i++)
    {
      const char *eq = strchr (command->env[i], '=');
      g_string_append_printf (out, " %.*s=", (int)(eq - command->env[i]), command->env[i]);
      source_word (out, eq + 1);
    }
  if (command->shell != NULL)
    g_string_append_printf (out, " %s", command->shell);
  for (guint i = 0; command->argv != NULL && command->argv[i] != NULL; i++)
    {
      g_string_append_c (out, ' ');
      source_word (out, command->argv[i]);
    }
  for (guint i = 0; with_redirects && i < command->redirects->len; i++)
    source_redirect (out, g_ptr_array_index (command->redirects, i));
}

char *
spirit_command_line_to_source (const SpiritCommandLine *line)
{
  GString *out = g_string_new (NULL);

  for (guint s = 0; s < line->stages->len; s++)
    {
      const SpiritStage *stage = g_ptr_array_index (line->stages, s);
      gboolean shell = stage->commands->len == 1
                       && ((SpiritCommand *)g_ptr_array_index (stage->commands, 0))->shell != NULL;

      if (s > 0)
        g_string_append (out, " | ");
      source_target (out, stage->target);
      if (shell)
        g_string_append_c (out, '!');
      if (stage->control != SPIRIT_CONTROL_NONE)
        g_string_append_printf (out, " %s", spirit_control_to_string (stage->control));
      if (stage->snapshot_name != NULL)
        {
          g_string_append_c (out, ' ');
          source_word (out, stage->snapshot_name);
        }
      for (guint c = 0; c < stage->commands->len; c++)
        {
          if (c > 0)
            g_string_append (out, " |");
          source_command (out, g_ptr_array_index (stage->commands, c), TRUE);
        }
    }
  return g_string_free (out, FALSE);
}

/* ---- a POSIX sh line ---- */

static void
sh_redirect (GString *out, const SpiritRedirect *redirect)
{
  static const char *const ops[] = { "<", ">", ">>", ">&" };

  g_string_append_printf (out, " %d%s", redirect->fd, ops[redirect->mode]);
  if (redirect->mode == SPIRIT_REDIRECT_DUP)
    g_string_append_printf (out, "%d", redirect->dup_fd);
  else
    source_word (out, redirect->path);
}

/* A stage's in-target pipeline as one line for a shell: the words and the redirections that
 * stay in the target, each started with a blank, written by a dialect (sh or cmd.exe). */
typedef struct
{
  void (*command) (GString *out, const SpiritCommand *command);
  void (*redirect) (GString *out, const SpiritRedirect *redirect);
} ShellDialect;

static char *
stage_to_shell_line (const SpiritStage *stage, const ShellDialect *dialect)
{
  const SpiritCommand *first;
  GString *out;

  if (stage->control != SPIRIT_CONTROL_NONE || stage->commands->len == 0)
    return NULL;
  first = g_ptr_array_index (stage->commands, 0);
  if (first->shell != NULL)
    return g_strdup (first->shell);

  out = g_string_new (NULL);
  for (guint c = 0; c < stage->commands->len; c++)
    {
      const SpiritCommand *command = g_ptr_array_index (stage->commands, c);

      if (c > 0)
        g_string_append (out, " |");
      dialect->command (out, command);
      for (guint i = 0; i < command->redirects->len; i++)
        {
          const SpiritRedirect *redirect = g_ptr_array_index (command->redirects, i);
          if (redirect->target == NULL)
            dialect->redirect (out, redirect);
        }
    }
  g_string_erase (out, 0, 1); /* the first word's blank */
  return g_string_free (out, FALSE);
}

static void
sh_command (GString *out, const SpiritCommand *command)
{
  source_command (out, command, FALSE);
}

char *
spirit_stage_to_posix_shell (const SpiritStage *stage)
{
  static const ShellDialect sh = { sh_command, sh_redirect };

  return stage_to_shell_line (stage, &sh);
}

/* Words quoted for cmd.exe and the C runtime's argv rules: "…" around a word with blanks or
 * cmd's operators, \" for a quote inside. cmd has no way to quote %VAR% on a /c line. */
static void
cmd_word (GString *out, const char *word)
{
  gboolean quote = *word == '\0' || strpbrk (word, " \t&|<>^()\"") != NULL;

  g_string_append_c (out, ' ');
  if (!quote)
    {
      g_string_append (out, word);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = word; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
cmd_command (GString *out, const SpiritCommand *command)
{
  for (guint i = 0; command->argv[i] != NULL; i++)
    cmd_word (out, command->argv[i]);
}

static void
cmd_redirect (GString *out, const SpiritRedirect *redirect)
{
  if (redirect->mode == SPIRIT_REDIRECT_DUP)
    {
      g_string_append_printf (out, " %d>&%d", redirect->fd, redirect->dup_fd);
      return;
    }
  g_string_append_printf (out, " %d%s", redirect->fd,
                          redirect->mode == SPIRIT_REDIRECT_INPUT    ? "<"
                          : redirect->mode == SPIRIT_REDIRECT_APPEND ? ">>"
                                                                     : ">");
  cmd_word (out, redirect->path);
}

char *
spirit_stage_to_cmd_line (const SpiritStage *stage)
{
  static const ShellDialect cmd = { cmd_command, cmd_redirect };

  return stage_to_shell_line (stage, &cmd);
}
