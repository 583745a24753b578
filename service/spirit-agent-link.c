/* spirit-agent-link.c: one VM's spirit.0 connection: connect, hello, ping, reconnect, route. */
#define G_LOG_DOMAIN "spirit-agent-link"

#include "spirit-agent-link.h"
#include "spirit-decoder.h"
#include "spirit-error.h"
#include "spirit-exec-job.h"

#include <gio/gunixsocketaddress.h>

/* Hello again while the agent does not answer: 1 s, then 1 s more each time, up to 5 s. */
#define HELLO_FIRST_MS 1000
#define HELLO_MAX_MS 5000
/* Reconnect after the socket closed or could not be opened, with the same back-off. */
#define RECONNECT_FIRST_MS 1000
#define RECONNECT_MAX_MS 5000
/* Ping when nothing came for this long; give up on the session if nothing comes for twice that. */
#define PING_IDLE_S 5
#define PING_DEAD_S 15
#define READ_CHUNK (64 * 1024)
/* Frames queued for the agent: stdin is sent only within the agent's window, so this is only
 * reached if the agent stops reading its port altogether. */
#define MAX_SEND_QUEUE (64 * 1024 * 1024)

static char *test_socket_dir;

struct _SpiritAgentLink
{
  GObject parent_instance;

  char *vm_name;
  char *socket_path;
  gint64 socket_since; /* monotonic µs: when this socket (a run of the VM) appeared */

  GCancellable *cancellable; /* of the current connection and its pending I/O */
  GSocketConnection *connection;
  guint8 *read_buffer;
  SpiritDecoder *decoder;

  GQueue send_queue; /* GBytes* */
  gsize send_queued;
  gboolean writing;

  char *nonce;
  SpiritMessage *hello; /* the agent's, while ready */
  guint hello_source;
  guint hello_delay_ms;
  guint reconnect_source;
  guint reconnect_delay_ms;
  guint ping_source;
  gint64 last_received; /* monotonic µs */
  guint32 ping_seq;

  GHashTable *jobs; /* id → SpiritExecJob* (borrowed; a job removes itself) */
  guint32 next_id;
};

enum
{
  PROP_0,
  PROP_READY,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (SpiritAgentLink, spirit_agent_link, G_TYPE_OBJECT)

static void spirit_agent_link_connect (SpiritAgentLink *self);
static void
spirit_agent_link_disconnect (SpiritAgentLink *self, const char *why, gboolean reconnect);
static void spirit_agent_link_write_next (SpiritAgentLink *self);

void
spirit_agent_link_set_test_socket_dir (const char *dir)
{
  g_free (test_socket_dir);
  test_socket_dir = g_strdup (dir);
}

const char *
spirit_agent_link_get_test_socket_dir (void)
{
  return test_socket_dir;
}

/* --- session -------------------------------------------------------------------------------- */

static void
spirit_agent_link_fail_jobs (SpiritAgentLink *self, const char *why)
{
  g_autoptr (GList) jobs = g_hash_table_get_values (self->jobs);

  /* Failing a job removes it from the table; take the list first. */
  g_hash_table_steal_all (self->jobs);
  for (GList *l = jobs; l; l = l->next)
    spirit_exec_job_lost (l->data, why);
}

static void
spirit_agent_link_end_session (SpiritAgentLink *self, const char *why)
{
  gboolean was_ready = self->hello != NULL;

  g_clear_handle_id (&self->ping_source, g_source_remove);
  g_clear_pointer (&self->hello, spirit_message_free);
  /* AgentConnected goes false before the jobs' JobExited signals: a caller that sees its job
   * fail already sees why. */
  if (was_ready)
    {
      g_message ("spirit-agent of %s is gone: %s", self->vm_name, why);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_READY]);
    }
  spirit_agent_link_fail_jobs (self, why);
}

static void
spirit_agent_link_queue (SpiritAgentLink *self, GBytes *frame)
{
  if (self->connection == NULL)
    return;
  if (self->send_queued > MAX_SEND_QUEUE)
    {
      spirit_agent_link_disconnect (self, "the agent does not read its port", TRUE);
      return;
    }
  g_queue_push_tail (&self->send_queue, g_bytes_ref (frame));
  self->send_queued += g_bytes_get_size (frame);
  spirit_agent_link_write_next (self);
}

static void
spirit_agent_link_send_hello (SpiritAgentLink *self)
{
  g_autoptr (SpiritMessage) hello = spirit_message_new (SPIRIT_MSG_HELLO, 0);
  g_autoptr (GBytes) frame = NULL;
  g_autoptr (GError) error = NULL;
  guint8 random[16];

  for (gsize i = 0; i < sizeof random; i++)
    random[i] = (guint8)g_random_int_range (0, 256);
  g_free (self->nonce);
  self->nonce = g_malloc (sizeof random * 2 + 1);
  for (gsize i = 0; i < sizeof random; i++)
    g_snprintf (self->nonce + 2 * i, 3, "%02x", random[i]);

  /* A new hello ends whatever session the agent had with us: its jobs are killed there. */
  spirit_agent_link_end_session (self, "spirit-agent did not answer pings");
  spirit_decoder_resync (self->decoder, self->nonce);
  hello->protocol = SPIRIT_PROTOCOL_VERSION;
  hello->session = g_strdup (self->nonce);
  hello->software = g_strdup ("spiritd " SPIRIT_VERSION);
  frame = spirit_message_encode (hello, &error);
  g_assert (frame != NULL);
  spirit_agent_link_queue (self, frame);
}

static gboolean
on_hello_timeout (gpointer user_data)
{
  SpiritAgentLink *self = user_data;

  self->hello_source = 0;
  g_debug ("spirit-agent of %s has not answered; hello again", self->vm_name);
  self->hello_delay_ms = MIN (self->hello_delay_ms + 1000, HELLO_MAX_MS);
  spirit_agent_link_send_hello (self);
  if (self->connection != NULL)
    self->hello_source = g_timeout_add (self->hello_delay_ms, on_hello_timeout, self);
  return G_SOURCE_REMOVE;
}

static void
spirit_agent_link_start_hunting (SpiritAgentLink *self)
{
  g_clear_handle_id (&self->hello_source, g_source_remove);
  self->hello_delay_ms = HELLO_FIRST_MS;
  spirit_agent_link_send_hello (self);
  if (self->connection != NULL)
    self->hello_source = g_timeout_add (self->hello_delay_ms, on_hello_timeout, self);
}

static gboolean
on_ping_timer (gpointer user_data)
{
  SpiritAgentLink *self = user_data;
  gint64 quiet = (g_get_monotonic_time () - self->last_received) / G_USEC_PER_SEC;
  g_autoptr (SpiritMessage) ping = NULL;
  g_autoptr (GBytes) frame = NULL;

  if (quiet >= PING_DEAD_S)
    {
      self->ping_source = 0;
      g_message ("spirit-agent of %s did not answer for %" G_GINT64_FORMAT " s; saying hello again",
                 self->vm_name, quiet);
      spirit_agent_link_start_hunting (self);
      return G_SOURCE_REMOVE;
    }
  if (quiet >= PING_IDLE_S)
    {
      ping = spirit_message_new (SPIRIT_MSG_PING, ++self->ping_seq);
      frame = spirit_message_encode (ping, NULL);
      spirit_agent_link_queue (self, frame);
    }
  return G_SOURCE_CONTINUE;
}

/* Takes msg if it starts the session. */
static gboolean
spirit_agent_link_on_hello (SpiritAgentLink *self, SpiritMessage *msg)
{
  if (self->hello != NULL || g_strcmp0 (msg->session, self->nonce) != 0)
    {
      g_debug ("Ignoring a hello of another session from %s", self->vm_name);
      return FALSE;
    }
  g_clear_handle_id (&self->hello_source, g_source_remove);
  self->hello = msg;
  self->reconnect_delay_ms = RECONNECT_FIRST_MS;
  self->ping_source = g_timeout_add_seconds (PING_IDLE_S, on_ping_timer, self);
  g_message ("spirit-agent of %s: %s on %s %s", self->vm_name, msg->software,
             msg->os ? msg->os : "?", msg->kernel ? msg->kernel : "?");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_READY]);
  return TRUE;
}

static void
spirit_agent_link_dispatch (SpiritAgentLink *self, SpiritMessage *msg)
{
  SpiritExecJob *job;

  switch (msg->type)
    {
    case SPIRIT_MSG_HELLO:
      if (spirit_agent_link_on_hello (self, msg))
        return;
      break;
    case SPIRIT_MSG_PONG:
      break;
    case SPIRIT_MSG_INVALID:
      g_debug ("%s's agent sent an invalid message: %s", self->vm_name, msg->error->message);
      break;
    case SPIRIT_MSG_ERROR:
      if (msg->id == 0)
        {
          g_debug ("%s's agent reports: %s: %s", self->vm_name, msg->error_nick,
                   msg->message ? msg->message : "");
          break;
        }
      G_GNUC_FALLTHROUGH;
    case SPIRIT_MSG_STARTED:
    case SPIRIT_MSG_EXIT:
    case SPIRIT_MSG_CREDIT:
    case SPIRIT_MSG_DATA:
      if (self->hello == NULL)
        break;
      job = g_hash_table_lookup (self->jobs, GUINT_TO_POINTER (msg->id));
      if (job == NULL)
        {
          g_debug ("%s's agent sent %s for unknown job %u", self->vm_name,
                   spirit_message_type_to_string (msg->type), msg->id);
          break;
        }
      spirit_exec_job_handle (job, msg);
      break;
    default:
      break;
    }
  spirit_message_free (msg);
}

/* --- I/O ------------------------------------------------------------------------------------ */

static void
on_write_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritAgentLink *self = user_data;
  g_autoptr (GError) error = NULL;
  GBytes *frame;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          self->writing = FALSE;
          spirit_agent_link_disconnect (self, error->message, TRUE);
        }
      g_object_unref (self);
      return;
    }
  self->writing = FALSE;
  frame = g_queue_pop_head (&self->send_queue);
  self->send_queued -= g_bytes_get_size (frame);
  g_bytes_unref (frame);
  spirit_agent_link_write_next (self);
  g_object_unref (self);
}

static void
spirit_agent_link_write_next (SpiritAgentLink *self)
{
  GBytes *frame;
  GOutputStream *out;

  if (self->writing || self->connection == NULL)
    return;
  frame = g_queue_peek_head (&self->send_queue);
  if (frame == NULL)
    return;
  self->writing = TRUE;
  out = g_io_stream_get_output_stream (G_IO_STREAM (self->connection));
  g_output_stream_write_all_async (out, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame),
                                   G_PRIORITY_DEFAULT, self->cancellable, on_write_done,
                                   g_object_ref (self));
}

static void spirit_agent_link_read_next (SpiritAgentLink *self);

static void
on_read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritAgentLink *self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  const guint8 *p;
  gsize left;
  SpiritMessage *msg;

  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  if (n <= 0)
    {
      spirit_agent_link_disconnect (self, n == 0 ? "the channel closed" : error->message, TRUE);
      g_object_unref (self);
      return;
    }

  self->last_received = g_get_monotonic_time ();
  p = self->read_buffer;
  left = (gsize)n;
  while (self->connection != NULL)
    {
      msg = spirit_decoder_next (self->decoder, &p, &left, &error);
      if (msg == NULL)
        break;
      spirit_agent_link_dispatch (self, msg);
    }
  if (error != NULL && self->connection != NULL)
    {
      g_warning ("spirit-agent of %s broke the protocol (%s); reconnecting", self->vm_name,
                 error->message);
      spirit_agent_link_disconnect (self, error->message, TRUE);
    }
  if (self->connection != NULL)
    spirit_agent_link_read_next (self);
  g_object_unref (self);
}

static void
spirit_agent_link_read_next (SpiritAgentLink *self)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (self->connection));

  g_input_stream_read_async (in, self->read_buffer, READ_CHUNK, G_PRIORITY_DEFAULT,
                             self->cancellable, on_read_done, g_object_ref (self));
}

/* --- connection ----------------------------------------------------------------------------- */

static gboolean
on_reconnect (gpointer user_data)
{
  SpiritAgentLink *self = user_data;

  self->reconnect_source = 0;
  spirit_agent_link_connect (self);
  return G_SOURCE_REMOVE;
}

static void
spirit_agent_link_schedule_reconnect (SpiritAgentLink *self)
{
  if (self->socket_path == NULL || self->reconnect_source != 0)
    return;
  self->reconnect_source = g_timeout_add (self->reconnect_delay_ms, on_reconnect, self);
  self->reconnect_delay_ms = MIN (self->reconnect_delay_ms + 1000, RECONNECT_MAX_MS);
}

static void
spirit_agent_link_disconnect (SpiritAgentLink *self, const char *why, gboolean reconnect)
{
  GBytes *frame;

  g_clear_handle_id (&self->hello_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->connection != NULL)
    g_debug ("Closing %s's agent channel: %s", self->vm_name, why);
  if (self->connection != NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  g_clear_object (&self->connection);
  while ((frame = g_queue_pop_head (&self->send_queue)) != NULL)
    g_bytes_unref (frame);
  self->send_queued = 0;
  self->writing = FALSE;
  spirit_agent_link_end_session (self, why);
  if (reconnect)
    spirit_agent_link_schedule_reconnect (self);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritAgentLink *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection
    = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);

  if (connection == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_debug ("Could not connect to %s's agent channel: %s", self->vm_name, error->message);
          g_clear_object (&self->cancellable);
          spirit_agent_link_schedule_reconnect (self);
        }
      g_object_unref (self);
      return;
    }
  g_debug ("Connected to %s's agent channel %s", self->vm_name, self->socket_path);
  self->connection = g_steal_pointer (&connection);
  self->last_received = g_get_monotonic_time ();
  spirit_agent_link_read_next (self);
  spirit_agent_link_start_hunting (self);
  g_object_unref (self);
}

static void
spirit_agent_link_connect (SpiritAgentLink *self)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = NULL;

  if (self->socket_path == NULL || self->cancellable != NULL)
    return;
  address = g_unix_socket_address_new (self->socket_path);
  self->cancellable = g_cancellable_new ();
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address), self->cancellable,
                                 on_connected, g_object_ref (self));
}

/* --- public --------------------------------------------------------------------------------- */

void
spirit_agent_link_set_socket (SpiritAgentLink *self, const char *path)
{
  if (g_strcmp0 (path, self->socket_path) == 0)
    return;
  spirit_agent_link_disconnect (self, path ? "the channel moved" : "the VM stopped", FALSE);
  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  g_free (self->socket_path);
  self->socket_path = g_strdup (path);
  self->socket_since = g_get_monotonic_time ();
  self->reconnect_delay_ms = RECONNECT_FIRST_MS;
  spirit_agent_link_connect (self);
}

const char *
spirit_agent_link_get_socket (SpiritAgentLink *self)
{
  return self->socket_path;
}

gboolean
spirit_agent_link_is_ready (SpiritAgentLink *self)
{
  return self->hello != NULL;
}

gint64
spirit_agent_link_get_channel_age (SpiritAgentLink *self)
{
  if (self->socket_path == NULL)
    return G_MAXINT64;
  return g_get_monotonic_time () - self->socket_since;
}

const SpiritMessage *
spirit_agent_link_get_hello (SpiritAgentLink *self)
{
  return self->hello;
}

void
spirit_agent_link_send_frame (SpiritAgentLink *self, GBytes *frame)
{
  if (self->hello != NULL)
    spirit_agent_link_queue (self, frame);
}

void
spirit_agent_link_send_message (SpiritAgentLink *self, const SpiritMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = spirit_message_encode (msg, &error);

  if (frame == NULL)
    {
      g_warning ("Could not encode a %s message: %s", spirit_message_type_to_string (msg->type),
                 error->message);
      return;
    }
  spirit_agent_link_send_frame (self, frame);
}

gboolean
spirit_agent_link_add_job (SpiritAgentLink *self, SpiritExecJob *job, guint32 *id, GError **error)
{
  guint max_jobs;

  if (self->hello == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_AGENT_UNAVAILABLE,
                   "spirit-agent does not answer in '%s'", self->vm_name);
      return FALSE;
    }
  max_jobs = MIN (SPIRIT_AGENT_LINK_MAX_JOBS, self->hello->limits.max_jobs);
  if (g_hash_table_size (self->jobs) >= max_jobs)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_BUSY,
                   "'%s' already runs %u commands, the most its agent takes at once", self->vm_name,
                   max_jobs);
      return FALSE;
    }
  do
    self->next_id = self->next_id == G_MAXUINT32 ? 1 : self->next_id + 1;
  while (g_hash_table_contains (self->jobs, GUINT_TO_POINTER (self->next_id)));
  *id = self->next_id;
  g_hash_table_insert (self->jobs, GUINT_TO_POINTER (*id), job);
  return TRUE;
}

void
spirit_agent_link_remove_job (SpiritAgentLink *self, guint32 id)
{
  g_hash_table_remove (self->jobs, GUINT_TO_POINTER (id));
}

guint
spirit_agent_link_count_jobs (SpiritAgentLink *self)
{
  return g_hash_table_size (self->jobs);
}

static void
spirit_agent_link_dispose (GObject *object)
{
  SpiritAgentLink *self = SPIRIT_AGENT_LINK (object);

  g_clear_handle_id (&self->reconnect_source, g_source_remove);
  if (self->jobs != NULL)
    spirit_agent_link_disconnect (self, "spiritd is exiting", FALSE);
  G_OBJECT_CLASS (spirit_agent_link_parent_class)->dispose (object);
}

static void
spirit_agent_link_finalize (GObject *object)
{
  SpiritAgentLink *self = SPIRIT_AGENT_LINK (object);

  g_clear_pointer (&self->jobs, g_hash_table_unref);
  g_clear_pointer (&self->decoder, spirit_decoder_free);
  g_free (self->read_buffer);
  g_free (self->nonce);
  g_free (self->socket_path);
  g_free (self->vm_name);
  G_OBJECT_CLASS (spirit_agent_link_parent_class)->finalize (object);
}

static void
spirit_agent_link_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_READY:
      g_value_set_boolean (value, spirit_agent_link_is_ready (SPIRIT_AGENT_LINK (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
spirit_agent_link_class_init (SpiritAgentLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = spirit_agent_link_dispose;
  object_class->finalize = spirit_agent_link_finalize;
  object_class->get_property = spirit_agent_link_get_property;
  props[PROP_READY]
    = g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
spirit_agent_link_init (SpiritAgentLink *self)
{
  g_queue_init (&self->send_queue);
  self->jobs = g_hash_table_new (NULL, NULL);
  self->read_buffer = g_malloc (READ_CHUNK);
  /* Default limits: 1 MiB frames, what the protocol says hosts must accept. */
  self->decoder = spirit_decoder_new (SPIRIT_TO_HOST, NULL);
  self->reconnect_delay_ms = RECONNECT_FIRST_MS;
}

SpiritAgentLink *
spirit_agent_link_new (const char *vm_name)
{
  SpiritAgentLink *self = g_object_new (SPIRIT_TYPE_AGENT_LINK, NULL);

  self->vm_name = g_strdup (vm_name);
  return self;
}
