/* spirit-command-lexer.c: words (sh quoting, no expansion) and shell texts of a command line. */
#define G_LOG_DOMAIN "spirit-command-lexer"

#include "spirit-command-lexer.h"

#include "spirit-error.h"

#include <string.h>

void
spirit_lexer_init (SpiritLexer *lx, const char *text)
{
  memset (lx, 0, sizeof *lx);
  lx->text = text;
  lx->len = strlen (text);
  lx->shell_hint = "@spirit!";
}

void
spirit_lexer_clear (SpiritLexer *lx)
{
  g_clear_error (&lx->error);
}

guint
spirit_lexer_column (const SpiritLexer *lx, gsize offset)
{
  return (guint)g_utf8_strlen (lx->text, (gssize)MIN (offset, lx->len)) + 1;
}

static void
set_error (SpiritLexer *lx, guint column, const char *format, va_list args)
{
  g_autofree char *message = NULL;

  if (lx->error != NULL)
    return;
  message = g_strdup_vprintf (format, args);
  lx->error_column = column;
  lx->error
    = g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "column %u: %s", column, message);
}

gboolean
spirit_lexer_fail (SpiritLexer *lx, gsize offset, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error (lx, spirit_lexer_column (lx, offset), format, args);
  va_end (args);
  return FALSE;
}

gboolean
spirit_lexer_fail_at_column (SpiritLexer *lx, guint column, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error (lx, column, format, args);
  va_end (args);
  return FALSE;
}

gboolean
spirit_lexer_is_word_end (char c)
{
  return c == '\0' || strchr (" \t\n|<>;&()", c) != NULL;
}

void
spirit_lexer_skip_blanks (SpiritLexer *lx)
{
  while (spirit_lexer_is_blank (spirit_lexer_peek (lx, 0)))
    lx->pos++;
}

static gsize
char_len_at (const SpiritLexer *lx, gsize offset)
{
  return (gsize)(g_utf8_next_char (lx->text + offset) - (lx->text + offset));
}

void
spirit_word_free (SpiritWord *word)
{
  if (word == NULL)
    return;
  g_string_free (word->value, TRUE);
  g_string_free (word->quoted, TRUE);
  g_free (word);
}

static void
word_append (SpiritWord *word, const char *bytes, gsize n, gboolean quoted)
{
  g_string_append_len (word->value, bytes, (gssize)n);
  for (gsize i = 0; i < n; i++)
    g_string_append_c (word->quoted, quoted ? 1 : 0);
}

/* sh would expand "$x", "${…}", "$(…)", "$1", "$?" …, and bash "$'…'" and "$"…"". A lone '$'
 * (before a blank, '/', '.', the end, or a closing double quote) is a plain dollar sign. */
static gboolean
check_dollar (SpiritLexer *lx, gsize offset, gboolean in_double_quotes)
{
  char next = offset + 1 < lx->len ? lx->text[offset + 1] : '\0';

  if (next == '\0')
    return TRUE;
  if (g_ascii_isalnum (next) || strchr ("_{(@*#?-$!", next) != NULL
      || (!in_double_quotes && (next == '\'' || next == '"')))
    return spirit_lexer_fail (lx, offset,
                              "'$%c' starts an expansion, which needs a shell: quote it, or hand "
                              "the line to the target's shell with '%s …'",
                              next, lx->shell_hint);
  return TRUE;
}

static gboolean
refuse_backquote (SpiritLexer *lx, gsize offset)
{
  return spirit_lexer_fail (lx, offset,
                            "'`' starts a command substitution, which needs a shell: quote it, or "
                            "hand the line to the target's shell with '%s …'",
                            lx->shell_hint);
}

static gboolean
read_single_quoted (SpiritLexer *lx, SpiritWord *word)
{
  gsize open = lx->pos;
  const char *close = memchr (lx->text + open + 1, '\'', lx->len - open - 1);

  if (close == NULL)
    return spirit_lexer_fail (lx, open, "unterminated single quote: expected a closing '");
  word_append (word, lx->text + open + 1, (gsize)(close - lx->text) - open - 1, TRUE);
  lx->pos = (gsize)(close - lx->text) + 1;
  return TRUE;
}

/* Inside double quotes a POSIX backslash escapes only $ ` " \ and a newline; a Windows one is
 * always kept ("C:\dir\" is C:\dir\). */
static gboolean
read_double_quoted (SpiritLexer *lx, SpiritWord *word, SpiritTargetOs os)
{
  gsize open = lx->pos;
  gboolean posix = os != SPIRIT_TARGET_OS_WINDOWS;

  lx->pos++;
  for (;;)
    {
      char c = spirit_lexer_peek (lx, 0);
      char next = spirit_lexer_peek (lx, 1);

      if (c == '\0')
        return spirit_lexer_fail (lx, open, "unterminated double quote: expected a closing \"");
      if (c == '"')
        {
          lx->pos++;
          return TRUE;
        }
      if (posix && c == '\\' && next != '\0' && strchr ("$`\"\\\n", next) != NULL)
        {
          if (next != '\n')
            word_append (word, &next, 1, TRUE);
          lx->pos += 2;
          continue;
        }
      if (posix && c == '$' && !check_dollar (lx, lx->pos, TRUE))
        return FALSE;
      if (posix && c == '`')
        return refuse_backquote (lx, lx->pos);
      word_append (word, &c, 1, TRUE);
      lx->pos++;
    }
}

SpiritWord *
spirit_lexer_read_word (SpiritLexer *lx, SpiritTargetOs os)
{
  g_autoptr (SpiritWord) word = g_new0 (SpiritWord, 1);
  gboolean posix = os != SPIRIT_TARGET_OS_WINDOWS;

  word->value = g_string_new (NULL);
  word->quoted = g_string_new (NULL);
  word->start = lx->pos;

  for (;;)
    {
      char c = spirit_lexer_peek (lx, 0);

      if (spirit_lexer_is_word_end (c))
        break;
      if (c == '\'')
        {
          if (!read_single_quoted (lx, word))
            return NULL;
        }
      else if (c == '"')
        {
          if (!read_double_quoted (lx, word, os))
            return NULL;
        }
      else if (posix && c == '\\')
        {
          gsize n;

          if (spirit_lexer_peek (lx, 1) == '\0')
            {
              spirit_lexer_fail (lx, lx->pos, "a backslash at the end of the line escapes nothing");
              return NULL;
            }
          lx->pos++;
          n = char_len_at (lx, lx->pos);
          if (spirit_lexer_peek (lx, 0) != '\n') /* backslash-newline joins lines, as in sh */
            word_append (word, lx->text + lx->pos, n, TRUE);
          lx->pos += n;
        }
      else if (posix && c == '`')
        {
          refuse_backquote (lx, lx->pos);
          return NULL;
        }
      else
        {
          if (posix && c == '$' && !check_dollar (lx, lx->pos, FALSE))
            return NULL;
          word_append (word, &c, 1, FALSE);
          lx->pos++;
        }
    }
  return g_steal_pointer (&word);
}

gboolean
spirit_lexer_redirects_to_target_at (const SpiritLexer *lx, gsize offset)
{
  const char *t = lx->text;
  gsize p = offset;

  while (p < lx->len && g_ascii_isdigit (t[p]))
    p++;
  if (p >= lx->len)
    return FALSE;
  if (t[p] == '<')
    {
      p++;
      if (p < lx->len && strchr ("<>&", t[p]) != NULL)
        return FALSE;
    }
  else if (t[p] == '>')
    {
      p++;
      if (p < lx->len && t[p] == '>')
        p++;
    }
  else
    return FALSE;
  while (p < lx->len && spirit_lexer_is_blank (t[p]))
    p++;
  return p < lx->len && t[p] == '@';
}

gboolean
spirit_lexer_pipes_to_target_at (const SpiritLexer *lx, gsize offset)
{
  const char *t = lx->text;
  gsize p = offset + 1;

  if (t[offset] != '|' || (p < lx->len && (t[p] == '|' || t[p] == '&')))
    return FALSE;
  while (p < lx->len && spirit_lexer_is_blank (t[p]))
    p++;
  return p < lx->len && t[p] == '@';
}

/* Where a stage of shell text ends, at top level: "| @…", or "[n]>", ">>", "<" before "@…". A
 * digit only counts at the start of a word (in "a2> @x", sh reads the word a2). */
static gboolean
stage_ends_at (const SpiritLexer *lx, gsize offset, gboolean word_start)
{
  char c = lx->text[offset];

  if (c == '|')
    return spirit_lexer_pipes_to_target_at (lx, offset);
  if (c == '<' || c == '>' || (word_start && g_ascii_isdigit (c)))
    return spirit_lexer_redirects_to_target_at (lx, offset);
  return FALSE;
}

/* "||", "<<", "&&", "|&", ">&" … are one operator: the second character starts nothing. */
static gboolean
is_operator_pair (char c, char next)
{
  return next != '\0' && strchr ("|<>&", c) != NULL && strchr ("|<>&", next) != NULL;
}

typedef struct
{
  char kind; /* '(' also for "$(", '{' for "${", '`', '"' */
  gsize at;
} Open;

static gboolean
fail_unterminated (SpiritLexer *lx, const Open *open)
{
  const char *what = open->kind == '"'   ? "double quote"
                     : open->kind == '`' ? "'`'"
                     : open->kind == '{' ? "'${'"
                                         : "'('";
  char closer = open->kind == '(' ? ')' : open->kind == '{' ? '}' : open->kind;

  return spirit_lexer_fail (
    lx, open->at, "unterminated %s in the shell text: expected a closing %c", what, closer);
}

/* sh's quoting, only as far as needed to know what is text: quotes, escapes, $(…), ${…}, `…`,
 * (…) and comments. The shell itself reports whatever else is wrong with the text. */
static gboolean
scan_posix_shell_text (SpiritLexer *lx, gsize *out_end)
{
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (Open));
  const char *t = lx->text;
  gsize p = lx->pos, end = lx->pos;
  gboolean word_start = TRUE;

  while (p < lx->len)
    {
      char c = t[p];
      char next = p + 1 < lx->len ? t[p + 1] : '\0';
      char ctx = stack->len > 0 ? g_array_index (stack, Open, stack->len - 1).kind : '\0';
      gboolean separates = FALSE;
      Open open = { 0, p };

      if (c == '\\')
        {
          if (next == '\0')
            return spirit_lexer_fail (lx, p, "a backslash at the end of the line escapes nothing");
          p += 1 + char_len_at (lx, p + 1);
        }
      else if (ctx == '"' || ctx == '`')
        {
          if (c == ctx)
            g_array_set_size (stack, stack->len - 1);
          else if (ctx == '"' && c == '$' && (next == '(' || next == '{'))
            {
              open.kind = next;
              g_array_append_val (stack, open);
              p++;
            }
          else if (ctx == '"' && c == '`')
            {
              open.kind = c;
              g_array_append_val (stack, open);
            }
          p++;
        }
      else if (c == '\'')
        {
          const char *close = memchr (t + p + 1, '\'', lx->len - p - 1);
          if (close == NULL)
            return spirit_lexer_fail (lx, p,
                                      "unterminated single quote in the shell text: "
                                      "expected a closing '");
          p = (gsize)(close - t) + 1;
        }
      else if (c == '"' || c == '`' || c == '(' || (c == '$' && (next == '(' || next == '{')))
        {
          open.kind = c == '$' ? next : c;
          g_array_append_val (stack, open);
          p += c == '$' ? 2 : 1;
          separates = c == '(';
        }
      else if ((c == ')' && ctx == '(') || (c == '}' && ctx == '{'))
        {
          g_array_set_size (stack, stack->len - 1);
          p++;
          separates = TRUE;
        }
      else if (c == '#' && word_start)
        {
          p = lx->len; /* a comment, to the end of the line */
          break;
        }
      else if (ctx == '\0' && stage_ends_at (lx, p, word_start))
        break;
      else
        {
          separates = strchr (" \t\n;&|<>)", c) != NULL;
          p += is_operator_pair (c, next) ? 2 : 1;
          if (spirit_lexer_is_blank (c))
            {
              word_start = TRUE;
              continue;
            }
        }
      word_start = separates;
      end = p;
    }

  if (stack->len > 0)
    return fail_unterminated (lx, &g_array_index (stack, Open, stack->len - 1));
  *out_end = end;
  lx->pos = p;
  return TRUE;
}

/* cmd.exe's quoting: "…" (which the end of the line may close), ^ before one character, and
 * parenthesised blocks. */
static gboolean
scan_windows_shell_text (SpiritLexer *lx, gsize *out_end)
{
  const char *t = lx->text;
  gsize p = lx->pos, end = lx->pos;
  gboolean in_quotes = FALSE, word_start = TRUE;
  guint depth = 0;

  while (p < lx->len)
    {
      char c = t[p];

      if (in_quotes)
        {
          in_quotes = c != '"';
          p++;
        }
      else if (c == '"')
        {
          in_quotes = TRUE;
          p++;
        }
      else if (c == '^')
        {
          if (p + 1 >= lx->len)
            return spirit_lexer_fail (lx, p, "'^' at the end of the line escapes nothing");
          p += 1 + char_len_at (lx, p + 1);
        }
      else if (depth == 0 && stage_ends_at (lx, p, word_start))
        break;
      else
        {
          if (c == '(')
            depth++;
          else if (c == ')' && depth > 0)
            depth--;
          p += is_operator_pair (c, p + 1 < lx->len ? t[p + 1] : '\0') ? 2 : 1;
          if (spirit_lexer_is_blank (c))
            {
              word_start = TRUE;
              continue;
            }
        }
      word_start = FALSE;
      end = p;
    }
  *out_end = end;
  lx->pos = p;
  return TRUE;
}

gboolean
spirit_lexer_read_shell_text (SpiritLexer *lx, SpiritTargetOs os, char **out_text)
{
  gsize start = lx->pos, end = lx->pos;
  gboolean ok = os == SPIRIT_TARGET_OS_WINDOWS ? scan_windows_shell_text (lx, &end)
                                               : scan_posix_shell_text (lx, &end);

  if (!ok)
    return FALSE;
  *out_text = g_strndup (lx->text + start, end - start);
  return TRUE;
}
