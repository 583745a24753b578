/* spirit-agent-job.h: one command run for the host: its process, pipes, windows and timeout.
 *
 * Output is read from the child's pipes only while the host's window for the job has credit
 * and the port's queue is below its high mark; otherwise the pipe is left unread, it fills,
 * and the child blocks in write(). Stdin is accepted up to the window the agent advertised
 * (limits.stdin_window) and credited back as the child consumes it. Memory per job is thereby
 * bounded by one read chunk plus the stdin window.
 *
 * Messages of a job, in order: started, data (stdout/stderr, each ending with an EOF frame),
 * exit. The exit is sent only after both output streams reached EOF, so the host has all of the
 * output when it sees the exit status.
 */
#pragma once

#include "spirit-agent-port.h"
#include "spirit-message.h"

G_BEGIN_DECLS

typedef struct _SpiritAgentJob SpiritAgentJob;

typedef struct
{
  SpiritAgentPort *port;
  guint32 stdin_window;
  /* Called from an idle once the exit message is queued: free the job then. */
  void (*finished) (SpiritAgentJob *job, gpointer user_data);
  gpointer user_data;
} SpiritAgentJobHost;

/* Spawns exec (a validated EXEC message). On failure nothing is left running. */
SpiritAgentJob *
spirit_agent_job_start (const SpiritMessage *exec, const SpiritAgentJobHost *host, GError **error);
/* Kills the process group if it still runs, and frees everything without sending anything. */
void spirit_agent_job_free (SpiritAgentJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritAgentJob, spirit_agent_job_free)

guint32 spirit_agent_job_get_id (SpiritAgentJob *job);
GPid spirit_agent_job_get_pid (SpiritAgentJob *job);

gboolean spirit_agent_job_kill (SpiritAgentJob *job, const char *signal_name, GError **error);
void spirit_agent_job_add_credit (SpiritAgentJob *job, guint32 bytes);
/* A STDIN data message for this job. Fails with CREDIT_EXCEEDED past the window, or INVALID
 * for a job without "stdin": true. */
gboolean spirit_agent_job_stdin (SpiritAgentJob *job, const SpiritMessage *data, GError **error);
/* The port has room again: read the pipes that were paused for it. */
void spirit_agent_job_resume (SpiritAgentJob *job);

G_END_DECLS
