/* test-error.c: SPIRIT_ERROR codes cross D-Bus by name and come back as the same codes. */
#define G_LOG_DOMAIN "test-error"

#include "spirit-error.h"

static void
test_round_trip (void)
{
  for (int code = 0; code < SPIRIT_ERROR_N_ERRORS; code++)
    {
      g_autoptr (GError) error = g_error_new (SPIRIT_ERROR, code, "message %d", code);
      g_autofree char *name = g_dbus_error_encode_gerror (error);
      g_autoptr (GError) back = g_dbus_error_new_for_dbus_error (name, "remote message");

      g_assert_true (g_str_has_prefix (name, "org.crom.Spirit.Error."));
      g_assert_cmpstr (name, ==, spirit_error_dbus_name (code));
      g_assert_error (back, SPIRIT_ERROR, code);
    }
}

static void
test_names (void)
{
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_NO_SUCH_VM), ==, "org.crom.Spirit.Error.NoSuchVM");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_INVALID_STATE), ==,
                   "org.crom.Spirit.Error.InvalidState");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_NOT_AUTHORIZED), ==,
                   "org.crom.Spirit.Error.NotAuthorized");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_UNAVAILABLE), ==, "org.crom.Spirit.Error.Unavailable");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_INVALID_ARGUMENT), ==,
                   "org.crom.Spirit.Error.InvalidArgument");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_FAILED), ==, "org.crom.Spirit.Error.Failed");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_TIMEOUT), ==, "org.crom.Spirit.Error.Timeout");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_AMBIGUOUS_NAME), ==,
                   "org.crom.Spirit.Error.AmbiguousName");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_AGENT_UNAVAILABLE), ==,
                   "org.crom.Spirit.Error.AgentUnavailable");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_NO_SUCH_JOB), ==, "org.crom.Spirit.Error.NoSuchJob");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_NO_SUCH_GPU), ==, "org.crom.Spirit.Error.NoSuchGPU");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_BUSY), ==, "org.crom.Spirit.Error.Busy");
  g_assert_cmpstr (spirit_error_dbus_name (SPIRIT_ERROR_NOT_SUPPORTED), ==,
                   "org.crom.Spirit.Error.NotSupported");
  g_assert_null (spirit_error_dbus_name (SPIRIT_ERROR_N_ERRORS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error/round-trip", test_round_trip);
  g_test_add_func ("/error/names", test_names);
  return g_test_run ();
}
