/* spirit-error.h: the one error domain of Spirit, registered as org.crom.Spirit.Error.*
 *
 * Shared by spiritd (which returns these errors) and its clients (which get them back as
 * SPIRIT_ERROR codes, so they can branch on the code, not on message text).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SPIRIT_ERROR (spirit_error_quark ())

typedef enum
{
  SPIRIT_ERROR_FAILED,           /* org.crom.Spirit.Error.Failed: libvirt (or the system) refused, its message kept */
  SPIRIT_ERROR_NO_SUCH_VM,       /* org.crom.Spirit.Error.NoSuchVM */
  SPIRIT_ERROR_INVALID_STATE,    /* org.crom.Spirit.Error.InvalidState */
  SPIRIT_ERROR_NOT_AUTHORIZED,   /* org.crom.Spirit.Error.NotAuthorized */
  SPIRIT_ERROR_UNAVAILABLE,      /* org.crom.Spirit.Error.Unavailable: libvirt is not connected */
  SPIRIT_ERROR_INVALID_ARGUMENT, /* org.crom.Spirit.Error.InvalidArgument */
  SPIRIT_ERROR_TIMEOUT,          /* org.crom.Spirit.Error.Timeout */
  SPIRIT_ERROR_AMBIGUOUS_NAME,   /* org.crom.Spirit.Error.AmbiguousName: several hosts have a VM of that name */
  SPIRIT_ERROR_AGENT_UNAVAILABLE, /* org.crom.Spirit.Error.AgentUnavailable: no agent answers in the guest */
  SPIRIT_ERROR_NO_SUCH_JOB,       /* org.crom.Spirit.Error.NoSuchJob */
  SPIRIT_ERROR_NO_SUCH_GPU,       /* org.crom.Spirit.Error.NoSuchGPU */
  SPIRIT_ERROR_BUSY,              /* org.crom.Spirit.Error.Busy: another operation holds the object */
  SPIRIT_ERROR_NOT_SUPPORTED,     /* org.crom.Spirit.Error.NotSupported: not possible on this host or VM */
} SpiritError;

#define SPIRIT_ERROR_N_ERRORS (SPIRIT_ERROR_NOT_SUPPORTED + 1)

GQuark spirit_error_quark (void);
const char *spirit_error_dbus_name (SpiritError code);

G_END_DECLS
