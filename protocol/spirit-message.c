/* spirit-message.c: SpiritMessage's life cycle, equality, and encoding into frames.
 *
 * Encoding builds the JSON with json-glib. "type" is always the first member, so a hello frame
 * starts with SPIRIT_HELLO_PREFIX, which is what a resynchronising receiver looks for.
 */
#define G_LOG_DOMAIN "spirit-protocol"

#include "spirit-message.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *const spirit_message_type_names[] = {
  [SPIRIT_MSG_INVALID] = "invalid", [SPIRIT_MSG_HELLO] = "hello",     [SPIRIT_MSG_PING] = "ping",
  [SPIRIT_MSG_PONG] = "pong",       [SPIRIT_MSG_EXEC] = "exec",       [SPIRIT_MSG_KILL] = "kill",
  [SPIRIT_MSG_CREDIT] = "credit",   [SPIRIT_MSG_STARTED] = "started", [SPIRIT_MSG_EXIT] = "exit",
  [SPIRIT_MSG_ERROR] = "error",     [SPIRIT_MSG_DATA] = "data",
};

const char *
spirit_message_type_to_string (SpiritMessageType type)
{
  if ((guint)type < G_N_ELEMENTS (spirit_message_type_names))
    return spirit_message_type_names[type];
  return "invalid";
}

SpiritMessage *
spirit_message_new (SpiritMessageType type, guint32 id)
{
  SpiritMessage *msg = g_new0 (SpiritMessage, 1);

  msg->type = type;
  msg->id = id;
  return msg;
}

void
spirit_message_free (SpiritMessage *msg)
{
  if (msg == NULL)
    return;
  g_free (msg->session);
  g_free (msg->software);
  g_free (msg->os);
  g_free (msg->kernel);
  g_free (msg->hostname);
  g_strfreev (msg->capabilities);
  g_strfreev (msg->argv);
  g_free (msg->shell);
  g_free (msg->cwd);
  g_strfreev (msg->env);
  g_free (msg->signal_name);
  g_free (msg->error_nick);
  g_free (msg->message);
  g_clear_pointer (&msg->data, g_bytes_unref);
  g_clear_error (&msg->error);
  g_free (msg);
}

/* Error texts travel in one frame and must stay below the receiver's max_string: cut long ones
 * on a character boundary. */
#define SPIRIT_ERROR_MESSAGE_MAX 1024

SpiritMessage *
spirit_message_new_error (guint32 id, SpiritProtocolError code, const char *message)
{
  SpiritMessage *msg = spirit_message_new (SPIRIT_MSG_ERROR, id);
  const char *text = message != NULL ? message : "";
  gsize len = strlen (text);

  if (len > SPIRIT_ERROR_MESSAGE_MAX)
    {
      const char *end = g_utf8_find_prev_char (text, text + SPIRIT_ERROR_MESSAGE_MAX);
      len = end != NULL ? (gsize)(end - text) : 0;
    }
  msg->error_code = code;
  msg->error_nick = g_strdup (spirit_protocol_error_to_nick (code));
  msg->message = g_utf8_make_valid (text, len);
  return msg;
}

SpiritMessage *
spirit_message_new_data (SpiritFrameType stream, guint32 id, gboolean eof, GBytes *data)
{
  SpiritMessage *msg = spirit_message_new (SPIRIT_MSG_DATA, id);

  msg->stream = stream;
  msg->eof = eof;
  msg->data = data != NULL ? g_bytes_ref (data) : g_bytes_new (NULL, 0);
  return msg;
}

static gboolean
invalid (GError **error, const char *what, const SpiritMessage *msg)
{
  g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_INVALID,
               "cannot encode %s message: %s", spirit_message_type_to_string (msg->type), what);
  return FALSE;
}

static gboolean
check_encodable (const SpiritMessage *msg, GError **error)
{
  gboolean job = msg->type != SPIRIT_MSG_HELLO && msg->type != SPIRIT_MSG_PING
                 && msg->type != SPIRIT_MSG_PONG && msg->type != SPIRIT_MSG_ERROR;

  if (job && msg->id == 0)
    return invalid (error, "id 0", msg);
  switch (msg->type)
    {
    case SPIRIT_MSG_HELLO:
      if (msg->protocol == 0 || msg->session == NULL || *msg->session == '\0')
        return invalid (error, "no protocol or session", msg);
      break;
    case SPIRIT_MSG_EXEC:
      if ((msg->argv != NULL && msg->argv[0] != NULL) == (msg->shell != NULL))
        return invalid (error, "exactly one of argv and shell is needed", msg);
      for (gchar **e = msg->env; e != NULL && *e != NULL; e++)
        if (strchr (*e, '=') == NULL || **e == '=')
          return invalid (error, "env entries must be KEY=VALUE", msg);
      break;
    case SPIRIT_MSG_KILL:
      if (msg->signal_name != NULL && !spirit_signal_name_is_valid (msg->signal_name))
        return invalid (error, "unknown signal", msg);
      break;
    case SPIRIT_MSG_CREDIT:
      if (msg->bytes == 0)
        return invalid (error, "credit of 0 bytes", msg);
      break;
    case SPIRIT_MSG_STARTED:
      if (msg->pid < 0)
        return invalid (error, "negative pid", msg);
      break;
    case SPIRIT_MSG_EXIT:
      if (msg->signal_name != NULL ? !spirit_signal_name_is_valid (msg->signal_name)
                                   : (msg->exit_code < 0 || msg->exit_code > G_MAXUINT32))
        return invalid (error, "exit code out of range or unknown signal", msg);
      break;
    case SPIRIT_MSG_DATA:
      if (!spirit_frame_type_is_data (msg->stream) || msg->data == NULL
          || (g_bytes_get_size (msg->data) == 0 && !msg->eof))
        return invalid (error, "bad stream or empty data without eof", msg);
      break;
    case SPIRIT_MSG_INVALID:
      return invalid (error, "not a message", msg);
    default:
      break;
    }
  return TRUE;
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_true (JsonBuilder *b, const char *name, gboolean value)
{
  if (!value)
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, TRUE);
}

static void
add_strv (JsonBuilder *b, const char *name, gchar **strv)
{
  if (strv == NULL)
    return;
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (gchar **s = strv; *s != NULL; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
}

static void
add_limits (JsonBuilder *b, const SpiritLimits *l)
{
  json_builder_set_member_name (b, "limits");
  json_builder_begin_object (b);
  add_int (b, "max_frame", l->max_frame);
  add_int (b, "max_jobs", l->max_jobs);
  add_int (b, "max_argv_count", l->max_argv_count);
  add_int (b, "max_argv_bytes", l->max_argv_bytes);
  add_int (b, "max_env_count", l->max_env_count);
  add_int (b, "max_env_bytes", l->max_env_bytes);
  add_int (b, "max_string", l->max_string);
  add_int (b, "stdin_window", l->stdin_window);
  json_builder_end_object (b);
}

static void
add_env (JsonBuilder *b, gchar **env)
{
  if (env == NULL)
    return;
  json_builder_set_member_name (b, "env");
  json_builder_begin_object (b);
  for (gchar **e = env; *e != NULL; e++)
    {
      const char *eq = strchr (*e, '=');
      g_autofree gchar *key = g_strndup (*e, eq - *e);

      json_builder_set_member_name (b, key);
      json_builder_add_string_value (b, eq + 1);
    }
  json_builder_end_object (b);
}

static void
build_fields (JsonBuilder *b, const SpiritMessage *msg, SpiritDirection direction)
{
  switch (msg->type)
    {
    case SPIRIT_MSG_HELLO:
      add_int (b, "protocol", msg->protocol);
      add_string (b, "session", msg->session);
      add_string (b, direction == SPIRIT_TO_AGENT ? "client" : "agent", msg->software);
      if (direction == SPIRIT_TO_HOST)
        {
          add_string (b, "os", msg->os);
          add_string (b, "kernel", msg->kernel);
          add_string (b, "hostname", msg->hostname);
          add_strv (b, "capabilities", msg->capabilities);
          add_limits (b, &msg->limits);
        }
      break;
    case SPIRIT_MSG_PING:
    case SPIRIT_MSG_PONG:
      add_int (b, "id", msg->id);
      break;
    case SPIRIT_MSG_EXEC:
      add_int (b, "id", msg->id);
      add_strv (b, "argv", msg->shell == NULL ? msg->argv : NULL);
      add_string (b, "shell", msg->shell);
      add_string (b, "cwd", msg->cwd);
      add_env (b, msg->env);
      add_true (b, "clear_env", msg->clear_env);
      add_true (b, "stdin", msg->stdin_pipe);
      if (msg->timeout_ms != 0)
        add_int (b, "timeout_ms", msg->timeout_ms);
      if (msg->window != 0)
        add_int (b, "window", msg->window);
      break;
    case SPIRIT_MSG_KILL:
      add_int (b, "id", msg->id);
      add_string (b, "signal", msg->signal_name);
      break;
    case SPIRIT_MSG_CREDIT:
      add_int (b, "id", msg->id);
      add_int (b, "bytes", msg->bytes);
      break;
    case SPIRIT_MSG_STARTED:
      add_int (b, "id", msg->id);
      add_int (b, "pid", msg->pid);
      break;
    case SPIRIT_MSG_EXIT:
      add_int (b, "id", msg->id);
      if (msg->signal_name != NULL)
        {
          add_string (b, "signal", msg->signal_name);
          add_int (b, "signal_number", msg->signal_number);
          add_true (b, "core_dumped", msg->core_dumped);
        }
      else
        add_int (b, "code", msg->exit_code);
      add_true (b, "timed_out", msg->timed_out);
      break;
    case SPIRIT_MSG_ERROR:
      if (msg->id != 0)
        add_int (b, "id", msg->id);
      add_string (b, "code",
                  msg->error_nick != NULL ? msg->error_nick
                                          : spirit_protocol_error_to_nick (msg->error_code));
      add_string (b, "message", msg->message != NULL ? msg->message : "");
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The direction a message type travels in; hello and credit go both ways, and the caller's
 * fields decide (a hello with limits is the agent's). */
static SpiritDirection
message_direction (const SpiritMessage *msg)
{
  switch (msg->type)
    {
    case SPIRIT_MSG_PING:
    case SPIRIT_MSG_EXEC:
    case SPIRIT_MSG_KILL:
      return SPIRIT_TO_AGENT;
    case SPIRIT_MSG_HELLO:
      return msg->limits.max_frame != 0 ? SPIRIT_TO_HOST : SPIRIT_TO_AGENT;
    default:
      return SPIRIT_TO_HOST;
    }
}

GBytes *
spirit_message_encode (const SpiritMessage *msg, GError **error)
{
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (JsonGenerator) gen = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *json = NULL;
  gsize len = 0;

  g_return_val_if_fail (msg != NULL, NULL);

  if (!check_encodable (msg, error))
    return NULL;
  if (msg->type == SPIRIT_MSG_DATA)
    return spirit_frame_encode_data (msg->stream, msg->id, msg->eof,
                                     g_bytes_get_data (msg->data, NULL),
                                     g_bytes_get_size (msg->data));

  b = json_builder_new_immutable ();
  json_builder_begin_object (b);
  add_string (b, "type", spirit_message_type_to_string (msg->type));
  build_fields (b, msg, message_direction (msg));
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, &len);
  return spirit_frame_encode_json (json, len);
}

static gboolean
strv_equal0 (gchar **a, gchar **b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_strv_equal ((const gchar *const *)a, (const gchar *const *)b);
}

gboolean
spirit_message_equal (const SpiritMessage *a, const SpiritMessage *b)
{
  if (a->type != b->type || a->id != b->id)
    return FALSE;
  switch (a->type)
    {
    case SPIRIT_MSG_HELLO:
      return a->protocol == b->protocol && g_strcmp0 (a->session, b->session) == 0
             && g_strcmp0 (a->software, b->software) == 0 && g_strcmp0 (a->os, b->os) == 0
             && g_strcmp0 (a->kernel, b->kernel) == 0 && g_strcmp0 (a->hostname, b->hostname) == 0
             && strv_equal0 (a->capabilities, b->capabilities)
             && memcmp (&a->limits, &b->limits, sizeof a->limits) == 0;
    case SPIRIT_MSG_EXEC:
      return strv_equal0 (a->argv, b->argv) && g_strcmp0 (a->shell, b->shell) == 0
             && g_strcmp0 (a->cwd, b->cwd) == 0 && strv_equal0 (a->env, b->env)
             && a->clear_env == b->clear_env && a->stdin_pipe == b->stdin_pipe
             && a->timeout_ms == b->timeout_ms && a->window == b->window;
    case SPIRIT_MSG_KILL:
      return g_strcmp0 (a->signal_name, b->signal_name) == 0;
    case SPIRIT_MSG_CREDIT:
      return a->bytes == b->bytes;
    case SPIRIT_MSG_STARTED:
      return a->pid == b->pid;
    case SPIRIT_MSG_EXIT:
      return g_strcmp0 (a->signal_name, b->signal_name) == 0 && a->signal_number == b->signal_number
             && a->core_dumped == b->core_dumped
             && (a->signal_name != NULL || a->exit_code == b->exit_code)
             && a->timed_out == b->timed_out;
    case SPIRIT_MSG_ERROR:
      return a->error_code == b->error_code && g_strcmp0 (a->error_nick, b->error_nick) == 0
             && g_strcmp0 (a->message, b->message) == 0;
    case SPIRIT_MSG_DATA:
      return a->stream == b->stream && a->eof == b->eof && g_bytes_equal (a->data, b->data);
    case SPIRIT_MSG_PING:
    case SPIRIT_MSG_PONG:
      return TRUE;
    default:
      return FALSE;
    }
}
