/* spirit-job-caller.c: the Exec call, the caller and JobExited of one guest command. */
#define G_LOG_DOMAIN "spirit-job-caller"

#include "spirit-job-caller.h"
#include "spirit-error.h"

void
spirit_job_caller_init (SpiritJobCaller *caller,
                        GDBusMethodInvocation *invocation,
                        const char *path,
                        const char *vm_name)
{
  caller->bus = g_object_ref (g_dbus_method_invocation_get_connection (invocation));
  caller->sender = g_strdup (g_dbus_method_invocation_get_sender (invocation));
  caller->path = g_strdup (path);
  caller->vm_name = g_strdup (vm_name);
  caller->invocation = invocation;
  caller->status = NULL;
  caller->abandoned = FALSE;
}

void
spirit_job_caller_clear (SpiritJobCaller *caller)
{
  if (caller->invocation != NULL)
    g_dbus_method_invocation_return_error (g_steal_pointer (&caller->invocation), SPIRIT_ERROR,
                                           SPIRIT_ERROR_AGENT_UNAVAILABLE,
                                           "The command in '%s' was abandoned", caller->vm_name);
  g_clear_pointer (&caller->status, g_variant_dict_unref);
  g_clear_object (&caller->bus);
  g_clear_pointer (&caller->sender, g_free);
  g_clear_pointer (&caller->path, g_free);
  g_clear_pointer (&caller->vm_name, g_free);
}

void
spirit_job_caller_reply_path (SpiritJobCaller *caller)
{
  g_return_if_fail (caller->invocation != NULL);
  g_dbus_method_invocation_return_value (g_steal_pointer (&caller->invocation),
                                         g_variant_new ("(o)", caller->path));
}

GVariantDict *
spirit_job_caller_new_status (SpiritJobCaller *caller)
{
  g_clear_pointer (&caller->status, g_variant_dict_unref);
  caller->status = g_variant_dict_new (NULL);
  return caller->status;
}

void
spirit_job_caller_fail (SpiritJobCaller *caller, const GError *error)
{
  GVariantDict *status;

  if (caller->invocation != NULL)
    {
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&caller->invocation), error);
      caller->abandoned = TRUE; /* the caller never got a job path: no signal */
    }
  status = spirit_job_caller_new_status (caller);
  g_variant_dict_insert (status, "error", "s", error->message);
  g_variant_dict_insert (status, "error-name", "s",
                         error->domain == SPIRIT_ERROR ? spirit_error_dbus_name (error->code)
                                                       : "org.crom.Spirit.Error.Failed");
}

void
spirit_job_caller_report (SpiritJobCaller *caller, const char *backend)
{
  g_autoptr (GError) error = NULL;

  if (caller->abandoned || caller->invocation != NULL || caller->status == NULL)
    return;
  g_variant_dict_insert (caller->status, "backend", "s", backend);
  if (!g_dbus_connection_emit_signal (
        caller->bus, caller->sender, "/org/crom/Spirit", "org.crom.Spirit.Proxy", "JobExited",
        g_variant_new ("(o@a{sv})", caller->path, g_variant_dict_end (caller->status)), &error))
    g_debug ("Could not send JobExited for %s: %s", caller->path, error->message);
}
