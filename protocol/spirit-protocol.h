/* spirit-protocol.h: the constants, limits and error codes of the spirit.0 agent protocol.
 *
 * The wire format is specified in docs/agent-protocol.md; this header is its C mirror. The codec
 * (libspirit_protocol) is shared by spirit-agent (guest side) and spiritd (host side), so both
 * ends agree on every limit and every error name by construction. No D-Bus, no I/O here.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The protocol's major version, exchanged in hello. A peer that does not speak it refuses. */
#define SPIRIT_PROTOCOL_VERSION 1

/* Frames: a 12-byte header (magic "SP", type, flags, id, length; big-endian) and a payload. */
#define SPIRIT_FRAME_HEADER_SIZE 12
#define SPIRIT_FRAME_MAGIC0 0x53 /* 'S' */
#define SPIRIT_FRAME_MAGIC1 0x50 /* 'P' */
#define SPIRIT_FRAME_FLAG_EOF 0x01

/* The default and the largest allowed frame payload. A peer may lower the limit, never raise it
 * past the cap. */
#define SPIRIT_FRAME_MAX_PAYLOAD_DEFAULT (1024 * 1024)
#define SPIRIT_FRAME_MAX_PAYLOAD_CAP (16 * 1024 * 1024)

/* A hello frame is small, and its payload starts with these bytes: that is what lets a receiver
 * that lost the frame boundaries (a reconnect in the middle of a frame) find the next session. */
#define SPIRIT_HELLO_MAX_PAYLOAD 4096
#define SPIRIT_HELLO_PREFIX "{\"type\":\"hello\""

/* JSON control messages may nest at most this deep (json-glib's parser recurses). */
#define SPIRIT_JSON_MAX_DEPTH 8

typedef enum
{
  SPIRIT_FRAME_JSON = 0x01,
  SPIRIT_FRAME_STDIN = 0x10,
  SPIRIT_FRAME_STDOUT = 0x11,
  SPIRIT_FRAME_STDERR = 0x12,
} SpiritFrameType;

/* Which way a byte stream flows, i.e. whose messages a decoder accepts. */
typedef enum
{
  SPIRIT_TO_AGENT, /* host → agent: hello, ping, exec, kill, credit, stdin data */
  SPIRIT_TO_HOST, /* agent → host: hello, pong, started, exit, error, credit, stdout/stderr data */
} SpiritDirection;

/* Every limit that bounds memory on either side. Advertised by the agent in its hello. */
typedef struct
{
  guint32 max_frame;      /* payload bytes of one frame */
  guint32 max_jobs;       /* concurrent execs per session */
  guint32 max_argv_count; /* argv entries (a shell line counts as one) */
  guint32 max_argv_bytes; /* sum of argv (or the shell line) in bytes */
  guint32 max_env_count;  /* env entries */
  guint32 max_env_bytes;  /* sum of KEY=VALUE bytes */
  guint32 max_string;     /* cwd, session, names, messages */
  guint32 stdin_window;   /* stdin bytes the agent accepts per job before it grants credit */
} SpiritLimits;

void spirit_limits_init_default (SpiritLimits *limits);

/* The error domain. The wire carries the nick (e.g. "bad-frame"); each code says whether it ends
 * the session (framing is lost) or concerns one message or one job only. */
#define SPIRIT_PROTOCOL_ERROR (spirit_protocol_error_quark ())
GQuark spirit_protocol_error_quark (void);

typedef enum
{
  SPIRIT_PROTOCOL_ERROR_FAILED,          /* anything else; also unknown names from a newer peer */
  SPIRIT_PROTOCOL_ERROR_BAD_FRAME,       /* fatal: header is not a Spirit frame */
  SPIRIT_PROTOCOL_ERROR_FRAME_TOO_LARGE, /* fatal: length above max_frame */
  SPIRIT_PROTOCOL_ERROR_MALFORMED,       /* payload is not a UTF-8 JSON object within limits */
  SPIRIT_PROTOCOL_ERROR_INVALID,         /* a field is missing or has the wrong type/range */
  SPIRIT_PROTOCOL_ERROR_UNKNOWN_TYPE,    /* a message type this direction does not have */
  SPIRIT_PROTOCOL_ERROR_UNSUPPORTED_VERSION, /* hello with a protocol we do not speak */
  SPIRIT_PROTOCOL_ERROR_LIMIT,               /* argv/env/string above the advertised limits */
  SPIRIT_PROTOCOL_ERROR_NOT_READY,           /* a request before hello */
  SPIRIT_PROTOCOL_ERROR_TOO_MANY_JOBS,
  SPIRIT_PROTOCOL_ERROR_DUPLICATE_ID,
  SPIRIT_PROTOCOL_ERROR_UNKNOWN_ID,
  SPIRIT_PROTOCOL_ERROR_SPAWN_FAILED,
  SPIRIT_PROTOCOL_ERROR_CREDIT_EXCEEDED, /* more stdin than the window allowed */
} SpiritProtocolError;

const char *spirit_protocol_error_to_nick (SpiritProtocolError code);
SpiritProtocolError spirit_protocol_error_from_nick (const char *nick);
gboolean spirit_protocol_error_is_fatal (SpiritProtocolError code);

/* Signals travel by name ("KILL", "TERM", …), so that Linux and Windows agents agree. */
gboolean spirit_signal_name_is_valid (const char *name);
/* The Linux number of a signal name, or 0 if it is not one of the protocol's names. */
int spirit_signal_number_from_name (const char *name);
/* The protocol name of a Linux signal number, or NULL. */
const char *spirit_signal_name_from_number (int number);

G_END_DECLS
