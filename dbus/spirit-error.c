/* spirit-error.c: registers SPIRIT_ERROR with GDBus so that errors cross the bus by name. */
#define G_LOG_DOMAIN "spirit-error"

#include "spirit-error.h"

static const GDBusErrorEntry spirit_error_entries[] = {
  { SPIRIT_ERROR_FAILED, "org.crom.Spirit.Error.Failed" },
  { SPIRIT_ERROR_NO_SUCH_VM, "org.crom.Spirit.Error.NoSuchVM" },
  { SPIRIT_ERROR_INVALID_STATE, "org.crom.Spirit.Error.InvalidState" },
  { SPIRIT_ERROR_NOT_AUTHORIZED, "org.crom.Spirit.Error.NotAuthorized" },
  { SPIRIT_ERROR_UNAVAILABLE, "org.crom.Spirit.Error.Unavailable" },
  { SPIRIT_ERROR_INVALID_ARGUMENT, "org.crom.Spirit.Error.InvalidArgument" },
  { SPIRIT_ERROR_TIMEOUT, "org.crom.Spirit.Error.Timeout" },
  { SPIRIT_ERROR_AMBIGUOUS_NAME, "org.crom.Spirit.Error.AmbiguousName" },
  { SPIRIT_ERROR_AGENT_UNAVAILABLE, "org.crom.Spirit.Error.AgentUnavailable" },
  { SPIRIT_ERROR_NO_SUCH_JOB, "org.crom.Spirit.Error.NoSuchJob" },
  { SPIRIT_ERROR_NO_SUCH_GPU, "org.crom.Spirit.Error.NoSuchGPU" },
  { SPIRIT_ERROR_BUSY, "org.crom.Spirit.Error.Busy" },
  { SPIRIT_ERROR_NOT_SUPPORTED, "org.crom.Spirit.Error.NotSupported" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (spirit_error_entries) == SPIRIT_ERROR_N_ERRORS);

GQuark
spirit_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("spirit-error-quark",
                                      &quark,
                                      spirit_error_entries,
                                      G_N_ELEMENTS (spirit_error_entries));
  return (GQuark) quark;
}

const char *
spirit_error_dbus_name (SpiritError code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (spirit_error_entries); i++)
    if (spirit_error_entries[i].error_code == (gint) code)
      return spirit_error_entries[i].dbus_error_name;
  return NULL;
}
