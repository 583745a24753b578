/* spirit-agent-job.c: a child process streamed over the port (see spirit-agent-job.h).
 *
 * Every callback that can end the job only marks state and calls maybe_finish(), which queues
 * the exit message and defers the session's cleanup to an idle, so no callback ever runs on a
 * freed job.
 */
#define G_LOG_DOMAIN "spirit-agent"

#include "spirit-agent-job.h"
#include "spirit-agent-platform.h"

#include <gio/gio.h>
#include <string.h>

#define OUTPUT_CHUNK (256 * 1024)

typedef struct
{
  SpiritAgentJob *job;
  SpiritFrameType type;
  int fd;
  guint watch;
} SpiritJobOutput;

struct _SpiritAgentJob
{
  guint32 id;
  SpiritAgentJobHost host;
  GPid pid;

  SpiritJobOutput out[2]; /* stdout, stderr */
  gint64 credit;          /* output bytes the host still accepts; -1: no window */

  int stdin_fd;
  gboolean stdin_requested;
  guint stdin_watch;
  GQueue stdin_queue; /* GBytes */
  gsize stdin_offset;
  gboolean stdin_eof;
  guint64 stdin_allowed; /* bytes the host may still send */
  guint32 stdin_to_grant;

  guint child_watch;
  gboolean exited;
  gint wait_status;
  guint timeout;
  gboolean timed_out;
  guint finish_idle;
  gboolean exit_sent;
};

static gboolean on_output (int fd, GIOCondition condition, gpointer data);
static gboolean on_stdin_writable (int fd, GIOCondition condition, gpointer data);

guint32
spirit_agent_job_get_id (SpiritAgentJob *job)
{
  return job->id;
}

GPid
spirit_agent_job_get_pid (SpiritAgentJob *job)
{
  return job->pid;
}

static void
send_message (SpiritAgentJob *job, SpiritMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = spirit_message_encode (msg, &error);

  if (frame == NULL)
    {
      g_critical ("job %u: cannot encode %s: %s", job->id,
                  spirit_message_type_to_string (msg->type), error->message);
      return;
    }
  spirit_agent_port_send (job->host.port, frame);
}

static gboolean
on_finish_idle (gpointer data)
{
  SpiritAgentJob *job = data;

  job->finish_idle = 0;
  job->host.finished (job, job->host.user_data);
  return G_SOURCE_REMOVE;
}

static void
maybe_finish (SpiritAgentJob *job)
{
  g_autoptr (SpiritMessage) msg = NULL;

  if (!job->exited || job->out[0].fd >= 0 || job->out[1].fd >= 0 || job->exit_sent)
    return;
  /* The timeout stays armed until here: it also ends descendants that keep the pipes open. */
  if (job->timeout != 0)
    g_source_remove (job->timeout);
  job->timeout = 0;
  msg = spirit_message_new (SPIRIT_MSG_EXIT, job->id);
  spirit_platform_describe_exit (job->wait_status, msg);
  msg->timed_out = job->timed_out;
  send_message (job, msg);
  job->exit_sent = TRUE;
  job->finish_idle = g_idle_add (on_finish_idle, job);
}

/* ---- output --------------------------------------------------------------------------------- */

static gboolean
may_read_output (SpiritAgentJob *job)
{
  return job->credit != 0 && spirit_agent_port_can_send_bulk (job->host.port);
}

static void
close_output (SpiritJobOutput *o)
{
  g_autoptr (GBytes) eof = spirit_frame_encode_data (o->type, o->job->id, TRUE, NULL, 0);

  spirit_agent_port_send (o->job->host.port, eof);
  spirit_platform_close (o->fd);
  o->fd = -1;
  o->watch = 0;
}

static gboolean
on_output (int fd, GIOCondition condition, gpointer data)
{
  SpiritJobOutput *o = data;
  SpiritAgentJob *job = o->job;
  g_autoptr (GError) error = NULL;
  gsize want = OUTPUT_CHUNK;
  gssize avail;
  guint8 *buf;
  gssize n;

  if (!may_read_output (job))
    {
      o->watch = 0; /* paused: spirit_agent_job_resume() or a credit adds it back */
      return G_SOURCE_REMOVE;
    }
  if (job->credit > 0)
    want = MIN (want, (gsize)job->credit);
  /* Allocate what is there, not the maximum: no realloc, and small reads stay small. */
  avail = spirit_platform_pipe_available (o->fd);
  if (avail > 0)
    want = MIN (want, (gsize)avail);
  else if (avail == 0)
    want = MIN (want, 4096); /* EOF, or data arriving right now */
  buf = g_malloc (SPIRIT_FRAME_HEADER_SIZE + want);
  n = spirit_platform_read (o->fd, buf + SPIRIT_FRAME_HEADER_SIZE, want, &error);
  if (n > 0)
    {
      g_autoptr (GBytes) frame = NULL;

      /* Shrink to what was read: the queue's byte count must be what the memory holds. */
      if ((gsize)n < want)
        buf = g_realloc (buf, SPIRIT_FRAME_HEADER_SIZE + n);
      spirit_frame_header_write (buf, o->type, 0, job->id, n);
      frame = g_bytes_new_take (buf, SPIRIT_FRAME_HEADER_SIZE + n);
      spirit_agent_port_send (job->host.port, frame);
      if (job->credit > 0)
        job->credit -= n;
      return G_SOURCE_CONTINUE;
    }
  g_free (buf);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n < 0)
    g_message ("job %u: reading output: %s", job->id, error->message);
  close_output (o);
  maybe_finish (job);
  return G_SOURCE_REMOVE;
}

void
spirit_agent_job_resume (SpiritAgentJob *job)
{
  if (!may_read_output (job))
    return;
  for (int i = 0; i < 2; i++)
    {
      SpiritJobOutput *o = &job->out[i];
      if (o->fd >= 0 && o->watch == 0)
        o->watch = spirit_platform_watch_fd (o->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_output, o);
    }
}

void
spirit_agent_job_add_credit (SpiritAgentJob *job, guint32 bytes)
{
  if (job->credit < 0)
    return;
  job->credit = MIN (job->credit + (gint64)bytes, (gint64)G_MAXINT64 / 2);
  spirit_agent_job_resume (job);
}

/* ---- stdin ---------------------------------------------------------------------------------- */

static void
grant_stdin (SpiritAgentJob *job, gboolean now)
{
  g_autoptr (SpiritMessage) msg = NULL;

  if (job->stdin_to_grant == 0 || (!now && job->stdin_to_grant < job->host.stdin_window / 4))
    return;
  msg = spirit_message_new (SPIRIT_MSG_CREDIT, job->id);
  msg->bytes = job->stdin_to_grant;
  job->stdin_allowed += job->stdin_to_grant;
  job->stdin_to_grant = 0;
  send_message (job, msg);
}

static void
close_stdin (SpiritAgentJob *job)
{
  /* What the child will never read is credited back, so a host never waits on a dead pipe. */
  while (!g_queue_is_empty (&job->stdin_queue))
    {
      g_autoptr (GBytes) b = g_queue_pop_head (&job->stdin_queue);
      job->stdin_to_grant += g_bytes_get_size (b) - job->stdin_offset;
      job->stdin_offset = 0;
    }
  if (job->stdin_watch != 0)
    g_source_remove (job->stdin_watch);
  job->stdin_watch = 0;
  spirit_platform_close (job->stdin_fd);
  job->stdin_fd = -1;
  grant_stdin (job, TRUE);
}

static gboolean
on_stdin_writable (int fd, GIOCondition condition, gpointer data)
{
  SpiritAgentJob *job = data;

  while (!g_queue_is_empty (&job->stdin_queue))
    {
      g_autoptr (GError) error = NULL;
      GBytes *head = g_queue_peek_head (&job->stdin_queue);
      gsize size;
      const guint8 *p = g_bytes_get_data (head, &size);
      gssize n = spirit_platform_write (job->stdin_fd, p + job->stdin_offset,
                                        size - job->stdin_offset, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          grant_stdin (job, FALSE);
          return G_SOURCE_CONTINUE;
        }
      if (n < 0)
        {
          /* The child closed its stdin (EPIPE) or exited: stop feeding it. */
          g_debug ("job %u: stdin: %s", job->id, error->message);
          job->stdin_watch = 0;
          close_stdin (job);
          return G_SOURCE_REMOVE;
        }
      job->stdin_offset += n;
      job->stdin_to_grant += n;
      if (job->stdin_offset == size)
        {
          g_bytes_unref (g_queue_pop_head (&job->stdin_queue));
          job->stdin_offset = 0;
        }
    }
  job->stdin_watch = 0;
  if (job->stdin_eof)
    close_stdin (job);
  else
    grant_stdin (job, TRUE);
  return G_SOURCE_REMOVE;
}

gboolean
spirit_agent_job_stdin (SpiritAgentJob *job, const SpiritMessage *data, GError **error)
{
  gsize len = g_bytes_get_size (data->data);

  if (!job->stdin_requested)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_INVALID,
                   "job %u was started without \"stdin\": true", job->id);
      return FALSE;
    }
  if (len > job->stdin_allowed)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_CREDIT_EXCEEDED,
                   "job %u: %zu bytes of stdin with %" G_GUINT64_FORMAT " bytes of window left",
                   job->id, len, job->stdin_allowed);
      return FALSE;
    }
  job->stdin_allowed -= len;
  if (job->stdin_eof && len > 0)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_INVALID,
                   "job %u: stdin data after its end", job->id);
      return FALSE;
    }
  job->stdin_eof = job->stdin_eof || data->eof;
  if (job->stdin_fd < 0)
    {
      /* Nobody reads it any more; take it and give the window back. */
      job->stdin_to_grant += len;
      grant_stdin (job, TRUE);
      return TRUE;
    }
  if (len > 0)
    g_queue_push_tail (&job->stdin_queue, g_bytes_ref (data->data));
  if (g_queue_is_empty (&job->stdin_queue) && job->stdin_eof)
    close_stdin (job);
  else if (job->stdin_watch == 0 && !g_queue_is_empty (&job->stdin_queue))
    job->stdin_watch = spirit_platform_watch_fd (job->stdin_fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
                                                 on_stdin_writable, job);
  return TRUE;
}

/* ---- process -------------------------------------------------------------------------------- */

static void
on_child_exit (GPid pid, gint wait_status, gpointer data)
{
  SpiritAgentJob *job = data;

  job->child_watch = 0;
  job->exited = TRUE;
  job->wait_status = wait_status;
  g_spawn_close_pid (pid);
  maybe_finish (job);
}

static gboolean
on_timeout (gpointer data)
{
  SpiritAgentJob *job = data;
  g_autoptr (GError) error = NULL;

  job->timeout = 0;
  job->timed_out = TRUE;
  if (!spirit_platform_kill (job->pid, "KILL", &error))
    g_message ("job %u: timeout: %s", job->id, error->message);
  return G_SOURCE_REMOVE;
}

gboolean
spirit_agent_job_kill (SpiritAgentJob *job, const char *signal_name, GError **error)
{
  return spirit_platform_kill (job->pid, signal_name, error);
}

static gchar **
build_envp (const SpiritMessage *exec)
{
  gchar **envp = exec->clear_env ? g_new0 (gchar *, 1) : g_get_environ ();

  for (gchar **e = exec->env; e != NULL && *e != NULL; e++)
    {
      const char *eq = strchr (*e, '=');
      g_autofree gchar *key = g_strndup (*e, eq - *e);

      envp = g_environ_setenv (envp, key, eq + 1, TRUE);
    }
  return envp;
}

SpiritAgentJob *
spirit_agent_job_start (const SpiritMessage *exec, const SpiritAgentJobHost *host, GError **error)
{
  g_autoptr (SpiritAgentJob) job = g_new0 (SpiritAgentJob, 1);
  g_auto (GStrv) argv = NULL;
  g_auto (GStrv) envp = build_envp (exec);
  SpiritChild child;

  job->id = exec->id;
  job->host = *host;
  job->stdin_fd = -1;
  job->out[0] = (SpiritJobOutput){ job, SPIRIT_FRAME_STDOUT, -1, 0 };
  job->out[1] = (SpiritJobOutput){ job, SPIRIT_FRAME_STDERR, -1, 0 };
  job->exited = TRUE; /* until there is a child, freeing must not kill anything */
  g_queue_init (&job->stdin_queue);

  argv = exec->shell != NULL ? spirit_platform_shell_argv (exec->shell) : g_strdupv (exec->argv);
  if (!spirit_platform_spawn (argv, envp, exec->cwd, exec->stdin_pipe, &child, error))
    return NULL;

  job->pid = child.pid;
  job->exited = FALSE;
  job->stdin_fd = child.stdin_fd;
  job->stdin_requested = exec->stdin_pipe;
  job->stdin_allowed = host->stdin_window;
  job->out[0].fd = child.stdout_fd;
  job->out[1].fd = child.stderr_fd;
  job->credit = exec->window > 0 ? (gint64)exec->window : -1;
  job->child_watch = spirit_platform_watch_child (child.pid, on_child_exit, job);
  if (exec->timeout_ms > 0)
    job->timeout = g_timeout_add (exec->timeout_ms, on_timeout, job);
  spirit_agent_job_resume (job);
  return g_steal_pointer (&job);
}

static void
reap_quietly (GPid pid, gint status, gpointer data)
{
  g_spawn_close_pid (pid);
}

void
spirit_agent_job_free (SpiritAgentJob *job)
{
  if (job == NULL)
    return;
  if (!job->exited)
    {
      /* The session is over: nobody will read this command's output or status. */
      spirit_platform_kill (job->pid, "KILL", NULL);
      if (job->child_watch != 0)
        g_source_remove (job->child_watch);
      spirit_platform_watch_child (job->pid, reap_quietly, NULL);
    }
  for (int i = 0; i < 2; i++)
    {
      if (job->out[i].watch != 0)
        g_source_remove (job->out[i].watch);
      spirit_platform_close (job->out[i].fd);
    }
  if (job->stdin_watch != 0)
    g_source_remove (job->stdin_watch);
  spirit_platform_close (job->stdin_fd);
  g_queue_clear_full (&job->stdin_queue, (GDestroyNotify)g_bytes_unref);
  if (job->timeout != 0)
    g_source_remove (job->timeout);
  if (job->finish_idle != 0)
    g_source_remove (job->finish_idle);
  g_free (job);
}
