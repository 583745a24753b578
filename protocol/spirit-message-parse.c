/* spirit-message-parse.c: one JSON payload → one validated SpiritMessage, or a precise error.
 *
 * Hostile input is the normal case here. Before json-glib sees a payload it must be valid UTF-8
 * without NUL bytes, nest at most SPIRIT_JSON_MAX_DEPTH deep (json-glib's parser recurses) and
 * contain no \u0000 escape (C strings would silently cut there). Then every field is checked for
 * type, range and the limits. Unknown members are ignored, so newer peers can add fields.
 */
#define G_LOG_DOMAIN "spirit-protocol"

#include "spirit-message.h"

#include <json-glib/json-glib.h>
#include <string.h>

static gboolean
json_precheck (const guint8 *p, gsize len, GError **error)
{
  gboolean in_string = FALSE;
  guint depth = 0;

  if (!g_utf8_validate_len ((const char *)p, len, NULL))
    {
      g_set_error_literal (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_MALFORMED,
                           "payload is not UTF-8 (or contains NUL)");
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      if (in_string)
        {
          if (p[i] == '"')
            in_string = FALSE;
          else if (p[i] == '\\' && i + 1 < len)
            {
              i++;
              if (p[i] == 'u' && i + 4 < len && memcmp (p + i + 1, "0000", 4) == 0)
                {
                  g_set_error_literal (error, SPIRIT_PROTOCOL_ERROR,
                                       SPIRIT_PROTOCOL_ERROR_MALFORMED, "\\u0000 in a JSON string");
                  return FALSE;
                }
            }
        }
      else if (p[i] == '"')
        in_string = TRUE;
      else if (p[i] == '{' || p[i] == '[')
        {
          if (++depth > SPIRIT_JSON_MAX_DEPTH)
            {
              g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_MALFORMED,
                           "JSON nested deeper than %d", SPIRIT_JSON_MAX_DEPTH);
              return FALSE;
            }
        }
      else if ((p[i] == '}' || p[i] == ']') && depth > 0)
        depth--;
    }
  return TRUE;
}

/* Field readers. Each returns FALSE with INVALID (wrong type or range) or LIMIT (too big). */

static gboolean
bad_field (GError **error, const char *name, const char *want)
{
  g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_INVALID,
               "field \"%s\" must be %s", name, want);
  return FALSE;
}

static gboolean
over_limit (GError **error, const char *name, guint32 limit)
{
  g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_LIMIT,
               "field \"%s\" is over the limit of %u", name, limit);
  return FALSE;
}

static gboolean
read_int (JsonObject *o,
          const char *name,
          gboolean required,
          gint64 min,
          gint64 max,
          gint64 *out,
          GError **error)
{
  JsonNode *node = json_object_get_member (o, name);
  gint64 v;

  if (node == NULL)
    return !required || bad_field (error, name, "present");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return bad_field (error, name, "an integer");
  v = json_node_get_int (node);
  if (v < min || v > max)
    return bad_field (error, name, "in range");
  *out = v;
  return TRUE;
}

static gboolean
read_u32 (
  JsonObject *o, const char *name, gboolean required, guint32 min, guint32 *out, GError **error)
{
  gint64 v = *out;

  if (!read_int (o, name, required, min, G_MAXUINT32, &v, error))
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
read_bool (JsonObject *o, const char *name, gboolean *out, GError **error)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return bad_field (error, name, "a boolean");
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* json-glib decodes escapes such as a lone "\ud800" into bytes that are not UTF-8, although the
 * payload itself was: every decoded string is checked again before it is kept. */
static gboolean
decoded_text_is_valid (const char *s)
{
  return g_utf8_validate (s, -1, NULL);
}

static gboolean
read_string (
  JsonObject *o, const char *name, gboolean required, guint32 max_len, gchar **out, GError **error)
{
  JsonNode *node = json_object_get_member (o, name);
  const char *s;

  if (node == NULL)
    return !required || bad_field (error, name, "present");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return bad_field (error, name, "a string");
  s = json_node_get_string (node);
  if (!decoded_text_is_valid (s))
    return bad_field (error, name, "valid UTF-8 (no lone surrogate escapes)");
  if (*s == '\0')
    return bad_field (error, name, "a non-empty string");
  if (strlen (s) > max_len)
    return over_limit (error, name, max_len);
  g_free (*out);
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
read_strv (JsonObject *o,
           const char *name,
           guint32 max_count,
           guint32 max_bytes,
           gchar ***out,
           GError **error)
{
  JsonNode *node = json_object_get_member (o, name);
  g_autoptr (GPtrArray) strv = NULL;
  JsonArray *array;
  guint n;
  gsize bytes = 0;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return bad_field (error, name, "an array of strings");
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n > max_count)
    return over_limit (error, name, max_count);
  strv = g_ptr_array_new_full (n + 1, g_free);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *item = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
        return bad_field (error, name, "an array of strings");
      if (!decoded_text_is_valid (json_node_get_string (item)))
        return bad_field (error, name, "valid UTF-8 (no lone surrogate escapes)");
      bytes += strlen (json_node_get_string (item)) + 1;
      if (bytes > max_bytes)
        return over_limit (error, name, max_bytes);
      g_ptr_array_add (strv, g_strdup (json_node_get_string (item)));
    }
  g_ptr_array_add (strv, NULL);
  *out = (gchar **)g_ptr_array_free (g_steal_pointer (&strv), FALSE);
  return TRUE;
}

static gboolean
read_env (JsonObject *o, const SpiritLimits *limits, gchar ***out, GError **error)
{
  JsonNode *node = json_object_get_member (o, "env");
  g_autoptr (GPtrArray) env = NULL;
  JsonObject *obj;
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;
  gsize bytes = 0;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return bad_field (error, "env", "an object of strings");
  obj = json_node_get_object (node);
  if (json_object_get_size (obj) > limits->max_env_count)
    return over_limit (error, "env", limits->max_env_count);
  env = g_ptr_array_new_full (json_object_get_size (obj) + 1, g_free);
  json_object_iter_init_ordered (&iter, obj);
  while (json_object_iter_next_ordered (&iter, &key, &value))
    {
      if (*key == '\0' || strchr (key, '=') != NULL)
        return bad_field (error, "env", "keyed by non-empty names without '='");
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return bad_field (error, "env", "an object of strings");
      if (!decoded_text_is_valid (key) || !decoded_text_is_valid (json_node_get_string (value)))
        return bad_field (error, "env", "valid UTF-8 (no lone surrogate escapes)");
      bytes += strlen (key) + strlen (json_node_get_string (value)) + 2;
      if (bytes > limits->max_env_bytes)
        return over_limit (error, "env", limits->max_env_bytes);
      g_ptr_array_add (env, g_strconcat (key, "=", json_node_get_string (value), NULL));
    }
  g_ptr_array_add (env, NULL);
  *out = (gchar **)g_ptr_array_free (g_steal_pointer (&env), FALSE);
  return TRUE;
}

static gboolean
read_signal (JsonObject *o, gboolean required, gchar **out, GError **error)
{
  if (!read_string (o, "signal", required, 16, out, error))
    return FALSE;
  if (*out != NULL && !spirit_signal_name_is_valid (*out))
    return bad_field (error, "signal", "a signal name such as \"KILL\" or \"TERM\"");
  return TRUE;
}

static gboolean
read_limits (JsonObject *o, SpiritLimits *l, GError **error)
{
  JsonNode *node = json_object_get_member (o, "limits");
  JsonObject *lo;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return bad_field (error, "limits", "an object");
  lo = json_node_get_object (node);
  if (!read_u32 (lo, "max_frame", TRUE, 4096, &l->max_frame, error)
      || !read_u32 (lo, "max_jobs", TRUE, 1, &l->max_jobs, error)
      || !read_u32 (lo, "max_argv_count", TRUE, 1, &l->max_argv_count, error)
      || !read_u32 (lo, "max_argv_bytes", TRUE, 1, &l->max_argv_bytes, error)
      || !read_u32 (lo, "max_env_count", TRUE, 0, &l->max_env_count, error)
      || !read_u32 (lo, "max_env_bytes", TRUE, 0, &l->max_env_bytes, error)
      || !read_u32 (lo, "max_string", TRUE, 64, &l->max_string, error)
      || !read_u32 (lo, "stdin_window", TRUE, 1, &l->stdin_window, error))
    return FALSE;
  if (l->max_frame > SPIRIT_FRAME_MAX_PAYLOAD_CAP)
    return bad_field (error, "max_frame", "at most the protocol's cap");
  return TRUE;
}

static gboolean
parse_hello (
  JsonObject *o, SpiritMessage *m, SpiritDirection dir, const SpiritLimits *limits, GError **error)
{
  gint64 protocol = 0;

  if (!read_int (o, "protocol", TRUE, 1, G_MAXUINT32, &protocol, error))
    return FALSE;
  m->protocol = protocol;
  if (m->protocol != SPIRIT_PROTOCOL_VERSION)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_UNSUPPORTED_VERSION,
                   "protocol %u is not supported (this side speaks %d)", m->protocol,
                   SPIRIT_PROTOCOL_VERSION);
      return FALSE;
    }
  if (!read_string (o, "session", TRUE, 128, &m->session, error))
    return FALSE;
  if (dir == SPIRIT_TO_AGENT)
    return read_string (o, "client", FALSE, limits->max_string, &m->software, error);
  return read_string (o, "agent", FALSE, limits->max_string, &m->software, error)
         && read_string (o, "os", FALSE, limits->max_string, &m->os, error)
         && read_string (o, "kernel", FALSE, limits->max_string, &m->kernel, error)
         && read_string (o, "hostname", FALSE, limits->max_string, &m->hostname, error)
         && read_strv (o, "capabilities", 64, limits->max_string, &m->capabilities, error)
         && read_limits (o, &m->limits, error);
}

static gboolean
parse_exec (JsonObject *o, SpiritMessage *m, const SpiritLimits *limits, GError **error)
{
  if (!read_strv (o, "argv", limits->max_argv_count, limits->max_argv_bytes, &m->argv, error)
      || !read_string (o, "shell", FALSE, limits->max_argv_bytes, &m->shell, error)
      || !read_string (o, "cwd", FALSE, limits->max_string, &m->cwd, error)
      || !read_env (o, limits, &m->env, error) || !read_bool (o, "clear_env", &m->clear_env, error)
      || !read_bool (o, "stdin", &m->stdin_pipe, error)
      || !read_u32 (o, "timeout_ms", FALSE, 0, &m->timeout_ms, error)
      || !read_u32 (o, "window", FALSE, 0, &m->window, error))
    return FALSE;
  if ((m->argv != NULL) == (m->shell != NULL))
    return bad_field (error, "argv", "given, or else \"shell\" (exactly one of them)");
  if (m->argv != NULL && (m->argv[0] == NULL || *m->argv[0] == '\0'))
    return bad_field (error, "argv", "non-empty, with a non-empty argv[0]");
  return TRUE;
}

static gboolean
parse_exit (JsonObject *o, SpiritMessage *m, GError **error)
{
  gint64 number = 0;
  gboolean has_code = json_object_has_member (o, "code");

  if (!read_signal (o, FALSE, &m->signal_name, error)
      || !read_bool (o, "timed_out", &m->timed_out, error))
    return FALSE;
  if (has_code == (m->signal_name != NULL))
    return bad_field (error, "code", "given, or else \"signal\" (exactly one of them)");
  if (has_code)
    return read_int (o, "code", TRUE, 0, G_MAXUINT32, &m->exit_code, error);
  if (!read_int (o, "signal_number", FALSE, 0, 255, &number, error)
      || !read_bool (o, "core_dumped", &m->core_dumped, error))
    return FALSE;
  m->signal_number = number;
  return TRUE;
}

static gboolean
parse_error (JsonObject *o, SpiritMessage *m, const SpiritLimits *limits, GError **error)
{
  JsonNode *node = json_object_get_member (o, "message");

  if (!read_string (o, "code", TRUE, 64, &m->error_nick, error))
    return FALSE;
  m->error_code = spirit_protocol_error_from_nick (m->error_nick);
  /* An empty message is allowed here, unlike other strings. */
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING && *json_node_get_string (node) == '\0')
    {
      m->message = g_strdup ("");
      return TRUE;
    }
  return read_string (o, "message", TRUE, limits->max_string, &m->message, error);
}

typedef struct
{
  const char *name;
  SpiritMessageType type;
  gboolean to_agent;
  gboolean to_host;
  gboolean job; /* needs an id ≥ 1 */
} SpiritTypeRule;

static const SpiritTypeRule spirit_type_rules[] = {
  { "hello", SPIRIT_MSG_HELLO, TRUE, TRUE, FALSE },
  { "ping", SPIRIT_MSG_PING, TRUE, FALSE, FALSE },
  { "pong", SPIRIT_MSG_PONG, FALSE, TRUE, FALSE },
  { "exec", SPIRIT_MSG_EXEC, TRUE, FALSE, TRUE },
  { "kill", SPIRIT_MSG_KILL, TRUE, FALSE, TRUE },
  { "credit", SPIRIT_MSG_CREDIT, TRUE, TRUE, TRUE },
  { "started", SPIRIT_MSG_STARTED, FALSE, TRUE, TRUE },
  { "exit", SPIRIT_MSG_EXIT, FALSE, TRUE, TRUE },
  { "error", SPIRIT_MSG_ERROR, FALSE, TRUE, FALSE },
};

static const SpiritTypeRule *
find_rule (const char *name, SpiritDirection dir)
{
  for (gsize i = 0; i < G_N_ELEMENTS (spirit_type_rules); i++)
    {
      const SpiritTypeRule *r = &spirit_type_rules[i];
      if (g_str_equal (r->name, name))
        return (dir == SPIRIT_TO_AGENT ? r->to_agent : r->to_host) ? r : NULL;
    }
  return NULL;
}

static gboolean
parse_fields (
  JsonObject *o, SpiritMessage *m, SpiritDirection dir, const SpiritLimits *limits, GError **error)
{
  gint64 pid = 0;

  switch (m->type)
    {
    case SPIRIT_MSG_HELLO:
      return parse_hello (o, m, dir, limits, error);
    case SPIRIT_MSG_EXEC:
      return parse_exec (o, m, limits, error);
    case SPIRIT_MSG_KILL:
      if (!read_signal (o, FALSE, &m->signal_name, error))
        return FALSE;
      if (m->signal_name == NULL)
        m->signal_name = g_strdup ("KILL");
      return TRUE;
    case SPIRIT_MSG_CREDIT:
      return read_u32 (o, "bytes", TRUE, 1, &m->bytes, error);
    case SPIRIT_MSG_STARTED:
      if (!read_int (o, "pid", TRUE, 0, G_MAXINT64, &pid, error))
        return FALSE;
      m->pid = pid;
      return TRUE;
    case SPIRIT_MSG_EXIT:
      return parse_exit (o, m, error);
    case SPIRIT_MSG_ERROR:
      return parse_error (o, m, limits, error);
    default:
      return TRUE;
    }
}

SpiritMessage *
spirit_message_parse_json (const guint8 *payload,
                           gsize len,
                           SpiritDirection dir,
                           const SpiritLimits *limits,
                           guint32 *id_out,
                           GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (SpiritMessage) msg = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree gchar *type = NULL;
  const SpiritTypeRule *rule;
  JsonNode *root;
  JsonObject *o;
  guint32 id = 0;

  *id_out = 0;
  if (!json_precheck (payload, len, error))
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const gchar *)payload, len, &local_error))
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_MALFORMED, "bad JSON: %s",
                   local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_MALFORMED,
                           "payload is not a JSON object");
      return NULL;
    }
  o = json_node_get_object (root);

  /* The id first, so that every later error can name the request it is about. */
  if (json_object_has_member (o, "id") && !read_u32 (o, "id", TRUE, 0, &id, error))
    return NULL;
  *id_out = id;

  if (!read_string (o, "type", TRUE, 32, &type, error))
    return NULL;
  rule = find_rule (type, dir);
  if (rule == NULL)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_UNKNOWN_TYPE,
                   "no message \"%s\" towards the %s", type,
                   dir == SPIRIT_TO_AGENT ? "agent" : "host");
      return NULL;
    }
  if (rule->job && id == 0)
    {
      bad_field (error, "id", "an integer from 1 to 4294967295");
      return NULL;
    }
  if ((rule->type == SPIRIT_MSG_PING || rule->type == SPIRIT_MSG_PONG)
      && !json_object_has_member (o, "id"))
    {
      bad_field (error, "id", "present");
      return NULL;
    }
  msg = spirit_message_new (rule->type, rule->type == SPIRIT_MSG_HELLO ? 0 : id);
  if (!parse_fields (o, msg, dir, limits, error))
    return NULL;
  return g_steal_pointer (&msg);
}
