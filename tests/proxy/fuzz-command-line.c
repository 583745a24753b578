/* fuzz-command-line.c: libFuzzer target for the @target parser.
 *
 * Besides "no crash, no leak, no undefined behaviour" under ASan and UBSan, it checks what the
 * parser promises: an error always names a column inside the line, and a line that parses,
 * written back with spirit_command_line_to_source(), parses again to the same tree.
 */
#define G_LOG_DOMAIN "fuzz-command-line"

#include "spirit-command-line.h"
#include "spirit-error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
fail (const char *text, const char *what, const char *detail)
{
  fprintf (stderr, "line [%s]: %s: %s\n", text, what, detail);
  abort ();
}

static void
check_one (const char *text, SpiritProxyTargets *targets)
{
  g_autoptr (GError) error = NULL;
  guint column = 0;
  g_autoptr (SpiritCommandLine) line = spirit_command_line_parse (text, targets, &column, &error);
  g_autofree char *tree = NULL;
  g_autofree char *source = NULL;
  g_autofree char *tree_again = NULL;
  g_autofree char *source_again = NULL;
  g_autoptr (SpiritCommandLine) again = NULL;
  g_autoptr (GError) error_again = NULL;

  if (line == NULL)
    {
      g_autofree char *prefix = g_strdup_printf ("column %u: ", column);
      if (error == NULL || !g_error_matches (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT))
        fail (text, "an error without SPIRIT_ERROR_INVALID_ARGUMENT", "");
      if (column < 1 || column > strlen (text) + 1 || !g_str_has_prefix (error->message, prefix))
        fail (text, "an error without its column", error->message);
      return;
    }
  if (error != NULL)
    fail (text, "a tree and an error", error->message);

  for (guint i = 0; i < line->stages->len; i++)
    {
      g_autofree char *sh = spirit_stage_to_posix_shell (g_ptr_array_index (line->stages, i));
      SpiritStage *stage = g_ptr_array_index (line->stages, i);
      if ((sh == NULL) != (stage->control != SPIRIT_CONTROL_NONE))
        fail (text, "a sh line for a control, or none for a command", sh ? sh : "");
    }

  tree = spirit_command_line_dump (line);
  source = spirit_command_line_to_source (line);
  again = spirit_command_line_parse (source, targets, NULL, &error_again);
  if (again == NULL)
    fail (source, "written back, does not parse", error_again->message);
  tree_again = spirit_command_line_dump (again);
  if (!g_str_equal (tree, tree_again))
    fail (text, "written back, parses differently", source);
  source_again = spirit_command_line_to_source (again);
  if (!g_str_equal (source, source_again))
    fail (text, "writing back is not stable", source_again);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static SpiritProxyTargets *targets = NULL;
  g_autofree char *text = NULL;

  if (targets == NULL)
    {
      targets = spirit_proxy_targets_new ();
      spirit_proxy_targets_add (targets, "linux", "Linux-Spirit", SPIRIT_TARGET_OS_POSIX, NULL);
      spirit_proxy_targets_add (targets, "windows", "Windows-Spirit", SPIRIT_TARGET_OS_WINDOWS,
                                NULL);
      spirit_proxy_targets_add (targets, "w", "Windows-Spirit", SPIRIT_TARGET_OS_WINDOWS, NULL);
    }
  /* The parser takes a C string: a NUL byte cannot be in a line. */
  if (size > 4096 || memchr (data, '\0', size) != NULL)
    return 0;
  text = g_strndup ((const char *)data, size);
  check_one (text, targets);
  check_one (text, NULL);
  return 0;
}
