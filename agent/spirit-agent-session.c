/* spirit-agent-session.c: decodes the host's frames and answers them (see the header).
 *
 * Every request gets exactly one outcome on the wire: exec → started…exit or error; kill → an
 * error only if it failed; ping → pong; a message the decoder rejected → error with its id.
 */
#define G_LOG_DOMAIN "spirit-agent"

#include "spirit-agent-session.h"
#include "spirit-agent-job.h"
#include "spirit-agent-platform.h"
#include "spirit-decoder.h"

#include <gio/gio.h>

struct _SpiritAgentSession
{
  SpiritAgentPort *port;
  SpiritLimits limits;
  SpiritDecoder *decoder;
  gchar *session_id; /* NULL: no hello yet */
  GHashTable *jobs;  /* id → SpiritAgentJob */
};

static void
send_message (SpiritAgentSession *s, const SpiritMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = spirit_message_encode (msg, &error);

  if (frame == NULL)
    g_critical ("cannot encode %s: %s", spirit_message_type_to_string (msg->type), error->message);
  else
    spirit_agent_port_send (s->port, frame);
}

static void
send_error (SpiritAgentSession *s, guint32 id, const GError *error)
{
  SpiritProtocolError code = SPIRIT_PROTOCOL_ERROR_FAILED;
  g_autoptr (SpiritMessage) msg = NULL;

  if (error->domain == SPIRIT_PROTOCOL_ERROR)
    code = error->code;
  else if (error->domain == G_SPAWN_ERROR)
    code = SPIRIT_PROTOCOL_ERROR_SPAWN_FAILED;
  msg = spirit_message_new_error (id, code, error->message);
  send_message (s, msg);
}

static void
send_error_literal (SpiritAgentSession *s, guint32 id, SpiritProtocolError code, const char *text)
{
  g_autoptr (SpiritMessage) msg = spirit_message_new_error (id, code, text);

  send_message (s, msg);
}

static void
end_session (SpiritAgentSession *s, const char *why)
{
  guint jobs = g_hash_table_size (s->jobs);

  if (s->session_id == NULL && jobs == 0)
    return;
  g_message ("session %s ended (%s); %u running job(s) killed",
             s->session_id != NULL ? s->session_id : "(none)", why, jobs);
  g_hash_table_remove_all (s->jobs);
  g_clear_pointer (&s->session_id, g_free);
}

static void
on_job_finished (SpiritAgentJob *job, gpointer user_data)
{
  SpiritAgentSession *s = user_data;

  g_hash_table_remove (s->jobs, GUINT_TO_POINTER (spirit_agent_job_get_id (job)));
}

/* ---- requests ------------------------------------------------------------------------------- */

static void
handle_hello (SpiritAgentSession *s, const SpiritMessage *hello)
{
  static const char *capabilities[] = { "exec", "shell",   "cwd",  "env",    "stdin",  "stream",
                                        "kill", "timeout", "ping", "credit", "resync", NULL };
  g_autoptr (SpiritMessage) reply = spirit_message_new (SPIRIT_MSG_HELLO, 0);

  end_session (s, "new hello");
  s->session_id = g_strdup (hello->session);
  g_message ("session %s started by %s", hello->session,
             hello->software != NULL ? hello->software : "an unnamed host");

  reply->protocol = SPIRIT_PROTOCOL_VERSION;
  reply->session = g_strdup (hello->session);
  reply->software = g_strdup ("spirit-agent " SPIRIT_VERSION);
  reply->os = g_strdup (spirit_platform_os_name ());
  reply->kernel = spirit_platform_kernel_release ();
  reply->hostname = g_strdup (g_get_host_name ());
  reply->capabilities = g_strdupv ((gchar **)capabilities);
  reply->limits = s->limits;
  send_message (s, reply);
}

static void
handle_exec (SpiritAgentSession *s, const SpiritMessage *exec)
{
  SpiritAgentJobHost host = { s->port, s->limits.stdin_window, on_job_finished, s };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritMessage) started = NULL;
  SpiritAgentJob *job;

  if (g_hash_table_contains (s->jobs, GUINT_TO_POINTER (exec->id)))
    {
      send_error_literal (s, exec->id, SPIRIT_PROTOCOL_ERROR_DUPLICATE_ID,
                          "a job with this id is still running");
      return;
    }
  if (g_hash_table_size (s->jobs) >= s->limits.max_jobs)
    {
      send_error_literal (s, exec->id, SPIRIT_PROTOCOL_ERROR_TOO_MANY_JOBS,
                          "too many jobs are running");
      return;
    }
  job = spirit_agent_job_start (exec, &host, &error);
  if (job == NULL)
    {
      send_error (s, exec->id, error);
      return;
    }
  g_hash_table_insert (s->jobs, GUINT_TO_POINTER (exec->id), job);
  started = spirit_message_new (SPIRIT_MSG_STARTED, exec->id);
  started->pid = spirit_platform_pid_number (spirit_agent_job_get_pid (job));
  g_debug ("job %u started: pid %" G_GINT64_FORMAT, exec->id, started->pid);
  /* started goes out before any output: the job's first read happens in a later iteration. */
  send_message (s, started);
}

static SpiritAgentJob *
find_job (SpiritAgentSession *s, guint32 id, gboolean report)
{
  SpiritAgentJob *job = g_hash_table_lookup (s->jobs, GUINT_TO_POINTER (id));

  if (job == NULL && report)
    send_error_literal (s, id, SPIRIT_PROTOCOL_ERROR_UNKNOWN_ID, "no running job with this id");
  return job;
}

static void
handle_stdin (SpiritAgentSession *s, const SpiritMessage *data)
{
  g_autoptr (GError) error = NULL;
  SpiritAgentJob *job = find_job (s, data->id, TRUE);

  if (job == NULL || spirit_agent_job_stdin (job, data, &error))
    return;
  send_error (s, data->id, error);
  if (g_error_matches (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_CREDIT_EXCEEDED))
    spirit_agent_job_kill (job, "KILL", NULL);
}

static void
handle_message (SpiritAgentSession *s, const SpiritMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritMessage) pong = NULL;
  SpiritAgentJob *job;

  switch (msg->type)
    {
    case SPIRIT_MSG_HELLO:
      handle_hello (s, msg);
      break;
    case SPIRIT_MSG_INVALID:
      g_debug ("rejected message (id %u): %s", msg->id, msg->error->message);
      send_error (s, msg->id, msg->error);
      break;
    case SPIRIT_MSG_PING:
      pong = spirit_message_new (SPIRIT_MSG_PONG, msg->id);
      send_message (s, pong);
      break;
    case SPIRIT_MSG_EXEC:
      handle_exec (s, msg);
      break;
    case SPIRIT_MSG_KILL:
      job = find_job (s, msg->id, TRUE);
      if (job != NULL && !spirit_agent_job_kill (job, msg->signal_name, &error))
        send_error (s, msg->id, error);
      break;
    case SPIRIT_MSG_CREDIT:
      /* A credit may cross the job's exit on the wire: unknown ids are not an error here. */
      job = find_job (s, msg->id, FALSE);
      if (job != NULL)
        spirit_agent_job_add_credit (job, msg->bytes);
      break;
    case SPIRIT_MSG_DATA:
      handle_stdin (s, msg);
      break;
    default:
      /* The decoder only lets through what travels towards the agent. */
      g_assert_not_reached ();
    }
}

/* ---- port events ---------------------------------------------------------------------------- */

void
spirit_agent_session_data (SpiritAgentSession *s, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SpiritMessage) msg = spirit_decoder_next (s->decoder, &data, &len, &error);

      if (msg != NULL)
        {
          handle_message (s, msg);
          continue;
        }
      if (error == NULL)
        break;
      /* The framing is lost: say why, drop the session, hunt for the next hello. */
      g_message ("bad frame from the host: %s", error->message);
      send_error (s, 0, error);
      end_session (s, "bad frame");
    }
}

void
spirit_agent_session_connected (SpiritAgentSession *s)
{
  spirit_decoder_resync (s->decoder, NULL);
}

void
spirit_agent_session_disconnected (SpiritAgentSession *s)
{
  end_session (s, "host disconnected");
  spirit_decoder_resync (s->decoder, NULL);
}

void
spirit_agent_session_drained (SpiritAgentSession *s)
{
  GHashTableIter iter;
  gpointer job;

  g_hash_table_iter_init (&iter, s->jobs);
  while (g_hash_table_iter_next (&iter, NULL, &job))
    spirit_agent_job_resume (job);
}

guint
spirit_agent_session_get_job_count (SpiritAgentSession *s)
{
  return g_hash_table_size (s->jobs);
}

SpiritAgentSession *
spirit_agent_session_new (SpiritAgentPort *port, const SpiritLimits *limits)
{
  SpiritAgentSession *s = g_new0 (SpiritAgentSession, 1);

  s->port = port;
  s->limits = *limits;
  s->decoder = spirit_decoder_new (SPIRIT_TO_AGENT, limits);
  spirit_decoder_resync (s->decoder, NULL);
  s->jobs = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)spirit_agent_job_free);
  return s;
}

void
spirit_agent_session_free (SpiritAgentSession *s)
{
  if (s == NULL)
    return;
  g_hash_table_destroy (s->jobs);
  spirit_decoder_free (s->decoder);
  g_free (s->session_id);
  g_free (s);
}
