/* spirit-docker-exec.c: exec start: the output stream taken apart, and stdin forwarded.
 *
 * POST /exec/{id}/start makes the engine take over the connection ("hijack"): after the
 * response headers it writes the multiplexed output, reads the process's stdin from the same
 * socket, and closes the connection when the process is gone. Docker's own client asks for
 * "Upgrade: tcp" and gets "101 UPGRADED"; without it, both Docker and podman answer
 * "200 OK" with the same stream and no length, which libsoup reads as a body that ends at EOF.
 *
 * Why not the 101 form: libsoup 3.2 has no public way to take a connection over after a 101
 * response (soup_session_steal_connection() went private in libsoup 3; only WebSockets use it),
 * and the raw socket from SoupMessage::network-event cannot be read after the headers either,
 * because libsoup may already hold the first output bytes in its read buffer. In the 200 form
 * libsoup keeps doing everything HTTP (request, headers, status, errors, the body as a stream),
 * and the only thing done beside it is writing stdin: the request is fully written before the
 * response arrives, so libsoup never writes to that socket again, and stdin goes to the
 * connection's output stream (taken from network-event on a message forced onto a new
 * connection). At the end of stdin the socket's write side is shut down, which is how the
 * process sees EOF.
 *
 * Output is read in 64 KiB chunks and each piece is written to its GOutputStream before the
 * next read, so memory stays bounded whatever the command prints, and a slow consumer slows the
 * container down instead of filling memory.
 */
#define G_LOG_DOMAIN "spirit-docker-exec"

#include "spirit-docker-client-private.h"

#include "spirit-docker-stream.h"
#include "spirit-error.h"

#define CHUNK_SIZE 65536
#define ERROR_BODY_MAX 65536

/* ---- stdin: the caller's stream to the socket ---- */

typedef struct
{
  gatomicrefcount ref_count;
  GInputStream *input;
  GOutputStream *output; /* the socket's */
  GSocket *socket;
  GCancellable *cancellable; /* cancelled when the exec's output has ended */
  guint8 *buffer;
} StdinPump;

static StdinPump *
stdin_pump_ref (StdinPump *pump)
{
  g_atomic_ref_count_inc (&pump->ref_count);
  return pump;
}

static void
stdin_pump_unref (StdinPump *pump)
{
  if (!g_atomic_ref_count_dec (&pump->ref_count))
    return;
  g_object_unref (pump->input);
  g_object_unref (pump->output);
  g_object_unref (pump->socket);
  g_object_unref (pump->cancellable);
  g_free (pump->buffer);
  g_free (pump);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StdinPump, stdin_pump_unref)

static void stdin_pump_read (StdinPump *pump);

static void
stdin_pump_close (StdinPump *pump)
{
  g_autoptr (GError) error = NULL;

  if (!g_socket_shutdown (pump->socket, FALSE, TRUE, &error))
    g_debug ("shutting down the exec's stdin: %s", error->message);
}

static void
on_stdin_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (StdinPump) pump = user_data;
  g_autoptr (GError) error = NULL;

  /* A process that exits without reading all of its input closes the connection: that is
   * the end of stdin, not an error of the command. */
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_debug ("forwarding stdin stopped: %s", error->message);
      return;
    }
  stdin_pump_read (pump);
}

static void
on_stdin_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (StdinPump) pump = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (n <= 0)
    {
      if (n < 0)
        g_debug ("reading the stdin for an exec: %s", error->message);
      stdin_pump_close (pump);
      return;
    }
  g_output_stream_write_all_async (pump->output, pump->buffer, (gsize)n, G_PRIORITY_DEFAULT,
                                   pump->cancellable, on_stdin_written, stdin_pump_ref (pump));
}

static void
stdin_pump_read (StdinPump *pump)
{
  g_input_stream_read_async (pump->input, pump->buffer, CHUNK_SIZE, G_PRIORITY_DEFAULT,
                             pump->cancellable, on_stdin_read, stdin_pump_ref (pump));
}

static StdinPump *
stdin_pump_start (GInputStream *input, GSocketConnection *connection)
{
  StdinPump *pump = g_new0 (StdinPump, 1);

  g_atomic_ref_count_init (&pump->ref_count);
  pump->input = g_object_ref (input);
  pump->output = g_object_ref (g_io_stream_get_output_stream (G_IO_STREAM (connection)));
  pump->socket = g_object_ref (g_socket_connection_get_socket (connection));
  pump->cancellable = g_cancellable_new ();
  pump->buffer = g_malloc (CHUNK_SIZE);
  stdin_pump_read (pump);
  return pump;
}

/* ---- the output: demultiplexed into two streams ---- */

typedef struct
{
  SoupMessage *msg;
  GSocketConnection *connection; /* from network-event */
  GInputStream *stdin_stream;
  GOutputStream *outputs[3]; /* by SpiritDockerStream; [STDIN] is stdout */
  GInputStream *body;
  guint8 *buffer;
  gsize buffer_len;
  gsize buffer_pos;
  SpiritDockerDemux demux;
  StdinPump *pump;
  GByteArray *error_body;
  guint flushing;
} ExecStart;

static void
exec_start_free (ExecStart *start)
{
  if (start->pump != NULL)
    {
      g_cancellable_cancel (start->pump->cancellable);
      stdin_pump_unref (start->pump);
    }
  if (start->body != NULL)
    g_input_stream_close (start->body, NULL, NULL); /* drops the connection if not at EOF */
  g_clear_object (&start->body);
  g_clear_object (&start->msg);
  g_clear_object (&start->connection);
  g_clear_object (&start->stdin_stream);
  for (guint i = 0; i < G_N_ELEMENTS (start->outputs); i++)
    g_clear_object (&start->outputs[i]);
  g_clear_pointer (&start->error_body, g_byte_array_unref);
  g_free (start->buffer);
  g_free (start);
}

static void exec_start_process (GTask *task);

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ExecStart *start = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_flush_finish (G_OUTPUT_STREAM (source), result, &error))
    g_debug ("flushing an exec's output: %s", error->message);
  if (--start->flushing == 0)
    g_task_return_boolean (task, TRUE);
}

/* The engine closed the stream: the process has ended. */
static void
exec_start_done (GTask *task)
{
  ExecStart *start = g_task_get_task_data (task);
  GOutputStream *out = start->outputs[SPIRIT_DOCKER_STREAM_STDOUT];
  GOutputStream *err = start->outputs[SPIRIT_DOCKER_STREAM_STDERR];
  GOutputStream *outputs[] = { out, err != out ? err : NULL };
  g_autoptr (GError) error = NULL;

  if (!spirit_docker_demux_finish (&start->demux, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  start->flushing = 1;
  for (guint i = 0; i < G_N_ELEMENTS (outputs); i++)
    if (outputs[i] != NULL)
      {
        start->flushing++;
        g_output_stream_flush_async (outputs[i], G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                     on_flushed, g_object_ref (task));
      }
  if (--start->flushing == 0)
    g_task_return_boolean (task, TRUE);
}

static void
on_piece_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_prefix_error (&error, "writing the output of an exec: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  exec_start_process (g_steal_pointer (&task));
}

static void
on_chunk_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ExecStart *start = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  /* A process that exits with some of its stdin unread: the engine closes a socket holding
   * unread data, and the kernel reports that as a reset after the last output bytes. Whether
   * the output was complete is still checked (the demuxer must be between frames) and the exit
   * code still comes from the engine. */
  if (n < 0 && start->pump != NULL
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    {
      g_debug ("the exec's connection was reset after its output: %s", error->message);
      n = 0;
    }
  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_prefix_error (&error, "reading the output of an exec: ");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (n == 0)
    {
      exec_start_done (task);
      return;
    }
  start->buffer_pos = 0;
  start->buffer_len = (gsize)n;
  exec_start_process (g_steal_pointer (&task));
}

/* Takes the task: hands out what is left in the buffer one piece at a time, each written
 * before the next, and reads the next chunk when the buffer is empty. */
static void
exec_start_process (GTask *task)
{
  ExecStart *start = g_task_get_task_data (task);

  while (start->buffer_pos < start->buffer_len)
    {
      SpiritDockerStream stream = SPIRIT_DOCKER_STREAM_STDOUT;
      const guint8 *piece = NULL;
      gsize piece_len = 0;
      g_autoptr (GError) error = NULL;
      gsize used = spirit_docker_demux_feed (&start->demux, start->buffer + start->buffer_pos,
                                             start->buffer_len - start->buffer_pos, &stream, &piece,
                                             &piece_len, &error);

      if (used == 0)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          g_object_unref (task);
          return;
        }
      start->buffer_pos += used;
      if (piece_len > 0 && start->outputs[stream] != NULL)
        {
          g_output_stream_write_all_async (start->outputs[stream], piece, piece_len,
                                           G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                           on_piece_written, task);
          return;
        }
    }
  g_input_stream_read_async (start->body, start->buffer, CHUNK_SIZE, G_PRIORITY_DEFAULT,
                             g_task_get_cancellable (task), on_chunk_read, task);
}

/* ---- a refusal: the engine's JSON error instead of the stream ---- */

static void
on_error_body_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ExecStart *start = g_task_get_task_data (task);
  SpiritDockerClient *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes
    = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  g_autoptr (GBytes) body = NULL;

  if (bytes != NULL && g_bytes_get_size (bytes) > 0 && start->error_body->len < ERROR_BODY_MAX)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      g_byte_array_append (start->error_body, g_bytes_get_data (bytes, NULL),
                           (guint)g_bytes_get_size (bytes));
      g_input_stream_read_bytes_async (start->body, 4096, G_PRIORITY_DEFAULT, cancellable,
                                       on_error_body_read, g_steal_pointer (&task));
      return;
    }
  body = g_bytes_new (start->error_body->data, start->error_body->len);
  g_task_return_error (task,
                       spirit_docker_client_api_error (self, start->msg, body, "starting an exec"));
}

/* ---- the request ---- */

static void
on_network_event (SoupMessage *msg,
                  GSocketClientEvent event,
                  GIOStream *connection,
                  gpointer user_data)
{
  ExecStart *start = user_data;

  if (event == G_SOCKET_CLIENT_COMPLETE && G_IS_SOCKET_CONNECTION (connection))
    g_set_object (&start->connection, G_SOCKET_CONNECTION (connection));
}

static void
on_start_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ExecStart *start = g_task_get_task_data (task);
  SpiritDockerClient *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  guint status;

  start->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  g_signal_handlers_disconnect_by_func (start->msg, on_network_event, start);
  if (start->body == NULL)
    {
      g_task_return_error (task, spirit_docker_client_transport_error (self, error));
      return;
    }
  status = soup_message_get_status (start->msg);
  if (status != SOUP_STATUS_OK)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      start->error_body = g_byte_array_new ();
      g_input_stream_read_bytes_async (start->body, 4096, G_PRIORITY_DEFAULT, cancellable,
                                       on_error_body_read, g_steal_pointer (&task));
      return;
    }
  if (start->stdin_stream != NULL)
    {
      if (start->connection == NULL)
        {
          g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                                   "starting an exec: no connection to forward stdin on");
          return;
        }
      start->pump = stdin_pump_start (start->stdin_stream, start->connection);
    }
  start->buffer = g_malloc (CHUNK_SIZE);
  exec_start_process (g_steal_pointer (&task));
}

void
spirit_docker_client_exec_start_async (SpiritDockerClient *self,
                                       const char *exec_id,
                                       GInputStream *stdin_stream,
                                       GOutputStream *stdout_stream,
                                       GOutputStream *stderr_stream,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  ExecStart *start = g_new0 (ExecStart, 1);
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autofree char *escaped = g_uri_escape_string (exec_id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/exec/%s/start", escaped);

  g_return_if_fail (SPIRIT_IS_DOCKER_CLIENT (self));
  g_task_set_source_tag (task, spirit_docker_client_exec_start_async);
  g_task_set_task_data (task, start, (GDestroyNotify)exec_start_free);
  spirit_docker_demux_init (&start->demux);
  g_set_object (&start->stdin_stream, stdin_stream);
  g_set_object (&start->outputs[SPIRIT_DOCKER_STREAM_STDIN], stdout_stream);
  g_set_object (&start->outputs[SPIRIT_DOCKER_STREAM_STDOUT], stdout_stream);
  g_set_object (&start->outputs[SPIRIT_DOCKER_STREAM_STDERR], stderr_stream);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "Detach");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_set_member_name (builder, "Tty");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  start->msg = spirit_docker_client_new_message (self, "POST", path, body);
  /* A connection of its own, so that network-event reports it and no other request shares it:
   * the engine keeps it for this exec. */
  soup_message_add_flags (start->msg, SOUP_MESSAGE_NEW_CONNECTION);
  g_signal_connect (start->msg, "network-event", G_CALLBACK (on_network_event), start);
  soup_session_send_async (spirit_docker_client_get_stream_session (self), start->msg,
                           G_PRIORITY_DEFAULT, cancellable, on_start_sent, task);
}

gboolean
spirit_docker_client_exec_start_finish (SpiritDockerClient *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
