/* spirit-protocol.c: default limits, the error domain with its wire names, and signal names.
 *
 * Tables, not logic: adding an error code or a signal is one line here and one in the doc.
 */
#define G_LOG_DOMAIN "spirit-protocol"

#include "spirit-protocol.h"

void
spirit_limits_init_default (SpiritLimits *limits)
{
  limits->max_frame = SPIRIT_FRAME_MAX_PAYLOAD_DEFAULT;
  limits->max_jobs = 64;
  limits->max_argv_count = 4096;
  limits->max_argv_bytes = 256 * 1024;
  limits->max_env_count = 1024;
  limits->max_env_bytes = 256 * 1024;
  limits->max_string = 4096;
  limits->stdin_window = 256 * 1024;
}

G_DEFINE_QUARK (spirit - protocol - error - quark, spirit_protocol_error)

typedef struct
{
  SpiritProtocolError code;
  const char *nick;
  gboolean fatal;
} SpiritErrorName;

static const SpiritErrorName spirit_error_names[] = {
  { SPIRIT_PROTOCOL_ERROR_FAILED, "failed", FALSE },
  { SPIRIT_PROTOCOL_ERROR_BAD_FRAME, "bad-frame", TRUE },
  { SPIRIT_PROTOCOL_ERROR_FRAME_TOO_LARGE, "frame-too-large", TRUE },
  { SPIRIT_PROTOCOL_ERROR_MALFORMED, "malformed", FALSE },
  { SPIRIT_PROTOCOL_ERROR_INVALID, "invalid", FALSE },
  { SPIRIT_PROTOCOL_ERROR_UNKNOWN_TYPE, "unknown-type", FALSE },
  { SPIRIT_PROTOCOL_ERROR_UNSUPPORTED_VERSION, "unsupported-version", FALSE },
  { SPIRIT_PROTOCOL_ERROR_LIMIT, "limit", FALSE },
  { SPIRIT_PROTOCOL_ERROR_NOT_READY, "not-ready", FALSE },
  { SPIRIT_PROTOCOL_ERROR_TOO_MANY_JOBS, "too-many-jobs", FALSE },
  { SPIRIT_PROTOCOL_ERROR_DUPLICATE_ID, "duplicate-id", FALSE },
  { SPIRIT_PROTOCOL_ERROR_UNKNOWN_ID, "unknown-id", FALSE },
  { SPIRIT_PROTOCOL_ERROR_SPAWN_FAILED, "spawn-failed", FALSE },
  { SPIRIT_PROTOCOL_ERROR_CREDIT_EXCEEDED, "credit-exceeded", FALSE },
};

const char *
spirit_protocol_error_to_nick (SpiritProtocolError code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (spirit_error_names); i++)
    if (spirit_error_names[i].code == code)
      return spirit_error_names[i].nick;
  return "failed";
}

SpiritProtocolError
spirit_protocol_error_from_nick (const char *nick)
{
  for (gsize i = 0; nick != NULL && i < G_N_ELEMENTS (spirit_error_names); i++)
    if (g_str_equal (spirit_error_names[i].nick, nick))
      return spirit_error_names[i].code;
  return SPIRIT_PROTOCOL_ERROR_FAILED;
}

gboolean
spirit_protocol_error_is_fatal (SpiritProtocolError code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (spirit_error_names); i++)
    if (spirit_error_names[i].code == code)
      return spirit_error_names[i].fatal;
  return FALSE;
}

/* Linux's numbering (x86, arm, generic): what the agent reports and what the host most likely
 * runs on. A Windows agent uses the names only. */
typedef struct
{
  const char *name;
  int number;
} SpiritSignalName;

static const SpiritSignalName spirit_signal_names[] = {
  { "HUP", 1 },     { "INT", 2 },   { "QUIT", 3 },   { "ILL", 4 },   { "TRAP", 5 },  { "ABRT", 6 },
  { "BUS", 7 },     { "FPE", 8 },   { "KILL", 9 },   { "USR1", 10 }, { "SEGV", 11 }, { "USR2", 12 },
  { "PIPE", 13 },   { "ALRM", 14 }, { "TERM", 15 },  { "CHLD", 17 }, { "CONT", 18 }, { "STOP", 19 },
  { "TSTP", 20 },   { "TTIN", 21 }, { "TTOU", 22 },  { "URG", 23 },  { "XCPU", 24 }, { "XFSZ", 25 },
  { "VTALRM", 26 }, { "PROF", 27 }, { "WINCH", 28 }, { "IO", 29 },   { "PWR", 30 },  { "SYS", 31 },
};

gboolean
spirit_signal_name_is_valid (const char *name)
{
  return spirit_signal_number_from_name (name) != 0;
}

int
spirit_signal_number_from_name (const char *name)
{
  for (gsize i = 0; name != NULL && i < G_N_ELEMENTS (spirit_signal_names); i++)
    if (g_str_equal (spirit_signal_names[i].name, name))
      return spirit_signal_names[i].number;
  return 0;
}

const char *
spirit_signal_name_from_number (int number)
{
  for (gsize i = 0; i < G_N_ELEMENTS (spirit_signal_names); i++)
    if (spirit_signal_names[i].number == number)
      return spirit_signal_names[i].name;
  return NULL;
}
