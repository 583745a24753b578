/* spirit-exec-job.h: one command run in a guest through spirit-agent, for one D-Bus caller.
 *
 * Streams the caller's stdin fd to the agent within the agent's stdin window, and the command's
 * stdout/stderr frames to the caller's fds. Output credit goes back to the agent only for bytes
 * written to the caller's fd, so a caller that does not read stops its command in the guest and
 * spiritd holds at most SPIRIT_EXEC_JOB_WINDOW bytes of that job's output (both streams
 * together). A caller whose fd breaks (EPIPE) does not stop the command: its output is discarded
 * and credited at once, and JobExited still reports the status.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-agent-link.h"
#include "spirit-job-caller.h"

G_BEGIN_DECLS

#define SPIRIT_EXEC_JOB_WINDOW (1024 * 1024)

typedef struct
{
  char **argv; /* or shell */
  char *shell;
  char *cwd;
  char **env;
  guint32 timeout_ms;
} SpiritExecRequest;

void spirit_exec_request_clear (SpiritExecRequest *request);

/* Called once, when the job is over (JobExited was sent, or the caller is gone); the owner then
 * frees it. */
typedef void (*SpiritExecJobDone) (SpiritExecJob *job, gpointer user_data);

/* Starts the command; fds are taken. The invocation is answered with the job's path once the
 * agent reports the command started, or with an error. */
SpiritExecJob *spirit_exec_job_start (SpiritAgentLink *link,
                                      const char *vm_name,
                                      const char *path,
                                      GDBusMethodInvocation *invocation,
                                      const SpiritExecRequest *request,
                                      int stdin_fd,
                                      int stdout_fd,
                                      int stderr_fd,
                                      SpiritExecJobDone done,
                                      gpointer user_data);
void spirit_exec_job_free (SpiritExecJob *job);

/* Who asked, the job's path, and what JobExited will carry. */
const SpiritJobCaller *spirit_exec_job_get_caller (SpiritExecJob *job);

/* Cancel(): sends the signal (a protocol name) to the command. */
void spirit_exec_job_signal (SpiritExecJob *job, const char *signal_name);
/* The caller left the bus: kill the command, discard its output, send no signal. */
void spirit_exec_job_abandon (SpiritExecJob *job);

/* From the link: a message for this job, and the end of the session (the agent went away). */
void spirit_exec_job_handle (SpiritExecJob *job, const SpiritMessage *msg);
void spirit_exec_job_lost (SpiritExecJob *job, const char *why);

G_END_DECLS
