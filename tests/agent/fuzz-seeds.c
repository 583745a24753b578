/* fuzz-seeds.c: writes a seed corpus for fuzz-decoder: one file per valid message of each type,
 * in the fuzzer's input format (a mode byte, then frames). Usage: fuzz-seeds DIR */
#define G_LOG_DOMAIN "fuzz-seeds"

#include "spirit-message.h"

#include <glib/gstdio.h>
#include <string.h>

static void
write_seed (const char *dir, int n, guint8 mode, SpiritMessage *msg)
{
  g_autoptr (SpiritMessage) owned = msg;
  g_autoptr (GBytes) frame = spirit_message_encode (owned, NULL);
  g_autoptr (GByteArray) seed = g_byte_array_new ();
  g_autofree gchar *path = g_strdup_printf ("%s/seed-%02d", dir, n);
  g_autoptr (GError) error = NULL;

  g_assert (frame != NULL);
  g_byte_array_append (seed, &mode, 1);
  g_byte_array_append (seed, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  if (!g_file_set_contents (path, (const char *)seed->data, seed->len, &error))
    g_error ("%s", error->message);
}

static SpiritMessage *
data_msg (SpiritFrameType stream, guint32 id, gboolean eof, const char *text)
{
  g_autoptr (GBytes) b = g_bytes_new_static (text, strlen (text));

  return spirit_message_new_data (stream, id, eof, b);
}

int
main (int argc, char **argv)
{
  static const char *argv_ls[] = { "ls", "-l", "/tmp", NULL };
  static const char *env[] = { "A=1", "B=", NULL };
  static const char *caps[] = { "exec", "stdin", NULL };
  const char *dir = argc > 1 ? argv[1] : ".";
  SpiritMessage *m;
  int n = 0;

  g_mkdir_with_parents (dir, 0755);
  /* towards the agent (mode bit 0 clear) */
  m = spirit_message_new (SPIRIT_MSG_HELLO, 0);
  m->protocol = 1;
  m->session = g_strdup ("abc");
  m->software = g_strdup ("spiritd");
  write_seed (dir, n++, 0x02, m);
  m = spirit_message_new (SPIRIT_MSG_EXEC, 1);
  m->argv = g_strdupv ((gchar **)argv_ls);
  m->env = g_strdupv ((gchar **)env);
  m->cwd = g_strdup ("/");
  m->stdin_pipe = TRUE;
  m->timeout_ms = 100;
  m->window = 4096;
  write_seed (dir, n++, 0x10, m);
  m = spirit_message_new (SPIRIT_MSG_EXEC, 2);
  m->shell = g_strdup ("echo hi");
  m->clear_env = TRUE;
  write_seed (dir, n++, 0x00, m);
  m = spirit_message_new (SPIRIT_MSG_KILL, 2);
  m->signal_name = g_strdup ("TERM");
  write_seed (dir, n++, 0x00, m);
  m = spirit_message_new (SPIRIT_MSG_CREDIT, 2);
  m->bytes = 100;
  write_seed (dir, n++, 0x00, m);
  write_seed (dir, n++, 0x00, spirit_message_new (SPIRIT_MSG_PING, 9));
  write_seed (dir, n++, 0x04, data_msg (SPIRIT_FRAME_STDIN, 2, TRUE, "data"));
  /* towards the host (mode bit 0 set) */
  m = spirit_message_new (SPIRIT_MSG_HELLO, 0);
  m->protocol = 1;
  m->session = g_strdup ("fuzz");
  m->software = g_strdup ("spirit-agent");
  m->os = g_strdup ("linux");
  m->capabilities = g_strdupv ((gchar **)caps);
  spirit_limits_init_default (&m->limits);
  write_seed (dir, n++, 0x83, m);
  write_seed (dir, n++, 0x01, spirit_message_new (SPIRIT_MSG_PONG, 9));
  m = spirit_message_new (SPIRIT_MSG_STARTED, 3);
  m->pid = 77;
  write_seed (dir, n++, 0x01, m);
  m = spirit_message_new (SPIRIT_MSG_EXIT, 3);
  m->exit_code = 7;
  write_seed (dir, n++, 0x01, m);
  m = spirit_message_new (SPIRIT_MSG_EXIT, 3);
  m->signal_name = g_strdup ("KILL");
  m->signal_number = 9;
  m->timed_out = TRUE;
  write_seed (dir, n++, 0x01, m);
  write_seed (dir, n++, 0x01,
              spirit_message_new_error (3, SPIRIT_PROTOCOL_ERROR_SPAWN_FAILED, "nope"));
  write_seed (dir, n++, 0x09, data_msg (SPIRIT_FRAME_STDOUT, 3, FALSE, "out"));
  m = spirit_message_new (SPIRIT_MSG_CREDIT, 3);
  m->bytes = 5;
  write_seed (dir, n++, 0x01, m);
  return 0;
}
