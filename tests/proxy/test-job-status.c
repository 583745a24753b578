/* test-job-status.c: JobExited's status as spiritctl exec and the @target runner read it. */
#define G_LOG_DOMAIN "test-job-status"

#include "spirit-job-status.h"

/* status: the parsed text, which end.error points into; the caller frees it. */
static SpiritJobEnd
end_of (const char *text, GVariant **status)
{
  g_autoptr (GError) error = NULL;
  SpiritJobEnd end;

  *status = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);
  g_assert_no_error (error);
  spirit_job_end_from_status (*status, &end);
  return end;
}

static void
test_statuses (void)
{
  static const struct
  {
    const char *status;
    int exit_status;
    gboolean has_exit_status;
  } cases[] = {
    { "{'exit-code': <0>, 'backend': <'spirit-agent'>}", 0, TRUE },
    { "{'exit-code': <7>}", 7, TRUE },
    { "{'exit-code': <256>}", 0, TRUE }, /* as wait() would have it */
    { "{'exit-code': <-1>}", 255, TRUE },
    { "{'signal': <'TERM'>, 'signal-number': <15>}", 143, TRUE },
    { "{'signal': <'KILL'>, 'signal-number': <9>, 'timed-out': <true>}", 124, TRUE },
    { "{'exit-code': <3>, 'stdout-truncated': <true>}", 3, TRUE },
    { "{'backend': <'qemu-ga'>}", 1, FALSE }, /* no status at all */
    { "{'error': <'the agent went away'>, 'exit-code': <0>}", 1, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GVariant) status = NULL;
      SpiritJobEnd end = end_of (cases[i].status, &status);

      g_test_message ("%s", cases[i].status);
      g_assert_cmpint (end.exit_status, ==, cases[i].exit_status);
      g_assert_cmpint (end.has_exit_status, ==, cases[i].has_exit_status);
    }
}

static void
test_flags_and_error (void)
{
  g_autoptr (GVariant) first = NULL;
  g_autoptr (GVariant) second = NULL;
  SpiritJobEnd end = end_of ("{'exit-code': <0>, 'stdout-truncated': <true>, "
                             "'stderr-truncated': <false>}",
                             &first);

  g_assert_true (end.stdout_truncated);
  g_assert_false (end.stderr_truncated);
  g_assert_false (end.timed_out);
  g_assert_null (end.error);

  end = end_of ("{'error': <'the agent went away'>, "
                "'error-name': <'org.crom.Spirit.Error.AgentUnavailable'>}",
                &second);
  g_assert_cmpstr (end.error, ==, "the agent went away");
  g_assert_false (end.has_exit_status);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/job-status/statuses", test_statuses);
  g_test_add_func ("/job-status/flags-and-error", test_flags_and_error);
  return g_test_run ();
}
