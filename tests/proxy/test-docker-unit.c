/* test-docker-unit.c: the Docker client's parts that need no engine: the multiplexed-stream
 * demuxer (fed in every possible cut), DOCKER_HOST, and the error for a socket with no engine. */
#define G_LOG_DOMAIN "test-docker-unit"

#include "spirit-docker-client.h"
#include "spirit-docker-host.h"
#include "spirit-docker-stream.h"
#include "spirit-error.h"

#include <glib/gstdio.h>

static void
append_frame (GByteArray *out, guint8 stream, const char *payload, gsize len)
{
  guint8 header[8] = {
    stream, 0, 0, 0, (guint8)(len >> 24), (guint8)(len >> 16), (guint8)(len >> 8), (guint8)len
  };

  g_byte_array_append (out, header, sizeof header);
  g_byte_array_append (out, (const guint8 *)payload, (guint)len);
}

/* Feeds data in pieces of at most chunk bytes; returns FALSE on a demux error. */
static gboolean
demux_all (const GByteArray *data, gsize chunk, GString *out, GString *err, GError **error)
{
  SpiritDockerDemux demux;

  spirit_docker_demux_init (&demux);
  for (gsize start = 0; start < data->len; start += chunk)
    {
      gsize len = MIN (chunk, data->len - start);
      gsize pos = 0;

      while (pos < len)
        {
          SpiritDockerStream stream = SPIRIT_DOCKER_STREAM_STDOUT;
          const guint8 *piece = NULL;
          gsize piece_len = 0;
          gsize used = spirit_docker_demux_feed (&demux, data->data + start + pos, len - pos,
                                                 &stream, &piece, &piece_len, error);
          if (used == 0)
            return FALSE;
          g_assert_cmpuint (used, <=, len - pos);
          pos += used;
          if (piece_len > 0)
            g_string_append_len (stream == SPIRIT_DOCKER_STREAM_STDERR ? err : out,
                                 (const char *)piece, (gssize)piece_len);
        }
    }
  return spirit_docker_demux_finish (&demux, error);
}

static void
test_demux_every_cut (void)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autofree char *big = g_strnfill (70000, 'x');

  append_frame (data, 1, "hello ", 6);
  append_frame (data, 2, "oops\n", 5);
  append_frame (data, 1, "", 0);
  append_frame (data, 0, "echo", 4);
  append_frame (data, 1, big, 70000);
  append_frame (data, 2, "\0\1\2", 3);

  for (gsize chunk = 1; chunk <= 40; chunk++)
    {
      g_autoptr (GString) out = g_string_new (NULL);
      g_autoptr (GString) err = g_string_new (NULL);
      g_autoptr (GError) error = NULL;

      g_assert_true (demux_all (data, chunk, out, err, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (out->len, ==, 6 + 4 + 70000);
      g_assert_true (g_str_has_prefix (out->str, "hello echo"));
      g_assert_cmpuint (err->len, ==, 8);
      g_assert_cmpmem (err->str, err->len, "oops\n\0\1\2", 8);
    }
}

static void
test_demux_refuses_raw_stream (void)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GString) err = g_string_new (NULL);
  g_autoptr (GError) error = NULL;

  /* what a TTY exec would send: plain text */
  g_byte_array_append (data, (const guint8 *)"Linux box 6.1", 13);
  g_assert_false (demux_all (data, 64, out, err, &error));
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not multiplexed"));
}

static void
test_demux_truncated (void)
{
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (GString) err = g_string_new (NULL);
  g_autoptr (GError) error = NULL;

  append_frame (data, 1, "complete", 8);
  append_frame (data, 1, "cut short", 9);
  g_byte_array_set_size (data, data->len - 3);
  g_assert_false (demux_all (data, 5, out, err, &error));
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "3 payload bytes missing"));
  g_assert_cmpstr (out->str, ==, "completecut sh");
}

static void
test_docker_host (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = spirit_docker_host_socket_path ("unix:///run/podman/podman.sock", &error);
  g_autofree char *tcp = NULL;
  g_autofree char *relative = NULL;
  g_autofree char *from_env = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, "/run/podman/podman.sock");

  tcp = spirit_docker_host_socket_path ("tcp://10.0.0.1:2375", &error);
  g_assert_null (tcp);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "DOCKER_HOST=tcp://10.0.0.1:2375 is not supported"));
  g_clear_error (&error);

  relative = spirit_docker_host_socket_path ("unix://docker.sock", &error);
  g_assert_null (relative);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_setenv ("DOCKER_HOST", "unix:///from/env.sock", TRUE);
  from_env = spirit_docker_host_socket_path (NULL, &error);
  g_assert_cmpstr (from_env, ==, "/from/env.sock");
  g_unsetenv ("DOCKER_HOST");
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

static void
test_no_engine (void)
{
  g_autofree char *dir = g_dir_make_tmp ("spirit-docker-XXXXXX", NULL);
  g_autofree char *host = g_strdup_printf ("unix://%s/nothing.sock", dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritDockerClient) client = spirit_docker_client_new (host, &error);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GPtrArray) containers = NULL;

  g_assert_no_error (error);
  spirit_docker_client_list_containers_async (client, TRUE, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  containers = spirit_docker_client_list_containers_finish (client, result, &error);
  g_assert_null (containers);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "cannot reach the Docker engine at unix://"));
  g_assert_nonnull (strstr (error->message, "nothing.sock"));
  g_rmdir (dir);
}

static void
test_tcp_refused (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritDockerClient) client = spirit_docker_client_new ("tcp://127.0.0.1:2375", &error);

  g_assert_null (client);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/docker/demux/every-cut", test_demux_every_cut);
  g_test_add_func ("/docker/demux/refuses-raw-stream", test_demux_refuses_raw_stream);
  g_test_add_func ("/docker/demux/truncated", test_demux_truncated);
  g_test_add_func ("/docker/host", test_docker_host);
  g_test_add_func ("/docker/no-engine", test_no_engine);
  g_test_add_func ("/docker/tcp-refused", test_tcp_refused);
  return g_test_run ();
}
