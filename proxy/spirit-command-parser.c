/* spirit-command-parser.c: the grammar of a command line (docs/proxy-syntax.md), top-down.
 *
 *   line     = [ stage { "|" stage } ]           (every stage after a "|" starts with "@")
 *   stage    = [ target ] ( control | pipeline ) | target "!" shell-text { target-redirect }
 *   pipeline = command { "|" command }            ("|" not followed by "@": inside the target)
 *   command  = { assignment } word { word | redirect }
 *
 * The lexer reads each word with the rules of the target it belongs to, so the parser resolves
 * a target as soon as it has read it. Every refusal names its column.
 */
#define G_LOG_DOMAIN "spirit-command-parser"

#include "spirit-command-line-private.h"
#include "spirit-command-lexer.h"
#include "spirit-error.h"

#include <string.h>

#define CONTROLS_HINT "--pause, --resume, --start, --stop or --snapshot save [NAME]"

typedef struct
{
  SpiritLexer lx;
  SpiritProxyTargets *targets;
  char *shell_hint; /* "@linux!" for the stage being read */
} Parser;

static const char *
stream_name (int fd)
{
  return fd == 0 ? "standard input" : fd == 1 ? "standard output" : "standard error";
}

/* ---- targets ---- */

static gboolean
is_container_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '.' || c == '-';
}

static gboolean
resolve_target (Parser *P, SpiritTarget *target, gsize at)
{
  const char *vm = NULL;
  SpiritTargetOs os = SPIRIT_TARGET_OS_UNKNOWN;

  if (g_ascii_strcasecmp (target->name, "spirit") == 0)
    target->kind = SPIRIT_TARGET_HOST;
  else if (g_ascii_strcasecmp (target->name, "docker") == 0)
    target->kind = SPIRIT_TARGET_DOCKER;
  else if (P->targets == NULL)
    target->vm = g_strdup (target->name);
  else if (spirit_proxy_targets_lookup (P->targets, target->name, &vm, &os))
    {
      target->vm = g_strdup (vm);
      target->os = os;
    }
  else
    {
      g_autofree char *known = spirit_proxy_targets_describe (P->targets);
      return spirit_lexer_fail (&P->lx, at, "unknown target '@%s': the known targets are %s",
                                target->name, known);
    }
  if (target->kind != SPIRIT_TARGET_VM)
    target->os = SPIRIT_TARGET_OS_POSIX;
  return TRUE;
}

/* At '@': "@name", "@docker:container", and for a stage "@name!" (a shell). */
static SpiritTarget *
parse_target (Parser *P, gboolean in_redirect, gboolean *out_shell)
{
  SpiritLexer *lx = &P->lx;
  gsize at = lx->pos, p = at + 1;
  g_autoptr (SpiritTarget) target = NULL;
  g_autofree char *name = NULL;

  while (p < lx->len && spirit_proxy_target_name_char_is_valid (g_utf8_get_char (lx->text + p)))
    p = (gsize)(g_utf8_next_char (lx->text + p) - lx->text);
  if (p == at + 1)
    {
      spirit_lexer_fail (lx, at, "expected a target name after '@'");
      return NULL;
    }
  name = g_strndup (lx->text + at + 1, p - at - 1);
  target = spirit_target_new (SPIRIT_TARGET_VM, name, spirit_lexer_column (lx, at));
  if (!resolve_target (P, target, at))
    return NULL;

  if (p < lx->len && lx->text[p] == ':')
    {
      gsize start = ++p;
      if (target->kind != SPIRIT_TARGET_DOCKER)
        {
          spirit_lexer_fail (lx, start - 1, "only @docker takes ':<container>'");
          return NULL;
        }
      while (p < lx->len && is_container_char (lx->text[p]))
        p++;
      if (p == start)
        {
          spirit_lexer_fail (lx, start, "expected a container name after '@%s:'", name);
          return NULL;
        }
      target->container = g_strndup (lx->text + start, p - start);
    }

  *out_shell = FALSE;
  if (p < lx->len && lx->text[p] == '!')
    {
      if (in_redirect)
        {
          spirit_lexer_fail (lx, p, "a redirection cannot ask for a shell ('!')");
          return NULL;
        }
      *out_shell = TRUE;
      lx->pos = p + 1;
      return g_steal_pointer (&target);
    }

  lx->pos = p;
  if (in_redirect && (p >= lx->len || !spirit_lexer_is_blank (lx->text[p])))
    {
      spirit_lexer_fail (lx, p, "expected a blank and a path after '%.*s'", (int)(p - at),
                         lx->text + at);
      return NULL;
    }
  if (p < lx->len && !spirit_lexer_is_blank (lx->text[p]))
    {
      spirit_lexer_fail (lx, p, "expected a blank after '%.*s'", (int)(p - at), lx->text + at);
      return NULL;
    }
  return g_steal_pointer (&target);
}

/* ---- words ---- */

/* sh expands an unquoted ~ at the start of a word or of an assignment's value. */
static gboolean
check_tilde (Parser *P, const SpiritWord *word, gsize index, SpiritTargetOs os)
{
  if (os == SPIRIT_TARGET_OS_WINDOWS || index >= word->value->len || word->value->str[index] != '~'
      || word->quoted->str[index])
    return TRUE;
  return spirit_lexer_fail (&P->lx, word->start + index,
                            "'~' (a home directory) is expanded by a shell: quote it, or hand the "
                            "line to the target's shell with '%s …'",
                            P->shell_hint);
}

/* NAME=value, with NAME and '=' unquoted, before the program: an environment variable. Returns
 * the index of the '=' or 0. */
static gsize
assignment_length (const SpiritWord *word)
{
  const char *v = word->value->str;
  gsize i;

  if (word->value->len == 0 || word->quoted->str[0] || !(g_ascii_isalpha (v[0]) || v[0] == '_'))
    return 0;
  for (i = 1; i < word->value->len && !word->quoted->str[i]; i++)
    {
      if (v[i] == '=')
        return i;
      if (!g_ascii_isalnum (v[i]) && v[i] != '_')
        return 0;
    }
  return 0;
}

/* ---- redirections ---- */

static gboolean
refuse_shell_operator (Parser *P, const char *op, const char *what)
{
  return spirit_lexer_fail (&P->lx, P->lx.pos,
                            "'%s' %s, which needs a shell: quote it, or hand the line to the "
                            "target's shell with '%s …'",
                            op, what, P->shell_hint);
}

static gboolean
check_not_twice (Parser *P, const SpiritCommand *command, const SpiritRedirect *redirect)
{
  for (guint i = 0; i < command->redirects->len; i++)
    {
      const SpiritRedirect *other = g_ptr_array_index (command->redirects, i);
      if (other->fd == redirect->fd)
        return spirit_lexer_fail_at_column (&P->lx, redirect->column,
                                            "%s is already redirected at column %u",
                                            stream_name (redirect->fd), other->column);
    }
  return TRUE;
}

static gboolean
parse_dup_target (Parser *P, SpiritRedirect *redirect, gsize at)
{
  SpiritLexer *lx = &P->lx;
  char c;

  spirit_lexer_skip_blanks (lx);
  c = spirit_lexer_peek (lx, 0);
  if (c == '-')
    return spirit_lexer_fail (lx, lx->pos, "closing a stream ('>&-') is not supported");
  if ((c != '1' && c != '2') || !spirit_lexer_is_word_end (spirit_lexer_peek (lx, 1)))
    return spirit_lexer_fail (lx, lx->pos, "expected 1 or 2 after '>&'");
  redirect->dup_fd = c - '0';
  lx->pos++;
  if (redirect->dup_fd == redirect->fd)
    return spirit_lexer_fail (lx, at, "'%d>&%d' joins a stream to itself", redirect->fd,
                              redirect->fd);
  return TRUE;
}

static gboolean
parse_redirect_path (Parser *P,
                     SpiritRedirect *redirect,
                     const SpiritTarget *stage_target,
                     const char *op)
{
  SpiritLexer *lx = &P->lx;
  g_autoptr (SpiritWord) word = NULL;
  SpiritTargetOs os;
  char c;

  spirit_lexer_skip_blanks (lx);
  if (spirit_lexer_peek (lx, 0) == '@')
    {
      gboolean shell;
      redirect->target = parse_target (P, TRUE, &shell);
      if (redirect->target == NULL)
        return FALSE;
      spirit_lexer_skip_blanks (lx);
    }
  c = spirit_lexer_peek (lx, 0);
  if (spirit_lexer_is_word_end (c) || c == '#')
    return spirit_lexer_fail (lx, lx->pos, "expected a path after '%s%s%s'", op,
                              redirect->target ? " @" : "",
                              redirect->target ? redirect->target->name : "");

  /* The path is read with the rules of the target it lives on: "> @windows C:\x" keeps its \. */
  os = (redirect->target != NULL ? redirect->target : stage_target)->os;
  word = spirit_lexer_read_word (lx, os);
  if (word == NULL || !check_tilde (P, word, 0, os))
    return FALSE;
  if (word->value->len == 0)
    return spirit_lexer_fail (lx, word->start, "the path after '%s' is empty", op);
  redirect->path = g_strdup (word->value->str);
  return TRUE;
}

/* At "[n]<", "[n]>", "[n]>>" or "[n]>&". */
static gboolean
parse_redirect (Parser *P, SpiritCommand *command, const SpiritTarget *stage_target)
{
  SpiritLexer *lx = &P->lx;
  gsize at = lx->pos, digits = 0;
  g_autoptr (SpiritRedirect) redirect = NULL;
  SpiritRedirectMode mode;
  int fd = -1;
  const char *op;

  while (g_ascii_isdigit (spirit_lexer_peek (lx, digits)))
    digits++;
  if (digits > 0)
    {
      if (digits > 1 || lx->text[at] > '2')
        return spirit_lexer_fail (lx, at, "only 0, 1 and 2 can be redirected");
      fd = lx->text[at] - '0';
      lx->pos += digits;
    }

  if (spirit_lexer_peek (lx, 0) == '<')
    {
      char next = spirit_lexer_peek (lx, 1);
      if (next == '<')
        return refuse_shell_operator (P, "<<", "starts a here-document");
      if (next == '>' || next == '&')
        return spirit_lexer_fail (lx, lx->pos, "'<%c' is not supported: use '<' or '>'", next);
      mode = SPIRIT_REDIRECT_INPUT;
      op = "<";
      lx->pos++;
    }
  else
    {
      char next = spirit_lexer_peek (lx, 1);
      if (next == '|')
        return spirit_lexer_fail (lx, lx->pos, "'>|' is not supported: use '>'");
      mode = next == '>'   ? SPIRIT_REDIRECT_APPEND
             : next == '&' ? SPIRIT_REDIRECT_DUP
                           : SPIRIT_REDIRECT_OUTPUT;
      op = mode == SPIRIT_REDIRECT_APPEND ? ">>" : mode == SPIRIT_REDIRECT_DUP ? ">&" : ">";
      lx->pos += mode == SPIRIT_REDIRECT_OUTPUT ? 1 : 2;
    }

  if (mode == SPIRIT_REDIRECT_INPUT && fd > 0)
    return spirit_lexer_fail (lx, at, "only standard input (0) can be redirected with '<'");
  if (mode != SPIRIT_REDIRECT_INPUT && fd == 0)
    return spirit_lexer_fail (lx, at, "standard input (0) can only be redirected with '<'");
  if (fd < 0)
    fd = mode == SPIRIT_REDIRECT_INPUT ? 0 : 1;

  redirect = spirit_redirect_new (fd, mode, spirit_lexer_column (lx, at));
  if (mode == SPIRIT_REDIRECT_DUP ? !parse_dup_target (P, redirect, at)
                                  : !parse_redirect_path (P, redirect, stage_target, op))
    return FALSE;
  if (!check_not_twice (P, command, redirect))
    return FALSE;
  g_ptr_array_add (command->redirects, g_steal_pointer (&redirect));
  return TRUE;
}

static gboolean
at_redirect (const SpiritLexer *lx)
{
  gsize n = 0;

  while (g_ascii_isdigit (spirit_lexer_peek (lx, n)))
    n++;
  return spirit_lexer_peek (lx, n) == '<' || spirit_lexer_peek (lx, n) == '>';
}

/* The pipe owns stdin of every command but the first and stdout of every one but the last; a
 * file on another target is relayed by the client, which sees only the stage's two ends. */
static gboolean
check_redirects (Parser *P, SpiritStage *stage, gboolean piped_in, gboolean piped_out)
{
  guint n = stage->commands->len;

  for (guint i = 0; i < n; i++)
    {
      SpiritCommand *command = g_ptr_array_index (stage->commands, i);

      for (guint r = 0; r < command->redirects->len; r++)
        {
          SpiritRedirect *redirect = g_ptr_array_index (command->redirects, r);
          guint col = redirect->column;
          gboolean writes_stdout = redirect->fd == 1;

          if (redirect->fd == 0 && i > 0)
            return spirit_lexer_fail_at_column (&P->lx, col,
                                                "only the first command of a pipeline can read "
                                                "from '<': the others read the pipe");
          if (redirect->fd == 0 && piped_in)
            return spirit_lexer_fail_at_column (&P->lx, col,
                                                "standard input already comes from the pipe "
                                                "before '@%s'",
                                                stage->target->name);
          if (writes_stdout && i + 1 < n)
            return spirit_lexer_fail_at_column (
              &P->lx, col,
              "only the last command of a pipeline can "
              "redirect its output: the others write to the pipe");
          if (writes_stdout && piped_out)
            return spirit_lexer_fail_at_column (&P->lx, col,
                                                "standard output is redirected, so nothing would "
                                                "reach the pipe to the next target");
          if (redirect->target != NULL && redirect->fd == 2 && i + 1 < n)
            return spirit_lexer_fail_at_column (&P->lx, col,
                                                "a redirection to another target must be on the "
                                                "last command of the pipeline");
        }
    }
  return TRUE;
}

/* ---- commands and stages ---- */

static gboolean
refuse_operator (Parser *P, char c, char next)
{
  switch (c)
    {
    case '\n':
      return spirit_lexer_fail (&P->lx, P->lx.pos,
                                "a line holds one command line; to give several to the target's "
                                "shell, use '%s …'",
                                P->shell_hint);
    case ';':
      return refuse_shell_operator (P, ";", next == ';' ? "ends a case" : "separates commands");
    case '&':
      return refuse_shell_operator (P, next == '&' ? "&&" : "&",
                                    next == '&' ? "joins commands"
                                                : "runs a command in the background");
    case '|':
      return refuse_shell_operator (P, next == '|' ? "||" : "|&",
                                    next == '|' ? "joins commands" : "pipes standard error");
    default:
      return refuse_shell_operator (P, c == '(' ? "(" : ")", "groups commands");
    }
}

static SpiritCommand *
parse_command (Parser *P, const SpiritTarget *target, gboolean after_pipe)
{
  SpiritLexer *lx = &P->lx;
  g_autoptr (SpiritCommand) command = spirit_command_new (spirit_lexer_column (lx, lx->pos));
  g_autoptr (GStrvBuilder) env = g_strv_builder_new ();
  g_autoptr (GStrvBuilder) argv = g_strv_builder_new ();
  guint n_env = 0, n_argv = 0;

  for (;;)
    {
      char c, next;
      g_autoptr (SpiritWord) word = NULL;
      gsize eq;

      spirit_lexer_skip_blanks (lx);
      c = spirit_lexer_peek (lx, 0);
      next = spirit_lexer_peek (lx, 1);
      if (n_env + n_argv == 0 && command->redirects->len == 0)
        command->column = spirit_lexer_column (lx, lx->pos);
      if (c == '\0')
        break;
      if (c == '#')
        {
          lx->pos = lx->len; /* a comment */
          break;
        }
      if (c == '|' && next != '|' && next != '&')
        break;
      if (strchr ("\n;&|()", c) != NULL)
        {
          refuse_operator (P, c, next);
          return NULL;
        }
      if (at_redirect (lx))
        {
          if (!parse_redirect (P, command, target))
            return NULL;
          continue;
        }

      word = spirit_lexer_read_word (lx, target->os);
      if (word == NULL)
        return NULL;
      eq = n_argv == 0 ? assignment_length (word) : 0;
      if (!check_tilde (P, word, eq > 0 ? eq + 1 : 0, target->os))
        return NULL;
      if (eq > 0)
        {
          g_strv_builder_add (env, word->value->str);
          n_env++;
        }
      else
        {
          g_strv_builder_add (argv, word->value->str);
          n_argv++;
        }
    }

  if (n_argv == 0)
    {
      const char *why = n_env > 0                          ? " after the assignment"
                        : command->redirects->len > 0      ? " for the redirection"
                        : spirit_lexer_peek (lx, 0) == '|' ? " before '|'"
                        : after_pipe                       ? " after '|'"
                                                           : "";
      spirit_lexer_fail (lx, lx->pos, "expected a command%s", why);
      return NULL;
    }
  g_strfreev (command->env);
  command->env = g_strv_builder_end (env);
  command->argv = g_strv_builder_end (argv);
  return g_steal_pointer (&command);
}

static gboolean
parse_pipeline (Parser *P, SpiritStage *stage, gboolean *out_piped)
{
  SpiritLexer *lx = &P->lx;
  gboolean after_pipe = FALSE;

  for (;;)
    {
      SpiritCommand *command = parse_command (P, stage->target, after_pipe);

      if (command == NULL)
        return FALSE;
      g_ptr_array_add (stage->commands, command);
      if (spirit_lexer_peek (lx, 0) != '|')
        return TRUE;
      if (spirit_lexer_pipes_to_target_at (lx, lx->pos))
        {
          lx->pos++;
          spirit_lexer_skip_blanks (lx);
          *out_piped = TRUE;
          return TRUE;
        }
      lx->pos++;
      after_pipe = TRUE;
    }
}

static const struct
{
  const char *word;
  SpiritControl control;
} controls[] = {
  { "--pause", SPIRIT_CONTROL_PAUSE },
  { "--resume", SPIRIT_CONTROL_RESUME },
  { "--start", SPIRIT_CONTROL_START },
  { "--stop", SPIRIT_CONTROL_STOP },
  { "--snapshot", SPIRIT_CONTROL_SNAPSHOT_SAVE },
};

static gboolean
parse_snapshot_name (Parser *P, SpiritStage *stage)
{
  SpiritLexer *lx = &P->lx;
  g_autoptr (SpiritWord) save = NULL;
  g_autoptr (SpiritWord) name = NULL;
  char c;

  spirit_lexer_skip_blanks (lx);
  c = spirit_lexer_peek (lx, 0);
  if (spirit_lexer_is_word_end (c) || c == '#')
    return spirit_lexer_fail (lx, lx->pos, "expected 'save' after --snapshot");
  save = spirit_lexer_read_word (lx, stage->target->os);
  if (save == NULL)
    return FALSE;
  if (!g_str_equal (save->value->str, "save"))
    return spirit_lexer_fail (lx, save->start, "expected 'save' after --snapshot, not '%s'",
                              save->value->str);

  spirit_lexer_skip_blanks (lx);
  c = spirit_lexer_peek (lx, 0);
  if (spirit_lexer_is_word_end (c) || c == '#')
    return TRUE;
  name = spirit_lexer_read_word (lx, stage->target->os);
  if (name == NULL)
    return FALSE;
  if (name->value->len == 0)
    return spirit_lexer_fail (lx, name->start, "the snapshot name is empty");
  stage->snapshot_name = g_strdup (name->value->str);
  return TRUE;
}

static gboolean
parse_control (Parser *P, SpiritStage *stage, gboolean first)
{
  SpiritLexer *lx = &P->lx;
  gsize at = lx->pos;
  g_autoptr (SpiritWord) word = spirit_lexer_read_word (lx, stage->target->os);
  const char *value;
  char c;

  if (word == NULL)
    return FALSE;
  value = word->value->str;
  for (guint i = 0; i < G_N_ELEMENTS (controls); i++)
    if (g_str_equal (value, controls[i].word))
      stage->control = controls[i].control;
  if (stage->control == SPIRIT_CONTROL_NONE)
    return spirit_lexer_fail (lx, at, "unknown control '%s': expected " CONTROLS_HINT, value);
  if (stage->target->kind != SPIRIT_TARGET_VM)
    return spirit_lexer_fail (
      lx, at, "'%s' acts on a VM, and @%s is %s", value, stage->target->name,
      stage->target->kind == SPIRIT_TARGET_HOST ? "the host" : "a container target");
  if (!first)
    return spirit_lexer_fail (lx, at, "a control cannot be piped: '%s' stands alone", value);
  if (stage->control == SPIRIT_CONTROL_SNAPSHOT_SAVE && !parse_snapshot_name (P, stage))
    return FALSE;

  spirit_lexer_skip_blanks (lx);
  c = spirit_lexer_peek (lx, 0);
  if (c == '#')
    lx->pos = lx->len;
  else if (c == '|' || c == '<' || c == '>')
    return spirit_lexer_fail (lx, lx->pos,
                              "a control cannot be piped or redirected: '%s' stands alone",
                              spirit_control_to_string (stage->control));
  else if (c != '\0')
    return spirit_lexer_fail (lx, lx->pos, "expected the end of the line after '%s%s'",
                              spirit_control_to_string (stage->control),
                              stage->snapshot_name != NULL ? " NAME" : "");
  return TRUE;
}

static gboolean
parse_shell_stage (Parser *P, SpiritStage *stage, gboolean *out_piped)
{
  SpiritLexer *lx = &P->lx;
  gsize start = lx->pos;
  g_autoptr (SpiritCommand) command = spirit_command_new (spirit_lexer_column (lx, start));
  char *text = NULL;

  if (!spirit_lexer_read_shell_text (lx, stage->target->os, &text))
    return FALSE;
  command->shell = text;
  if (*text == '\0')
    return spirit_lexer_fail (lx, start, "expected a command for the shell after '%s'",
                              P->shell_hint);

  for (;;)
    {
      char c;

      spirit_lexer_skip_blanks (lx);
      c = spirit_lexer_peek (lx, 0);
      if (c == '\0')
        break;
      if (c == '#')
        {
          lx->pos = lx->len;
          break;
        }
      if (spirit_lexer_pipes_to_target_at (lx, lx->pos))
        {
          lx->pos++;
          spirit_lexer_skip_blanks (lx);
          *out_piped = TRUE;
          break;
        }
      if (!spirit_lexer_redirects_to_target_at (lx, lx->pos))
        return spirit_lexer_fail (lx, lx->pos,
                                  "expected '| @target', a redirection to a target or the end of "
                                  "the line: the shell text ends at the first of those");
      if (!parse_redirect (P, command, stage->target))
        return FALSE;
    }
  g_ptr_array_add (stage->commands, g_steal_pointer (&command));
  return TRUE;
}

static SpiritStage *
parse_stage (Parser *P, gboolean first, gboolean *out_piped)
{
  SpiritLexer *lx = &P->lx;
  gsize start = lx->pos;
  g_autoptr (SpiritStage) stage = NULL;
  SpiritTarget *target;
  gboolean shell = FALSE, ok;
  char c;

  if (spirit_lexer_peek (lx, 0) == '@')
    target = parse_target (P, FALSE, &shell);
  else
    target = spirit_target_new (SPIRIT_TARGET_HOST, "spirit", 0);
  if (target == NULL)
    return NULL;
  stage = spirit_stage_new (target, spirit_lexer_column (lx, start));

  g_free (P->shell_hint);
  P->shell_hint = target->container != NULL
                    ? g_strdup_printf ("@%s:%s!", target->name, target->container)
                    : g_strdup_printf ("@%s!", target->name);
  lx->shell_hint = P->shell_hint;

  *out_piped = FALSE;
  if (shell)
    {
      spirit_lexer_skip_blanks (lx);
      ok = parse_shell_stage (P, stage, out_piped);
    }
  else
    {
      spirit_lexer_skip_blanks (lx);
      c = spirit_lexer_peek (lx, 0);
      if (target->column > 0 && (c == '\0' || c == '#'))
        {
          spirit_lexer_fail (lx, lx->pos,
                             "expected a command or a control (" CONTROLS_HINT ") after '%.*s'",
                             (int)(lx->pos - start), lx->text + start);
          return NULL;
        }
      if (c == '-' && spirit_lexer_peek (lx, 1) == '-')
        ok = parse_control (P, stage, first);
      else
        ok = parse_pipeline (P, stage, out_piped);
    }
  if (!ok || !check_redirects (P, stage, !first, *out_piped))
    return NULL;
  return g_steal_pointer (&stage);
}

static gboolean
check_utf8 (Parser *P)
{
  const char *end;

  if (g_utf8_validate (P->lx.text, (gssize)P->lx.len, &end))
    return TRUE;
  return spirit_lexer_fail (&P->lx, (gsize)(end - P->lx.text), "the line is not valid UTF-8");
}

SpiritCommandLine *
spirit_command_line_parse (const char *text,
                           SpiritProxyTargets *targets,
                           guint *error_column,
                           GError **error)
{
  Parser P = { .targets = targets };
  g_autoptr (SpiritCommandLine) line = spirit_command_line_new ();
  gboolean piped = TRUE, ok = TRUE;

  g_return_val_if_fail (text != NULL, NULL);

  spirit_lexer_init (&P.lx, text);
  ok = check_utf8 (&P);
  spirit_lexer_skip_blanks (&P.lx);
  if (spirit_lexer_peek (&P.lx, 0) == '#')
    P.lx.pos = P.lx.len;

  while (ok && piped && P.lx.pos < P.lx.len)
    {
      SpiritStage *stage = parse_stage (&P, line->stages->len == 0, &piped);
      ok = stage != NULL;
      if (ok)
        g_ptr_array_add (line->stages, stage);
    }
  g_free (P.shell_hint);

  if (!ok)
    {
      if (error_column != NULL)
        *error_column = P.lx.error_column;
      g_propagate_error (error, g_steal_pointer (&P.lx.error));
      return NULL;
    }
  g_assert (P.lx.pos == P.lx.len);
  return g_steal_pointer (&line);
}
