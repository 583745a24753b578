/* spirit-command-lexer.h: words and shell texts of the @target language, one at a time.
 *
 * The parser asks for the next word with the rules of the target it is in: POSIX sh quoting and
 * escaping, or the same without backslash escapes for a Windows target. Nothing is expanded:
 * what sh would expand ($VAR, $(…), `…`, a leading ~) is refused with a column and a hint, so
 * that data never silently turns into something else.
 */
#pragma once

#include <glib.h>

#include "spirit-proxy-targets.h"

G_BEGIN_DECLS

typedef struct
{
  const char *text; /* the whole line, valid UTF-8 */
  gsize len;
  gsize pos;              /* byte offset of the next character */
  const char *shell_hint; /* "@linux!": how to ask for the target's shell, for hints */
  GError *error;
  guint error_column;
} SpiritLexer;

typedef struct
{
  GString *value;
  GString *quoted; /* one byte per byte of value: 1 where quoting or a backslash made it literal */
  gsize start;     /* byte offset where the word starts */
} SpiritWord;

void spirit_lexer_init (SpiritLexer *lx, const char *text);
void spirit_lexer_clear (SpiritLexer *lx);
guint spirit_lexer_column (const SpiritLexer *lx, gsize offset);

/* Records the first error only; returns FALSE so callers can `return spirit_lexer_fail (…)`. */
gboolean spirit_lexer_fail (SpiritLexer *lx, gsize offset, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
gboolean spirit_lexer_fail_at_column (SpiritLexer *lx, guint column, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static inline char
spirit_lexer_peek (const SpiritLexer *lx, gsize ahead)
{
  return lx->pos + ahead < lx->len ? lx->text[lx->pos + ahead] : '\0';
}

static inline gboolean
spirit_lexer_is_blank (char c)
{
  return c == ' ' || c == '\t';
}

/* Characters that end an unquoted word: the end, blanks and the operators. */
gboolean spirit_lexer_is_word_end (char c);
void spirit_lexer_skip_blanks (SpiritLexer *lx);

/* lx->pos must be at a character that starts a word. */
SpiritWord *spirit_lexer_read_word (SpiritLexer *lx, SpiritTargetOs os);
void spirit_word_free (SpiritWord *word);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritWord, spirit_word_free)

/* At offset: "[digits](>|>>|<) blanks @", a redirection to another target. */
gboolean spirit_lexer_redirects_to_target_at (const SpiritLexer *lx, gsize offset);
/* At offset: "| blanks @", a pipe to another target. */
gboolean spirit_lexer_pipes_to_target_at (const SpiritLexer *lx, gsize offset);

/* The text of a shell stage (`@linux! …`), up to "| @", a redirection to a target, a comment
 * (POSIX) or the end of the line, scanned with the target shell's quoting so that those inside
 * quotes or $(…) stay text. out_text has no leading or trailing blanks and may be empty. */
gboolean spirit_lexer_read_shell_text (SpiritLexer *lx, SpiritTargetOs os, char **out_text);

G_END_DECLS
