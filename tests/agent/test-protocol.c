/* test-protocol.c: unit tests of libspirit_protocol, the spirit.0 codec.
 *
 * Table-driven: one table of messages that must survive encode → decode in any chunking, one of
 * headers that must be fatal, one of payloads that must be rejected with a given code and id, and
 * the resynchronisation cases (garbage, stale partial frames, hellos of another session).
 */
#define G_LOG_DOMAIN "test-protocol"

#include "spirit-decoder.h"

#include <string.h>

/* Decodes all of `bytes` fed in chunks of `chunk` bytes; returns the messages. A fatal error is
 * stored in *error (the first one) and decoding goes on after it, like a real receiver would. */
static GPtrArray *
decode_all (SpiritDecoder *d, GBytes *bytes, gsize chunk, GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_message_free);
  gsize size;
  const guint8 *all = g_bytes_get_data (bytes, &size);

  for (gsize off = 0; off < size; off += chunk)
    {
      const guint8 *p = all + off;
      gsize n = MIN (chunk, size - off);
      SpiritMessage *msg;

      for (;;)
        {
          g_autoptr (GError) local = NULL;

          msg = spirit_decoder_next (d, &p, &n, &local);
          if (msg != NULL)
            {
              g_ptr_array_add (out, msg);
              continue;
            }
          if (local != NULL)
            {
              if (error != NULL && *error == NULL)
                g_propagate_error (error, g_steal_pointer (&local));
              continue;
            }
          g_assert_cmpuint (n, ==, 0);
          break;
        }
    }
  return out;
}

static GBytes *
json_frame (const char *json)
{
  return spirit_frame_encode_json (json, strlen (json));
}

static GBytes *
concat (GBytes *a, GBytes *b)
{
  g_autoptr (GByteArray) arr = g_byte_array_new ();

  g_byte_array_append (arr, g_bytes_get_data (a, NULL), g_bytes_get_size (a));
  g_byte_array_append (arr, g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  return g_byte_array_free_to_bytes (g_steal_pointer (&arr));
}

static GBytes *
raw (const void *data, gsize len)
{
  return g_bytes_new (data, len);
}

/* ---- round trips ---------------------------------------------------------------------------- */

static SpiritMessage *
make_message (int which, SpiritDirection *dir)
{
  SpiritMessage *m;
  static const char *argv[] = { "/bin/sh", "-c", "echo \"$1\" ünïcödé", "x", NULL };
  static const char *env[] = { "A=1", "EMPTY=", "WITH_EQ=a=b", NULL };
  static const char *caps[] = { "exec", "stdin", "kill", NULL };
  static const guint8 bin[] = { 0, 1, 2, 0xff, 'S', 'P', 0x01, 0 };

  *dir = SPIRIT_TO_AGENT;
  switch (which)
    {
    case 0:
      m = spirit_message_new (SPIRIT_MSG_HELLO, 0);
      m->protocol = SPIRIT_PROTOCOL_VERSION;
      m->session = g_strdup ("0123456789abcdef");
      m->software = g_strdup ("spiritd 0.1.0");
      return m;
    case 1:
      m = spirit_message_new (SPIRIT_MSG_HELLO, 0);
      m->protocol = SPIRIT_PROTOCOL_VERSION;
      m->session = g_strdup ("s");
      m->software = g_strdup ("spirit-agent 0.1.0");
      m->os = g_strdup ("linux");
      m->kernel = g_strdup ("6.1.0-26-amd64");
      m->hostname = g_strdup ("guest");
      m->capabilities = g_strdupv ((gchar **)caps);
      spirit_limits_init_default (&m->limits);
      *dir = SPIRIT_TO_HOST;
      return m;
    case 2:
      m = spirit_message_new (SPIRIT_MSG_EXEC, 7);
      m->argv = g_strdupv ((gchar **)argv);
      m->cwd = g_strdup ("/tmp");
      m->env = g_strdupv ((gchar **)env);
      m->clear_env = TRUE;
      m->stdin_pipe = TRUE;
      m->timeout_ms = 1500;
      m->window = 65536;
      return m;
    case 3:
      m = spirit_message_new (SPIRIT_MSG_EXEC, G_MAXUINT32);
      m->shell = g_strdup ("uname -r | tr a-z A-Z");
      return m;
    case 4:
      m = spirit_message_new (SPIRIT_MSG_KILL, 3);
      m->signal_name = g_strdup ("TERM");
      return m;
    case 5:
      m = spirit_message_new (SPIRIT_MSG_CREDIT, 3);
      m->bytes = 1 << 20;
      return m;
    case 6:
      return spirit_message_new (SPIRIT_MSG_PING, 0);
    case 7:
      *dir = SPIRIT_TO_HOST;
      return spirit_message_new (SPIRIT_MSG_PONG, 99);
    case 8:
      *dir = SPIRIT_TO_HOST;
      m = spirit_message_new (SPIRIT_MSG_STARTED, 5);
      m->pid = 4242;
      return m;
    case 9:
      *dir = SPIRIT_TO_HOST;
      m = spirit_message_new (SPIRIT_MSG_EXIT, 5);
      m->exit_code = 7;
      return m;
    case 10:
      *dir = SPIRIT_TO_HOST;
      m = spirit_message_new (SPIRIT_MSG_EXIT, 5);
      m->signal_name = g_strdup ("KILL");
      m->signal_number = 9;
      m->core_dumped = FALSE;
      m->timed_out = TRUE;
      return m;
    case 11:
      *dir = SPIRIT_TO_HOST;
      return spirit_message_new_error (12, SPIRIT_PROTOCOL_ERROR_SPAWN_FAILED, "no such file");
    case 12:
      *dir = SPIRIT_TO_HOST;
      return spirit_message_new_error (0, SPIRIT_PROTOCOL_ERROR_BAD_FRAME, "");
    case 13:
      {
        g_autoptr (GBytes) b = g_bytes_new_static (bin, sizeof bin);
        return spirit_message_new_data (SPIRIT_FRAME_STDIN, 1, FALSE, b);
      }
    case 14:
      *dir = SPIRIT_TO_HOST;
      return spirit_message_new_data (SPIRIT_FRAME_STDOUT, 2, TRUE, NULL);
    case 15:
      {
        g_autofree guint8 *big = g_malloc (SPIRIT_FRAME_MAX_PAYLOAD_DEFAULT);
        g_autoptr (GBytes) b = NULL;

        for (gsize i = 0; i < SPIRIT_FRAME_MAX_PAYLOAD_DEFAULT; i++)
          big[i] = i * 31 + (i >> 9);
        b = g_bytes_new (big, SPIRIT_FRAME_MAX_PAYLOAD_DEFAULT);
        *dir = SPIRIT_TO_HOST;
        return spirit_message_new_data (SPIRIT_FRAME_STDERR, 3, FALSE, b);
      }
    case 16:
      *dir = SPIRIT_TO_HOST;
      m = spirit_message_new (SPIRIT_MSG_CREDIT, 8);
      m->bytes = 1;
      return m;
    default:
      return NULL;
    }
}

static void
test_round_trip (void)
{
  static const gsize chunks[] = { 1, 2, 5, 12, 13, 4096, G_MAXSIZE };

  for (int which = 0;; which++)
    {
      SpiritDirection dir;
      g_autoptr (SpiritMessage) m = make_message (which, &dir);
      g_autoptr (GBytes) frame = NULL;
      g_autoptr (GBytes) two = NULL;
      g_autoptr (GError) error = NULL;

      if (m == NULL)
        break;
      frame = spirit_message_encode (m, &error);
      g_assert_no_error (error);
      two = concat (frame, frame);
      for (gsize c = 0; c < G_N_ELEMENTS (chunks); c++)
        {
          g_autoptr (SpiritDecoder) d = spirit_decoder_new (dir, NULL);
          g_autoptr (GPtrArray) msgs = NULL;

          if (chunks[c] == 1 && g_bytes_get_size (frame) > 100000)
            continue; /* byte by byte through 1 MiB is slow under ASan and proves nothing new */
          msgs = decode_all (d, two, chunks[c], &error);
          g_assert_no_error (error);
          g_assert_cmpuint (msgs->len, ==, 2);
          for (guint i = 0; i < 2; i++)
            {
              SpiritMessage *got = msgs->pdata[i];
              if (got->type == SPIRIT_MSG_INVALID)
                g_error ("message %d decoded as invalid: %s", which, got->error->message);
              if (!spirit_message_equal (m, got))
                g_error ("message %d (%s) changed in a round trip", which,
                         spirit_message_type_to_string (m->type));
            }
        }
    }
}

static void
test_hello_prefix (void)
{
  SpiritDirection dir;
  g_autoptr (SpiritMessage) m = make_message (1, &dir);
  g_autoptr (GBytes) frame = spirit_message_encode (m, NULL);
  const char *p = (const char *)g_bytes_get_data (frame, NULL) + SPIRIT_FRAME_HEADER_SIZE;

  g_assert_nonnull (frame);
  g_assert_cmpmem (p, strlen (SPIRIT_HELLO_PREFIX), SPIRIT_HELLO_PREFIX,
                   strlen (SPIRIT_HELLO_PREFIX));
  g_assert_cmpuint (g_bytes_get_size (frame), <=,
                    SPIRIT_FRAME_HEADER_SIZE + SPIRIT_HELLO_MAX_PAYLOAD);
}

/* ---- fatal header errors -------------------------------------------------------------------- */

typedef struct
{
  const char *name;
  guint8 header[SPIRIT_FRAME_HEADER_SIZE];
  SpiritDirection dir;
  SpiritProtocolError code;
} BadHeader;

static const BadHeader bad_headers[] = {
  { "bad magic",
    { 'X', 'P', 1, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "bad magic 2",
    { 'S', 'Q', 1, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
    SPIRIT_TO_HOST,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "unknown type",
    { 'S', 'P', 7, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "json with flags",
    { 'S', 'P', 1, 1, 0, 0, 0, 0, 0, 0, 0, 2 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "json with id",
    { 'S', 'P', 1, 0, 0, 0, 0, 1, 0, 0, 0, 2 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "json empty",
    { 'S', 'P', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
    SPIRIT_TO_HOST,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "data id 0",
    { 'S', 'P', 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "data reserved flag",
    { 'S', 'P', 0x11, 2, 0, 0, 0, 1, 0, 0, 0, 2 },
    SPIRIT_TO_HOST,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "data empty without eof",
    { 'S', 'P', 0x11, 0, 0, 0, 0, 1, 0, 0, 0, 0 },
    SPIRIT_TO_HOST,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "stdin towards host",
    { 'S', 'P', 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 2 },
    SPIRIT_TO_HOST,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "stdout towards agent",
    { 'S', 'P', 0x11, 0, 0, 0, 0, 1, 0, 0, 0, 2 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "stderr towards agent",
    { 'S', 'P', 0x12, 0, 0, 0, 0, 1, 0, 0, 0, 2 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_BAD_FRAME },
  { "json too large",
    { 'S', 'P', 1, 0, 0, 0, 0, 0, 0, 0x10, 0, 1 },
    SPIRIT_TO_AGENT,
    SPIRIT_PROTOCOL_ERROR_FRAME_TOO_LARGE },
  { "data 4 GiB",
    { 'S', 'P', 0x11, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff },
    SPIRIT_TO_HOST,
    SPIRIT_PROTOCOL_ERROR_FRAME_TOO_LARGE },
};

static void
test_bad_headers (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_headers); i++)
    {
      const BadHeader *t = &bad_headers[i];
      g_autoptr (SpiritDecoder) d = spirit_decoder_new (t->dir, NULL);
      g_autoptr (GBytes) bytes = raw (t->header, sizeof t->header);
      g_autoptr (GPtrArray) msgs = NULL;
      g_autoptr (GError) error = NULL;

      g_test_message ("bad header: %s", t->name);
      msgs = decode_all (d, bytes, SPIRIT_FRAME_HEADER_SIZE, &error);
      g_assert_error (error, SPIRIT_PROTOCOL_ERROR, (gint)t->code);
      g_assert_true (spirit_protocol_error_is_fatal (t->code));
      g_assert_cmpuint (msgs->len, ==, 0);
      g_assert_true (spirit_decoder_is_hunting (d));
    }
}

static void
test_limit_boundary (void)
{
  SpiritLimits limits;
  g_autofree guint8 *buf = g_malloc0 (8193);
  g_autoptr (GBytes) ok = NULL;
  g_autoptr (GBytes) over = NULL;
  g_autoptr (SpiritDecoder) d = NULL;
  g_autoptr (GPtrArray) msgs = NULL;
  g_autoptr (GError) error = NULL;

  spirit_limits_init_default (&limits);
  limits.max_frame = 8192;
  d = spirit_decoder_new (SPIRIT_TO_HOST, &limits);
  ok = spirit_frame_encode_data (SPIRIT_FRAME_STDOUT, 1, FALSE, buf, 8192);
  msgs = decode_all (d, ok, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msgs->len, ==, 1);
  g_clear_pointer (&msgs, g_ptr_array_unref);

  over = spirit_frame_encode_data (SPIRIT_FRAME_STDOUT, 1, FALSE, buf, 8193);
  msgs = decode_all (d, over, 1000, &error);
  g_assert_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_FRAME_TOO_LARGE);
  g_assert_cmpuint (msgs->len, ==, 0);
}

/* ---- rejected messages (non-fatal) ---------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *json;
  SpiritDirection dir;
  SpiritProtocolError code;
  guint32 id;
} BadMessage;

#define A SPIRIT_TO_AGENT
#define H SPIRIT_TO_HOST
#define MALFORMED SPIRIT_PROTOCOL_ERROR_MALFORMED
#define INVALID SPIRIT_PROTOCOL_ERROR_INVALID
#define LIMIT SPIRIT_PROTOCOL_ERROR_LIMIT
#define UNKNOWN SPIRIT_PROTOCOL_ERROR_UNKNOWN_TYPE

static const BadMessage bad_messages[] = {
  { "not JSON", "hello", A, MALFORMED, 0 },
  { "truncated JSON", "{\"type\":\"ping\",\"id\":1", A, MALFORMED, 0 },
  { "not an object", "[1,2,3]", A, MALFORMED, 0 },
  { "string root", "\"exec\"", A, MALFORMED, 0 },
  { "invalid UTF-8", "{\"type\":\"exec\",\"id\":1,\"shell\":\"\xc3\x28\"}", A, MALFORMED, 0 },
  { "NUL escape", "{\"type\":\"exec\",\"id\":2,\"argv\":[\"a\\u0000b\"]}", A, MALFORMED, 0 },
  { "too deep", "{\"type\":\"exec\",\"id\":1,\"x\":[[[[[[[[[1]]]]]]]]]}", A, MALFORMED, 0 },
  /* found by the fuzzer: json-glib turns a lone surrogate escape into bytes that are not UTF-8 */
  { "lone surrogate in argv", "{\"type\":\"exec\",\"id\":6,\"argv\":[\"a\\ud800b\"]}", A, INVALID, 6 },
  /* a lone low surrogate json-glib itself refuses */
  { "lone low surrogate in shell", "{\"type\":\"exec\",\"id\":6,\"shell\":\"\\udfff\"}", A, MALFORMED, 0 },
  { "lone surrogate in env", "{\"type\":\"exec\",\"id\":6,\"shell\":\"x\",\"env\":{\"A\":\"\\ud800x\"}}", A,
    INVALID, 6 },
  { "lone surrogate in session", "{\"type\":\"hello\",\"protocol\":1,\"session\":\"\\ud800x\"}", A,
    INVALID, 0 },
  { "no type", "{\"id\":3}", A, INVALID, 3 },
  { "type not a string", "{\"type\":5,\"id\":3}", A, INVALID, 3 },
  { "unknown type", "{\"type\":\"reboot\",\"id\":4}", A, UNKNOWN, 4 },
  { "pong towards agent", "{\"type\":\"pong\",\"id\":4}", A, UNKNOWN, 4 },
  { "exec towards host", "{\"type\":\"exec\",\"id\":4,\"shell\":\"x\"}", H, UNKNOWN, 4 },
  { "ping without id", "{\"type\":\"ping\"}", A, INVALID, 0 },
  { "exec without id", "{\"type\":\"exec\",\"shell\":\"true\"}", A, INVALID, 0 },
  { "exec id 0", "{\"type\":\"exec\",\"id\":0,\"shell\":\"true\"}", A, INVALID, 0 },
  { "id negative", "{\"type\":\"exec\",\"id\":-1,\"shell\":\"true\"}", A, INVALID, 0 },
  { "id too big", "{\"type\":\"exec\",\"id\":4294967296,\"shell\":\"true\"}", A, INVALID, 0 },
  { "id float", "{\"type\":\"exec\",\"id\":1.5,\"shell\":\"true\"}", A, INVALID, 0 },
  { "id string", "{\"type\":\"exec\",\"id\":\"1\",\"shell\":\"true\"}", A, INVALID, 0 },
  { "argv and shell", "{\"type\":\"exec\",\"id\":5,\"argv\":[\"true\"],\"shell\":\"true\"}", A,
    INVALID, 5 },
  { "neither argv nor shell", "{\"type\":\"exec\",\"id\":5}", A, INVALID, 5 },
  { "argv empty", "{\"type\":\"exec\",\"id\":5,\"argv\":[]}", A, INVALID, 5 },
  { "argv[0] empty", "{\"type\":\"exec\",\"id\":5,\"argv\":[\"\",\"x\"]}", A, INVALID, 5 },
  { "argv not strings", "{\"type\":\"exec\",\"id\":5,\"argv\":[\"ls\",1]}", A, INVALID, 5 },
  { "argv not array", "{\"type\":\"exec\",\"id\":5,\"argv\":\"ls\"}", A, INVALID, 5 },
  { "shell empty", "{\"type\":\"exec\",\"id\":5,\"shell\":\"\"}", A, INVALID, 5 },
  { "cwd empty", "{\"type\":\"exec\",\"id\":6,\"shell\":\"pwd\",\"cwd\":\"\"}", A, INVALID, 6 },
  { "cwd not string", "{\"type\":\"exec\",\"id\":6,\"shell\":\"pwd\",\"cwd\":null}", A, INVALID,
    6 },
  { "env not object", "{\"type\":\"exec\",\"id\":6,\"shell\":\"env\",\"env\":[\"A=1\"]}", A,
    INVALID, 6 },
  { "env key with =", "{\"type\":\"exec\",\"id\":6,\"shell\":\"env\",\"env\":{\"A=B\":\"1\"}}", A,
    INVALID, 6 },
  { "env key empty", "{\"type\":\"exec\",\"id\":6,\"shell\":\"env\",\"env\":{\"\":\"1\"}}", A,
    INVALID, 6 },
  { "env value not string", "{\"type\":\"exec\",\"id\":6,\"shell\":\"env\",\"env\":{\"A\":1}}", A,
    INVALID, 6 },
  { "clear_env not bool", "{\"type\":\"exec\",\"id\":6,\"shell\":\"env\",\"clear_env\":1}", A,
    INVALID, 6 },
  { "stdin not bool", "{\"type\":\"exec\",\"id\":6,\"shell\":\"cat\",\"stdin\":\"yes\"}", A,
    INVALID, 6 },
  { "timeout negative", "{\"type\":\"exec\",\"id\":6,\"shell\":\"x\",\"timeout_ms\":-5}", A,
    INVALID, 6 },
  { "window too big", "{\"type\":\"exec\",\"id\":6,\"shell\":\"x\",\"window\":99999999999}", A,
    INVALID, 6 },
  { "kill unknown signal", "{\"type\":\"kill\",\"id\":7,\"signal\":\"SIGKILL\"}", A, INVALID, 7 },
  { "kill signal number", "{\"type\":\"kill\",\"id\":7,\"signal\":9}", A, INVALID, 7 },
  { "credit 0", "{\"type\":\"credit\",\"id\":7,\"bytes\":0}", A, INVALID, 7 },
  { "credit no bytes", "{\"type\":\"credit\",\"id\":7}", H, INVALID, 7 },
  { "hello version 2", "{\"type\":\"hello\",\"protocol\":2,\"session\":\"s\"}", A,
    SPIRIT_PROTOCOL_ERROR_UNSUPPORTED_VERSION, 0 },
  { "hello no session", "{\"type\":\"hello\",\"protocol\":1}", A, INVALID, 0 },
  { "hello session too long",
    "{\"type\":\"hello\",\"protocol\":1,\"session\":\"0123456789012345678901234567890123456789"
    "01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"
    "9\"}",
    A, LIMIT, 0 },
  { "agent hello without limits", "{\"type\":\"hello\",\"protocol\":1,\"session\":\"s\"}", H,
    INVALID, 0 },
  { "agent hello small frame",
    "{\"type\":\"hello\",\"protocol\":1,\"session\":\"s\",\"limits\":{\"max_frame\":10,"
    "\"max_jobs\":1,\"max_argv_count\":1,\"max_argv_bytes\":1,\"max_env_count\":0,"
    "\"max_env_bytes\":0,\"max_string\":64,\"stdin_window\":1}}",
    H, INVALID, 0 },
  { "started negative pid", "{\"type\":\"started\",\"id\":8,\"pid\":-1}", H, INVALID, 8 },
  { "exit code and signal", "{\"type\":\"exit\",\"id\":8,\"code\":1,\"signal\":\"KILL\"}", H,
    INVALID, 8 },
  { "exit nothing", "{\"type\":\"exit\",\"id\":8}", H, INVALID, 8 },
  { "exit code too big", "{\"type\":\"exit\",\"id\":8,\"code\":4294967296}", H, INVALID, 8 },
  { "exit signal number too big",
    "{\"type\":\"exit\",\"id\":8,\"signal\":\"KILL\",\"signal_number\":300}", H, INVALID, 8 },
  { "error without code", "{\"type\":\"error\",\"id\":9,\"message\":\"x\"}", H, INVALID, 9 },
  { "error without message", "{\"type\":\"error\",\"id\":9,\"code\":\"failed\"}", H, INVALID, 9 },
};

static void
test_bad_messages (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (bad_messages); i++)
    {
      const BadMessage *t = &bad_messages[i];
      g_autoptr (SpiritDecoder) d = spirit_decoder_new (t->dir, NULL);
      g_autoptr (GBytes) bytes = json_frame (t->json);
      g_autoptr (GPtrArray) msgs = NULL;
      g_autoptr (GError) error = NULL;
      SpiritMessage *m;

      g_test_message ("bad message: %s", t->name);
      msgs = decode_all (d, bytes, 3, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (msgs->len, ==, 1);
      m = msgs->pdata[0];
      g_assert_cmpint (m->type, ==, SPIRIT_MSG_INVALID);
      if (!g_error_matches (m->error, SPIRIT_PROTOCOL_ERROR, (gint)t->code))
        g_error ("%s: got %s (%d), want %s", t->name, m->error->message, m->error->code,
                 spirit_protocol_error_to_nick (t->code));
      g_assert_false (spirit_protocol_error_is_fatal (t->code));
      g_assert_cmpuint (m->id, ==, t->id);
      g_assert_false (spirit_decoder_is_hunting (d));
    }
}

/* Limits on argv and env are the receiver's: a small limit rejects what the default accepts. */
static void
test_exec_limits (void)
{
  static const struct
  {
    const char *json;
    guint32 argv_count, argv_bytes, env_count, env_bytes;
  } cases[] = {
    { "{\"type\":\"exec\",\"id\":1,\"argv\":[\"a\",\"b\",\"c\"]}", 2, 100, 10, 100 },
    { "{\"type\":\"exec\",\"id\":1,\"argv\":[\"aaaa\",\"bbbb\"]}", 10, 9, 10, 100 },
    { "{\"type\":\"exec\",\"id\":1,\"shell\":\"0123456789\"}", 10, 9, 10, 100 },
    { "{\"type\":\"exec\",\"id\":1,\"shell\":\"x\",\"env\":{\"A\":\"1\",\"B\":\"2\"}}", 10, 100, 1,
      100 },
    { "{\"type\":\"exec\",\"id\":1,\"shell\":\"x\",\"env\":{\"AB\":\"12\"}}", 10, 100, 10, 5 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      SpiritLimits limits;
      g_autoptr (SpiritDecoder) strict = NULL;
      g_autoptr (SpiritDecoder) lax = spirit_decoder_new (SPIRIT_TO_AGENT, NULL);
      g_autoptr (GBytes) bytes = json_frame (cases[i].json);
      g_autoptr (GPtrArray) a = NULL;
      g_autoptr (GPtrArray) b = NULL;

      spirit_limits_init_default (&limits);
      limits.max_argv_count = cases[i].argv_count;
      limits.max_argv_bytes = cases[i].argv_bytes;
      limits.max_env_count = cases[i].env_count;
      limits.max_env_bytes = cases[i].env_bytes;
      strict = spirit_decoder_new (SPIRIT_TO_AGENT, &limits);
      a = decode_all (strict, bytes, 64, NULL);
      b = decode_all (lax, bytes, 64, NULL);
      g_assert_cmpuint (a->len, ==, 1);
      g_assert_cmpuint (b->len, ==, 1);
      g_assert_cmpint (((SpiritMessage *)b->pdata[0])->type, ==, SPIRIT_MSG_EXEC);
      g_assert_cmpint (((SpiritMessage *)a->pdata[0])->type, ==, SPIRIT_MSG_INVALID);
      g_assert_error (((SpiritMessage *)a->pdata[0])->error, SPIRIT_PROTOCOL_ERROR,
                      SPIRIT_PROTOCOL_ERROR_LIMIT);
      g_assert_cmpuint (((SpiritMessage *)a->pdata[0])->id, ==, 1);
    }
}

/* An invalid message in the middle of a stream costs that message only. */
static void
test_stream_goes_on_after_invalid (void)
{
  g_autoptr (SpiritDecoder) d = spirit_decoder_new (SPIRIT_TO_AGENT, NULL);
  g_autoptr (GBytes) a = json_frame ("{\"type\":\"ping\",\"id\":1}");
  g_autoptr (GBytes) b = json_frame ("{\"type\":\"nope\",\"id\":2}");
  g_autoptr (GBytes) ab = concat (a, b);
  g_autoptr (GBytes) aba = concat (ab, a);
  g_autoptr (GPtrArray) msgs = decode_all (d, aba, 7, NULL);

  g_assert_cmpuint (msgs->len, ==, 3);
  g_assert_cmpint (((SpiritMessage *)msgs->pdata[0])->type, ==, SPIRIT_MSG_PING);
  g_assert_cmpint (((SpiritMessage *)msgs->pdata[1])->type, ==, SPIRIT_MSG_INVALID);
  g_assert_cmpint (((SpiritMessage *)msgs->pdata[2])->type, ==, SPIRIT_MSG_PING);
}

/* Unknown members are ignored: a newer host can add fields. */
static void
test_unknown_members_ignored (void)
{
  g_autoptr (SpiritDecoder) d = spirit_decoder_new (SPIRIT_TO_AGENT, NULL);
  g_autoptr (GBytes) f = json_frame (
    "{\"type\":\"exec\",\"id\":3,\"shell\":\"true\",\"pty\":{\"rows\":24},\"future\":[1,2]}");
  g_autoptr (GPtrArray) msgs = decode_all (d, f, 100, NULL);

  g_assert_cmpuint (msgs->len, ==, 1);
  g_assert_cmpint (((SpiritMessage *)msgs->pdata[0])->type, ==, SPIRIT_MSG_EXEC);
  g_assert_cmpstr (((SpiritMessage *)msgs->pdata[0])->shell, ==, "true");
}

static void
test_kill_defaults_to_kill (void)
{
  g_autoptr (SpiritDecoder) d = spirit_decoder_new (SPIRIT_TO_AGENT, NULL);
  g_autoptr (GBytes) f = json_frame ("{\"type\":\"kill\",\"id\":3}");
  g_autoptr (GPtrArray) msgs = decode_all (d, f, 100, NULL);

  g_assert_cmpuint (msgs->len, ==, 1);
  g_assert_cmpstr (((SpiritMessage *)msgs->pdata[0])->signal_name, ==, "KILL");
}

/* ---- the encoder refuses what the decoder would ------------------------------------------- */

static void
test_encoder_refuses (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritMessage) both = spirit_message_new (SPIRIT_MSG_EXEC, 1);
  g_autoptr (SpiritMessage) no_id = spirit_message_new (SPIRIT_MSG_EXEC, 0);
  g_autoptr (SpiritMessage) zero_credit = spirit_message_new (SPIRIT_MSG_CREDIT, 1);
  g_autoptr (SpiritMessage) empty = spirit_message_new_data (SPIRIT_FRAME_STDOUT, 1, FALSE, NULL);
  g_autoptr (SpiritMessage) bad_env = spirit_message_new (SPIRIT_MSG_EXEC, 1);
  g_autoptr (SpiritMessage) bad_signal = spirit_message_new (SPIRIT_MSG_KILL, 1);
  g_autoptr (SpiritMessage) no_session = spirit_message_new (SPIRIT_MSG_HELLO, 0);
  g_autoptr (SpiritMessage) invalid = spirit_message_new (SPIRIT_MSG_INVALID, 0);
  SpiritMessage *cases[]
    = { both, no_id, zero_credit, empty, bad_env, bad_signal, no_session, invalid };
  static const char *argv[] = { "true", NULL };
  static const char *env[] = { "NOEQUALS", NULL };

  both->argv = g_strdupv ((gchar **)argv);
  both->shell = g_strdup ("true");
  no_id->shell = g_strdup ("true");
  bad_env->shell = g_strdup ("env");
  bad_env->env = g_strdupv ((gchar **)env);
  bad_signal->signal_name = g_strdup ("BOGUS");
  no_session->protocol = 1;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = spirit_message_encode (cases[i], &error);
      g_assert_null (b);
      g_assert_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_INVALID);
      g_clear_error (&error);
    }
}

static void
test_error_message_truncated (void)
{
  g_autofree gchar *lng = g_strnfill (5000, 'x');
  g_autoptr (SpiritMessage) m = spirit_message_new_error (1, SPIRIT_PROTOCOL_ERROR_FAILED, lng);

  g_assert_cmpuint (strlen (m->message), <=, 1024);
}

/* ---- resynchronisation ---------------------------------------------------------------------- */

static GBytes *
hello_frame (const char *session, SpiritDirection dir)
{
  g_autoptr (SpiritMessage) m = spirit_message_new (SPIRIT_MSG_HELLO, 0);

  m->protocol = SPIRIT_PROTOCOL_VERSION;
  m->session = g_strdup (session);
  if (dir == SPIRIT_TO_HOST)
    spirit_limits_init_default (&m->limits);
  return spirit_message_encode (m, NULL);
}

static void
test_resync_garbage (void)
{
  static const gsize chunks[] = { 1, 3, 64, G_MAXSIZE };
  guint8 garbage[3000];
  g_autoptr (GBytes) g = NULL;
  g_autoptr (GBytes) hello = hello_frame ("abc", SPIRIT_TO_AGENT);
  g_autoptr (GBytes) ping = json_frame ("{\"type\":\"ping\",\"id\":5}");
  g_autoptr (GBytes) gh = NULL;
  g_autoptr (GBytes) all = NULL;

  /* Random bytes salted with magic bytes and fake headers. */
  for (gsize i = 0; i < sizeof garbage; i++)
    garbage[i] = g_test_rand_int_range (0, 256);
  memcpy (garbage + 100, "SP\x01\x00\x00\x00\x00\x00\x00\x00\x00\x20{\"type\":\"hello\"", 27);
  memcpy (garbage + 500, "SPSPSPSP", 8);
  g = raw (garbage, sizeof garbage);
  gh = concat (g, hello);
  all = concat (gh, ping);
  for (gsize c = 0; c < G_N_ELEMENTS (chunks); c++)
    {
      g_autoptr (SpiritDecoder) d = spirit_decoder_new (SPIRIT_TO_AGENT, NULL);
      g_autoptr (GPtrArray) msgs = NULL;
      g_autoptr (GError) error = NULL;

      spirit_decoder_resync (d, NULL);
      g_assert_true (spirit_decoder_is_hunting (d));
      msgs = decode_all (d, all, chunks[c], &error);
      g_assert_no_error (error);
      g_assert_cmpuint (msgs->len, ==, 2);
      g_assert_cmpint (((SpiritMessage *)msgs->pdata[0])->type, ==, SPIRIT_MSG_HELLO);
      g_assert_cmpstr (((SpiritMessage *)msgs->pdata[0])->session, ==, "abc");
      g_assert_cmpint (((SpiritMessage *)msgs->pdata[1])->type, ==, SPIRIT_MSG_PING);
      g_assert_cmpuint (spirit_decoder_get_discarded (d), ==, sizeof garbage);
      g_assert_false (spirit_decoder_is_hunting (d));
    }
}

/* The host side: the tail of the previous session's output, then an old session's hello reply,
 * then the reply to our hello. Only ours ends the hunt. */
static void
test_resync_session (void)
{
  g_autoptr (GBytes) big = NULL;
  g_autoptr (GBytes) tail = NULL;
  g_autoptr (GBytes) old = hello_frame ("old", SPIRIT_TO_HOST);
  g_autoptr (GBytes) mine = hello_frame ("mine", SPIRIT_TO_HOST);
  g_autoptr (GBytes) exit_msg = json_frame ("{\"type\":\"exit\",\"id\":1,\"code\":0}");
  g_autoptr (GBytes) a = NULL;
  g_autoptr (GBytes) b = NULL;
  g_autoptr (GBytes) c = NULL;
  g_autoptr (SpiritDecoder) d = spirit_decoder_new (SPIRIT_TO_HOST, NULL);
  g_autoptr (GPtrArray) msgs = NULL;
  g_autoptr (GError) error = NULL;
  guint8 data[5000];

  /* A data frame whose payload embeds a perfect hello of another session, cut in the middle. */
  memset (data, 'S', sizeof data);
  memcpy (data + 1000, g_bytes_get_data (old, NULL), g_bytes_get_size (old));
  big = spirit_frame_encode_data (SPIRIT_FRAME_STDOUT, 1, FALSE, data, sizeof data);
  tail = g_bytes_new_from_bytes (big, 700, g_bytes_get_size (big) - 700);
  a = concat (tail, old);
  b = concat (a, mine);
  c = concat (b, exit_msg);

  spirit_decoder_resync (d, "mine");
  msgs = decode_all (d, c, 512, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msgs->len, ==, 2);
  g_assert_cmpstr (((SpiritMessage *)msgs->pdata[0])->session, ==, "mine");
  g_assert_cmpint (((SpiritMessage *)msgs->pdata[1])->type, ==, SPIRIT_MSG_EXIT);
}

/* After a fatal error the decoder ignores everything, even valid frames, until a hello. */
static void
test_fatal_then_hunt (void)
{
  static const guint8 bad[] = { 'S', 'P', 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
  g_autoptr (GBytes) b = raw (bad, sizeof bad);
  g_autoptr (GBytes) ping = json_frame ("{\"type\":\"ping\",\"id\":1}");
  g_autoptr (GBytes) hello = hello_frame ("x", SPIRIT_TO_AGENT);
  g_autoptr (GBytes) s1 = concat (b, ping);
  g_autoptr (GBytes) s2 = concat (s1, hello);
  g_autoptr (GBytes) s3 = concat (s2, ping);
  g_autoptr (SpiritDecoder) d = spirit_decoder_new (SPIRIT_TO_AGENT, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) msgs = decode_all (d, s3, G_MAXSIZE, &error);

  g_assert_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_BAD_FRAME);
  g_assert_cmpuint (msgs->len, ==, 2);
  g_assert_cmpint (((SpiritMessage *)msgs->pdata[0])->type, ==, SPIRIT_MSG_HELLO);
  g_assert_cmpint (((SpiritMessage *)msgs->pdata[1])->type, ==, SPIRIT_MSG_PING);
}

/* A hello of an unsupported version still ends the hunt, as an INVALID message to answer. */
static void
test_resync_unsupported_version (void)
{
  g_autoptr (GBytes) f = json_frame ("{\"type\":\"hello\",\"protocol\":9,\"session\":\"s\"}");
  g_autoptr (SpiritDecoder) d = spirit_decoder_new (SPIRIT_TO_AGENT, NULL);
  g_autoptr (GPtrArray) msgs = NULL;

  spirit_decoder_resync (d, NULL);
  msgs = decode_all (d, f, 5, NULL);
  g_assert_cmpuint (msgs->len, ==, 1);
  g_assert_error (((SpiritMessage *)msgs->pdata[0])->error, SPIRIT_PROTOCOL_ERROR,
                  SPIRIT_PROTOCOL_ERROR_UNSUPPORTED_VERSION);
  g_assert_false (spirit_decoder_is_hunting (d));
}

/* ---- tables --------------------------------------------------------------------------------- */

static void
test_error_nicks (void)
{
  for (int code = SPIRIT_PROTOCOL_ERROR_FAILED; code <= SPIRIT_PROTOCOL_ERROR_CREDIT_EXCEEDED;
       code++)
    {
      const char *nick = spirit_protocol_error_to_nick (code);
      g_assert_cmpint (spirit_protocol_error_from_nick (nick), ==, code);
    }
  g_assert_cmpint (spirit_protocol_error_from_nick ("from-the-future"), ==,
                   SPIRIT_PROTOCOL_ERROR_FAILED);
  g_assert_cmpint (spirit_protocol_error_from_nick (NULL), ==, SPIRIT_PROTOCOL_ERROR_FAILED);
}

static void
test_signal_names (void)
{
  g_assert_cmpint (spirit_signal_number_from_name ("KILL"), ==, 9);
  g_assert_cmpint (spirit_signal_number_from_name ("TERM"), ==, 15);
  g_assert_cmpint (spirit_signal_number_from_name ("SIGTERM"), ==, 0);
  g_assert_cmpint (spirit_signal_number_from_name (NULL), ==, 0);
  g_assert_cmpstr (spirit_signal_name_from_number (2), ==, "INT");
  g_assert_null (spirit_signal_name_from_number (64));
  for (int n = 1; n < 32; n++)
    {
      const char *name = spirit_signal_name_from_number (n);
      if (name != NULL)
        g_assert_cmpint (spirit_signal_number_from_name (name), ==, n);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/protocol/round-trip", test_round_trip);
  g_test_add_func ("/protocol/hello-prefix", test_hello_prefix);
  g_test_add_func ("/protocol/bad-headers", test_bad_headers);
  g_test_add_func ("/protocol/limit-boundary", test_limit_boundary);
  g_test_add_func ("/protocol/bad-messages", test_bad_messages);
  g_test_add_func ("/protocol/exec-limits", test_exec_limits);
  g_test_add_func ("/protocol/stream-goes-on-after-invalid", test_stream_goes_on_after_invalid);
  g_test_add_func ("/protocol/unknown-members-ignored", test_unknown_members_ignored);
  g_test_add_func ("/protocol/kill-defaults-to-kill", test_kill_defaults_to_kill);
  g_test_add_func ("/protocol/encoder-refuses", test_encoder_refuses);
  g_test_add_func ("/protocol/error-message-truncated", test_error_message_truncated);
  g_test_add_func ("/protocol/resync-garbage", test_resync_garbage);
  g_test_add_func ("/protocol/resync-session", test_resync_session);
  g_test_add_func ("/protocol/fatal-then-hunt", test_fatal_then_hunt);
  g_test_add_func ("/protocol/resync-unsupported-version", test_resync_unsupported_version);
  g_test_add_func ("/protocol/error-nicks", test_error_nicks);
  g_test_add_func ("/protocol/signal-names", test_signal_names);
  return g_test_run ();
}
