/* spirit-exec-job.c: one guest command through spirit-agent: exec, stdin, output, exit. */
#define G_LOG_DOMAIN "spirit-exec-job"

#include "spirit-exec-job.h"
#include "spirit-error.h"
#include "spirit-exec-fd.h"
#include "spirit-job-caller.h"

#include <errno.h>

/* The agent must report the command started within this long. */
#define START_TIMEOUT_S 30
#define STDIN_CHUNK (64 * 1024)

typedef struct
{
  SpiritExecJob *job;
  SpiritExecFd *fd;
  GQueue queue; /* GBytes* */
  gsize head_offset;
  gsize queued;
  guint watch;
  gboolean eof;    /* the agent sent EOF on this stream */
  gboolean broken; /* the caller's fd failed: discard from now on */
} JobOutput;

struct _SpiritExecJob
{
  SpiritAgentLink *link;
  guint32 id;
  SpiritJobCaller caller; /* its Exec call is answered when the command started */
  guint start_timeout;

  SpiritExecFd *in;
  guint in_watch;
  guint64 in_credit;
  gboolean in_started;
  gboolean in_done;

  JobOutput out[2]; /* stdout, stderr */
  guint64 received; /* output bytes the agent sent */
  guint64 granted;  /* window given to the agent: initial + credits */
  guint64 consumed; /* output bytes written (or discarded) */

  gboolean exited;
  gboolean finished;
  SpiritExecJobDone done;
  gpointer done_data;
};

static void spirit_exec_job_flush (SpiritExecJob *job, JobOutput *out);
static void spirit_exec_job_maybe_finish (SpiritExecJob *job);

void
spirit_exec_request_clear (SpiritExecRequest *request)
{
  g_clear_pointer (&request->argv, g_strfreev);
  g_clear_pointer (&request->shell, g_free);
  g_clear_pointer (&request->cwd, g_free);
  g_clear_pointer (&request->env, g_strfreev);
}

static void
job_output_clear (JobOutput *out)
{
  GBytes *bytes;

  g_clear_handle_id (&out->watch, g_source_remove);
  while ((bytes = g_queue_pop_head (&out->queue)) != NULL)
    g_bytes_unref (bytes);
  out->queued = 0;
  out->head_offset = 0;
  g_clear_pointer (&out->fd, spirit_exec_fd_free);
}

/* Stops the timer and the watches and closes the caller's fds (queued output is dropped). */
static void
spirit_exec_job_close (SpiritExecJob *job)
{
  g_clear_handle_id (&job->start_timeout, g_source_remove);
  g_clear_handle_id (&job->in_watch, g_source_remove);
  g_clear_pointer (&job->in, spirit_exec_fd_free);
  job_output_clear (&job->out[0]);
  job_output_clear (&job->out[1]);
}

void
spirit_exec_job_free (SpiritExecJob *job)
{
  if (job == NULL)
    return;
  if (!job->finished && job->link != NULL)
    spirit_agent_link_remove_job (job->link, job->id);
  spirit_exec_job_close (job);
  spirit_job_caller_clear (&job->caller);
  g_clear_object (&job->link);
  g_free (job);
}

const SpiritJobCaller *
spirit_exec_job_get_caller (SpiritExecJob *job)
{
  return &job->caller;
}

/* --- the end -------------------------------------------------------------------------------- */

static void
spirit_exec_job_finish (SpiritExecJob *job)
{
  if (job->finished)
    return;
  job->finished = TRUE;
  spirit_agent_link_remove_job (job->link, job->id);
  /* Close the output fds before the signal: a caller that reads to EOF is done reading. */
  spirit_exec_job_close (job);
  spirit_job_caller_report (&job->caller, "spirit-agent");
  job->done (job, job->done_data);
}

static void
spirit_exec_job_fail (SpiritExecJob *job, SpiritError code, const char *message)
{
  g_autoptr (GError) error = g_error_new_literal (SPIRIT_ERROR, code, message);

  spirit_job_caller_fail (&job->caller, error);
  spirit_exec_job_finish (job);
}

static void
spirit_exec_job_maybe_finish (SpiritExecJob *job)
{
  for (int i = 0; i < 2; i++)
    if (!job->out[i].eof || job->out[i].queued > 0)
      return;
  if (job->exited)
    spirit_exec_job_finish (job);
}

void
spirit_exec_job_lost (SpiritExecJob *job, const char *why)
{
  g_autofree char *message
    = g_strdup_printf ("The agent in '%s' went away: %s", job->caller.vm_name, why);

  spirit_exec_job_fail (job, SPIRIT_ERROR_AGENT_UNAVAILABLE, message);
}

/* --- output --------------------------------------------------------------------------------- */

static void
spirit_exec_job_credit (SpiritExecJob *job)
{
  guint64 outstanding = job->granted - job->received; /* what the agent may still send */
  guint64 queued = job->out[0].queued + job->out[1].queued;
  guint64 give = SPIRIT_EXEC_JOB_WINDOW - MIN (SPIRIT_EXEC_JOB_WINDOW, outstanding + queued);
  g_autoptr (SpiritMessage) credit = NULL;

  if (job->exited || job->finished || give == 0)
    return;
  /* In steps of a quarter window, or all at once when everything was written. */
  if (give < SPIRIT_EXEC_JOB_WINDOW / 4 && queued > 0)
    return;
  credit = spirit_message_new (SPIRIT_MSG_CREDIT, job->id);
  credit->bytes = (guint32)give;
  job->granted += give;
  spirit_agent_link_send_message (job->link, credit);
}

static void
job_output_discard (SpiritExecJob *job, JobOutput *out)
{
  GBytes *bytes;

  g_clear_handle_id (&out->watch, g_source_remove);
  job->consumed += out->queued;
  while ((bytes = g_queue_pop_head (&out->queue)) != NULL)
    g_bytes_unref (bytes);
  out->queued = 0;
  out->head_offset = 0;
}

static gboolean
on_output_writable (gpointer user_data)
{
  JobOutput *out = user_data;
  SpiritExecJob *job = out->job;

  out->watch = 0;
  spirit_exec_job_flush (job, out);
  spirit_exec_job_credit (job);
  spirit_exec_job_maybe_finish (job);
  return G_SOURCE_REMOVE;
}

/* Writes what the caller's fd takes now; watches it for the rest. */
static void
spirit_exec_job_flush (SpiritExecJob *job, JobOutput *out)
{
  GBytes *head;

  while ((head = g_queue_peek_head (&out->queue)) != NULL)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (head, &size);
      gssize n = spirit_exec_fd_write (out->fd, data + out->head_offset, size - out->head_offset);

      if (n == -EAGAIN)
        {
          if (out->watch == 0)
            out->watch = spirit_exec_fd_watch (out->fd, on_output_writable, out);
          return;
        }
      if (n < 0)
        {
          g_debug ("%s: the caller's fd failed (%s); discarding the rest of its output",
                   job->caller.path, g_strerror ((int)-n));
          out->broken = TRUE;
          job_output_discard (job, out);
          return;
        }
      out->head_offset += n;
      out->queued -= n;
      job->consumed += n;
      if (out->head_offset == size)
        {
          g_bytes_unref (g_queue_pop_head (&out->queue));
          out->head_offset = 0;
        }
    }
}

static void
spirit_exec_job_on_data (SpiritExecJob *job, const SpiritMessage *msg)
{
  JobOutput *out;
  gsize size = msg->data ? g_bytes_get_size (msg->data) : 0;

  if (msg->stream != SPIRIT_FRAME_STDOUT && msg->stream != SPIRIT_FRAME_STDERR)
    return;
  out = &job->out[msg->stream == SPIRIT_FRAME_STDOUT ? 0 : 1];
  if (out->eof)
    {
      spirit_exec_job_fail (job, SPIRIT_ERROR_FAILED,
                            "The agent sent output after the end of a stream");
      return;
    }
  job->received += size;
  if (job->received > job->granted)
    {
      g_autoptr (SpiritMessage) kill = spirit_message_new (SPIRIT_MSG_KILL, job->id);
      kill->signal_name = g_strdup ("KILL");
      spirit_agent_link_send_message (job->link, kill);
      spirit_exec_job_fail (
        job, SPIRIT_ERROR_FAILED,
        "The agent sent more output than its window allows; the command was killed");
      return;
    }
  if (size > 0)
    {
      if (out->broken || job->caller.abandoned || out->fd == NULL)
        job->consumed += size;
      else
        {
          g_queue_push_tail (&out->queue, g_bytes_ref (msg->data));
          out->queued += size;
          spirit_exec_job_flush (job, out);
        }
    }
  if (msg->eof)
    out->eof = TRUE;
  spirit_exec_job_credit (job);
  spirit_exec_job_maybe_finish (job);
}

/* --- stdin ---------------------------------------------------------------------------------- */

static void spirit_exec_job_watch_stdin (SpiritExecJob *job);

static void
spirit_exec_job_stdin_eof (SpiritExecJob *job)
{
  g_autoptr (GBytes) frame = spirit_frame_encode_data (SPIRIT_FRAME_STDIN, job->id, TRUE, NULL, 0);

  job->in_done = TRUE;
  g_clear_handle_id (&job->in_watch, g_source_remove);
  g_clear_pointer (&job->in, spirit_exec_fd_free);
  spirit_agent_link_send_frame (job->link, frame);
}

static gboolean
on_stdin_readable (gpointer user_data)
{
  SpiritExecJob *job = user_data;
  g_autofree guint8 *buf = NULL;
  gsize want = MIN (job->in_credit, STDIN_CHUNK);
  gssize n;

  job->in_watch = 0;
  if (want == 0)
    return G_SOURCE_REMOVE;
  buf = g_malloc (want);
  n = spirit_exec_fd_read (job->in, buf, want);
  if (n == -EAGAIN)
    {
      spirit_exec_job_watch_stdin (job);
      return G_SOURCE_REMOVE;
    }
  if (n <= 0)
    {
      spirit_exec_job_stdin_eof (job);
      return G_SOURCE_REMOVE;
    }
  {
    g_autoptr (GBytes) frame
      = spirit_frame_encode_data (SPIRIT_FRAME_STDIN, job->id, FALSE, buf, n);
    spirit_agent_link_send_frame (job->link, frame);
  }
  job->in_credit -= n;
  spirit_exec_job_watch_stdin (job);
  return G_SOURCE_REMOVE;
}

static void
spirit_exec_job_watch_stdin (SpiritExecJob *job)
{
  if (job->in == NULL || job->in_done || !job->in_started || job->in_credit == 0
      || job->in_watch != 0 || job->exited)
    return;
  job->in_watch = spirit_exec_fd_watch (job->in, on_stdin_readable, job);
}

/* --- messages ------------------------------------------------------------------------------- */

static SpiritError
error_for_agent_code (SpiritProtocolError code)
{
  switch (code)
    {
    case SPIRIT_PROTOCOL_ERROR_INVALID:
    case SPIRIT_PROTOCOL_ERROR_LIMIT:
    case SPIRIT_PROTOCOL_ERROR_MALFORMED:
      return SPIRIT_ERROR_INVALID_ARGUMENT;
    case SPIRIT_PROTOCOL_ERROR_TOO_MANY_JOBS:
      return SPIRIT_ERROR_BUSY;
    default:
      return SPIRIT_ERROR_FAILED;
    }
}

static void
spirit_exec_job_on_exit (SpiritExecJob *job, const SpiritMessage *msg)
{
  GVariantDict *status;

  if (job->caller.invocation != NULL)
    {
      spirit_exec_job_fail (job, SPIRIT_ERROR_FAILED,
                            "The agent reported an exit before the start");
      return;
    }
  job->exited = TRUE;
  status = spirit_job_caller_new_status (&job->caller);
  if (msg->signal_name != NULL)
    {
      g_variant_dict_insert (status, "signal", "s", msg->signal_name);
      g_variant_dict_insert (status, "signal-number", "i", msg->signal_number);
    }
  else
    g_variant_dict_insert (status, "exit-code", "i", (gint32)msg->exit_code);
  if (msg->timed_out)
    g_variant_dict_insert (status, "timed-out", "b", TRUE);
  g_clear_handle_id (&job->in_watch, g_source_remove);
  g_clear_pointer (&job->in, spirit_exec_fd_free);
  /* The protocol sends exit after both EOFs; an agent that did not gets its streams closed. */
  job->out[0].eof = job->out[1].eof = TRUE;
  spirit_exec_job_maybe_finish (job);
}

void
spirit_exec_job_handle (SpiritExecJob *job, const SpiritMessage *msg)
{
  switch (msg->type)
    {
    case SPIRIT_MSG_STARTED:
      if (job->caller.invocation == NULL)
        return;
      g_clear_handle_id (&job->start_timeout, g_source_remove);
      spirit_job_caller_reply_path (&job->caller);
      job->in_started = TRUE;
      spirit_exec_job_watch_stdin (job);
      break;
    case SPIRIT_MSG_ERROR:
      if (job->caller.invocation != NULL)
        {
          g_autofree char *message = g_strdup_printf (
            "Could not run the command in '%s': %s (%s)", job->caller.vm_name,
            msg->message && *msg->message ? msg->message : "the agent refused it", msg->error_nick);
          spirit_exec_job_fail (job, error_for_agent_code (msg->error_code), message);
        }
      else
        g_debug ("%s: the agent reports %s: %s", job->caller.path, msg->error_nick,
                 msg->message ? msg->message : "");
      break;
    case SPIRIT_MSG_CREDIT:
      job->in_credit = MIN (job->in_credit + msg->bytes, (guint64)G_MAXUINT32 * 4);
      spirit_exec_job_watch_stdin (job);
      break;
    case SPIRIT_MSG_DATA:
      if (job->caller.invocation != NULL)
        {
          spirit_exec_job_fail (job, SPIRIT_ERROR_FAILED, "The agent sent output before the start");
          return;
        }
      spirit_exec_job_on_data (job, msg);
      break;
    case SPIRIT_MSG_EXIT:
      spirit_exec_job_on_exit (job, msg);
      break;
    default:
      break;
    }
}

/* --- control -------------------------------------------------------------------------------- */

void
spirit_exec_job_signal (SpiritExecJob *job, const char *signal_name)
{
  g_autoptr (SpiritMessage) kill = spirit_message_new (SPIRIT_MSG_KILL, job->id);

  kill->signal_name = g_strdup (signal_name);
  spirit_agent_link_send_message (job->link, kill);
}

void
spirit_exec_job_abandon (SpiritExecJob *job)
{
  job->caller.abandoned = TRUE;
  spirit_exec_job_signal (job, "KILL");
  job_output_discard (job, &job->out[0]);
  job_output_discard (job, &job->out[1]);
  g_clear_handle_id (&job->in_watch, g_source_remove);
  g_clear_pointer (&job->in, spirit_exec_fd_free);
  spirit_exec_job_credit (job);
  spirit_exec_job_maybe_finish (job);
}

static gboolean
on_start_timeout (gpointer user_data)
{
  SpiritExecJob *job = user_data;
  g_autofree char *message
    = g_strdup_printf ("spirit-agent in '%s' did not start the command within %d s",
                       job->caller.vm_name, START_TIMEOUT_S);

  job->start_timeout = 0;
  spirit_exec_job_signal (job, "KILL");
  spirit_exec_job_fail (job, SPIRIT_ERROR_AGENT_UNAVAILABLE, message);
  return G_SOURCE_REMOVE;
}

SpiritExecJob *
spirit_exec_job_start (SpiritAgentLink *link,
                       const char *vm_name,
                       const char *path,
                       GDBusMethodInvocation *invocation,
                       const SpiritExecRequest *request,
                       int stdin_fd,
                       int stdout_fd,
                       int stderr_fd,
                       SpiritExecJobDone done,
                       gpointer user_data)
{
  SpiritExecJob *job = g_new0 (SpiritExecJob, 1);
  g_autoptr (SpiritMessage) exec = NULL;
  g_autoptr (GError) error = NULL;

  job->link = g_object_ref (link);
  spirit_job_caller_init (&job->caller, invocation, path, vm_name);
  job->done = done;
  job->done_data = user_data;
  job->in = spirit_exec_fd_new (stdin_fd, FALSE);
  for (int i = 0; i < 2; i++)
    {
      job->out[i].job = job;
      g_queue_init (&job->out[i].queue);
    }
  job->out[0].fd = spirit_exec_fd_new (stdout_fd, TRUE);
  job->out[1].fd = spirit_exec_fd_new (stderr_fd, TRUE);
  job->granted = SPIRIT_EXEC_JOB_WINDOW;

  if (!spirit_agent_link_add_job (link, job, &job->id, &error))
    {
      job->finished = TRUE; /* not in the link */
      spirit_job_caller_fail (&job->caller, error);
      spirit_exec_job_free (job);
      return NULL;
    }
  job->in_credit = spirit_agent_link_get_hello (link)->limits.stdin_window;

  exec = spirit_message_new (SPIRIT_MSG_EXEC, job->id);
  exec->argv = g_strdupv (request->argv);
  exec->shell = g_strdup (request->shell);
  exec->cwd = g_strdup (request->cwd);
  exec->env = g_strdupv (request->env);
  exec->timeout_ms = request->timeout_ms;
  exec->stdin_pipe = TRUE;
  exec->window = SPIRIT_EXEC_JOB_WINDOW;
  spirit_agent_link_send_message (link, exec);
  job->start_timeout = g_timeout_add_seconds (START_TIMEOUT_S, on_start_timeout, job);
  return job;
}
