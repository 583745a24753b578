/* spirit-libvirt.c: one mapping from libvirt error codes to org.crom.Spirit.Error.*
 *
 * libvirt keeps its last error per thread, so this must be called on the thread that made the
 * failing call, right after it. The message keeps libvirt's own words: they are what an
 * administrator searches for.
 */
#define G_LOG_DOMAIN "spirit-libvirt"

#include "spirit-libvirt.h"
#include "spirit-error.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static SpiritError
spirit_error_code_from_libvirt (const virError *err)
{
  switch (err->code)
    {
    case VIR_ERR_NO_DOMAIN:
      return SPIRIT_ERROR_NO_SUCH_VM;
    case VIR_ERR_OPERATION_INVALID:
      return SPIRIT_ERROR_INVALID_STATE;
    case VIR_ERR_NO_DOMAIN_SNAPSHOT:
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_XML_ERROR:
      return SPIRIT_ERROR_INVALID_ARGUMENT;
    case VIR_ERR_OPERATION_TIMEOUT:
    case VIR_ERR_AGENT_UNRESPONSIVE:
      return SPIRIT_ERROR_TIMEOUT;
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
      return SPIRIT_ERROR_UNAVAILABLE;
    case VIR_ERR_RPC:
    case VIR_ERR_SYSTEM_ERROR:
      /* A dropped connection shows up as an RPC or I/O error from the remote driver. */
      return err->domain == VIR_FROM_RPC || err->domain == VIR_FROM_REMOTE ? SPIRIT_ERROR_UNAVAILABLE
                                                                            : SPIRIT_ERROR_FAILED;
    default:
      return SPIRIT_ERROR_FAILED;
    }
}

void
spirit_set_error_from_libvirt (GError **error, const char *what)
{
  const virError *err = virGetLastError ();

  if (err == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "%s: unknown libvirt error", what);
      return;
    }
  g_set_error (error,
               SPIRIT_ERROR,
               spirit_error_code_from_libvirt (err),
               "%s: %s",
               what,
               err->message ? err->message : "unknown libvirt error");
}

virDomainPtr
spirit_domain_get_handle (GVirDomain *domain)
{
  virDomainPtr handle = NULL;

  g_object_get (domain, "handle", &handle, NULL);
  return handle;
}
