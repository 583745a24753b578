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
} SpiritError;

#define SPIRIT_ERROR_N_ERRORS (SPIRIT_ERROR_AMBIGUOUS_NAME + 1)

GQuark spirit_error_quark (void);
const char *spirit_error_dbus_name (SpiritError code);

G_END_DECLS
