/* spirit-job-status.h: how a guest command ended, read from org.crom.Spirit.Proxy's JobExited.
 *
 * The one reading of the status a{sv} (exit-code, signal-number, timed-out, the truncation flags,
 * error) that spiritctl exec and the @target runner share, so both report a command's end alike:
 * as a shell does, the exit code, 128 + N for signal N, and 124 when the timeout killed it (as
 * timeout(1)).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  int exit_status;          /* as a shell reports it; 1 when there is none (see below) */
  gboolean has_exit_status; /* an exit code, a signal or a timeout came */
  const char *error;        /* the job failed without a status: why (borrowed from the status) */
  gboolean timed_out;
  gboolean stdout_truncated; /* the backend dropped output (qemu-guest-agent's 16 MiB) */
  gboolean stderr_truncated;
} SpiritJobEnd;

void spirit_job_end_from_status (GVariant *status, SpiritJobEnd *end);

G_END_DECLS
