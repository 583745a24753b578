/* spirit-message.h: the messages of the spirit.0 protocol as one plain C struct.
 *
 * The decoder (spirit-decoder.h) produces SpiritMessages that are already validated: every field
 * a type requires is there, in range, within the limits. spirit_message_encode() turns one back
 * into a frame. Fields that a type does not use are zero/NULL; the table below says which.
 *
 *   type      direction  fields
 *   HELLO     both       protocol, session, software; to host also os, kernel, hostname,
 *                        capabilities, limits
 *   PING/PONG h→a / a→h  id (a ping number of the host's choosing, echoed; 0 allowed)
 *   EXEC      h→a        id, argv or shell, cwd, env, clear_env, stdin, timeout_ms, window
 *   KILL      h→a        id, signal_name
 *   CREDIT    both       id, bytes (h→a: more stdout+stderr window; a→h: more stdin window)
 *   STARTED   a→h        id, pid
 *   EXIT      a→h        id, exit_code or signal_name (+ signal_number, core_dumped), timed_out
 *   ERROR     a→h        id (0: the session), error_code, error_nick, message
 *   DATA      both       id, stream (STDIN h→a; STDOUT/STDERR a→h), eof, data
 *   INVALID   (decoder)  a frame that was well-formed but whose message was not: id if known,
 *                        error. The stream goes on; reply with an ERROR for that id.
 */
#pragma once

#include "spirit-protocol.h"
#include "spirit-frame.h"

G_BEGIN_DECLS

typedef enum
{
  SPIRIT_MSG_INVALID = 0,
  SPIRIT_MSG_HELLO,
  SPIRIT_MSG_PING,
  SPIRIT_MSG_PONG,
  SPIRIT_MSG_EXEC,
  SPIRIT_MSG_KILL,
  SPIRIT_MSG_CREDIT,
  SPIRIT_MSG_STARTED,
  SPIRIT_MSG_EXIT,
  SPIRIT_MSG_ERROR,
  SPIRIT_MSG_DATA,
} SpiritMessageType;

typedef struct
{
  SpiritMessageType type;
  guint32 id;

  /* HELLO */
  guint32 protocol;
  gchar *session;
  gchar *software; /* "client" (h→a) or "agent" (a→h) on the wire */
  gchar *os;
  gchar *kernel;
  gchar *hostname;
  gchar **capabilities;
  SpiritLimits limits;

  /* EXEC */
  gchar **argv; /* exactly one of argv and shell */
  gchar *shell;
  gchar *cwd;
  gchar **env; /* KEY=VALUE, applied over the agent's environment (or an empty one: clear_env) */
  gboolean clear_env;
  gboolean stdin_pipe; /* "stdin": true; otherwise the command reads /dev/null (NUL on Windows) */
  guint32 timeout_ms;  /* 0: none */
  guint32 window; /* stdout+stderr bytes the host accepts before it sends CREDIT; 0: unbounded */

  /* KILL, EXIT */
  gchar *signal_name;
  gint32 signal_number;
  gboolean core_dumped;
  gint64 exit_code; /* EXIT: valid when signal_name is NULL */
  gboolean timed_out;

  /* CREDIT */
  guint32 bytes;

  /* STARTED */
  gint64 pid;

  /* ERROR */
  SpiritProtocolError error_code;
  gchar *error_nick; /* as received: a newer peer's code maps to FAILED but keeps its name */
  gchar *message;

  /* DATA */
  SpiritFrameType stream;
  gboolean eof;
  GBytes *data;

  /* INVALID */
  GError *error;
} SpiritMessage;

SpiritMessage *spirit_message_new (SpiritMessageType type, guint32 id);
void spirit_message_free (SpiritMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritMessage, spirit_message_free)

const char *spirit_message_type_to_string (SpiritMessageType type);

/* Convenience constructors for the common messages; all fields can also be set directly. */
SpiritMessage *spirit_message_new_error (guint32 id, SpiritProtocolError code, const char *message);
SpiritMessage *
spirit_message_new_data (SpiritFrameType stream, guint32 id, gboolean eof, GBytes *data);

/* One complete frame. Fails (SPIRIT_PROTOCOL_ERROR_INVALID) on a message its own decoder would
 * reject for structural reasons (missing fields, argv and shell together, id 0 on a job message);
 * size limits are the receiver's to enforce. */
GBytes *spirit_message_encode (const SpiritMessage *msg, GError **error);

/* Field-by-field equality (for tests and the fuzzer's round-trip check). */
gboolean spirit_message_equal (const SpiritMessage *a, const SpiritMessage *b);

/* Parses and validates one JSON payload received in `direction`. Returns NULL with a
 * non-fatal error (MALFORMED, INVALID, UNKNOWN_TYPE, LIMIT, UNSUPPORTED_VERSION); *id_out is the
 * message's id when one could be read, else 0. Used by the decoder. */
SpiritMessage *spirit_message_parse_json (const guint8 *payload,
                                          gsize len,
                                          SpiritDirection direction,
                                          const SpiritLimits *limits,
                                          guint32 *id_out,
                                          GError **error);

G_END_DECLS
