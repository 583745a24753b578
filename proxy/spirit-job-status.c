/* spirit-job-status.c: JobExited's status, read once (see the header). */
#define G_LOG_DOMAIN "spirit-job-status"

#include "spirit-job-status.h"

void
spirit_job_end_from_status (GVariant *status, SpiritJobEnd *end)
{
  gint32 code, signal_number;
  gboolean flag;

  *end = (SpiritJobEnd){ .exit_status = 1 };
  if (g_variant_lookup (status, "error", "&s", &end->error))
    return;
  end->stdout_truncated = g_variant_lookup (status, "stdout-truncated", "b", &flag) && flag;
  end->stderr_truncated = g_variant_lookup (status, "stderr-truncated", "b", &flag) && flag;
  end->timed_out = g_variant_lookup (status, "timed-out", "b", &flag) && flag;
  end->has_exit_status = TRUE;
  if (end->timed_out)
    end->exit_status = 124;
  else if (g_variant_lookup (status, "exit-code", "i", &code))
    end->exit_status = code & 0xff;
  else if (g_variant_lookup (status, "signal-number", "i", &signal_number))
    end->exit_status = 128 + (signal_number & 0x7f);
  else
    {
      end->has_exit_status = FALSE;
      end->exit_status = 1;
    }
}
