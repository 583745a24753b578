/* spirit-frame.c: encoding and strict validation of frame headers.
 *
 * A header that is wrong in any way (magic, type, a flag or id that its type does not have, a
 * length over the limit) means the byte stream can no longer be trusted to be at a frame boundary,
 * so these errors are fatal: the receiver resynchronises on the next hello.
 */
#define G_LOG_DOMAIN "spirit-protocol"

#include "spirit-frame.h"

#include <string.h>

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

void
spirit_frame_header_write (guint8 out[SPIRIT_FRAME_HEADER_SIZE],
                           SpiritFrameType type,
                           guint8 flags,
                           guint32 id,
                           guint32 length)
{
  out[0] = SPIRIT_FRAME_MAGIC0;
  out[1] = SPIRIT_FRAME_MAGIC1;
  out[2] = type;
  out[3] = flags;
  put_be32 (out + 4, id);
  put_be32 (out + 8, length);
}

gboolean
spirit_frame_type_is_data (SpiritFrameType type)
{
  return type == SPIRIT_FRAME_STDIN || type == SPIRIT_FRAME_STDOUT || type == SPIRIT_FRAME_STDERR;
}

static gboolean
type_allowed (guint8 type, SpiritDirection direction)
{
  switch (type)
    {
    case SPIRIT_FRAME_JSON:
      return TRUE;
    case SPIRIT_FRAME_STDIN:
      return direction == SPIRIT_TO_AGENT;
    case SPIRIT_FRAME_STDOUT:
    case SPIRIT_FRAME_STDERR:
      return direction == SPIRIT_TO_HOST;
    default:
      return FALSE;
    }
}

gboolean
spirit_frame_header_parse (const guint8 in[SPIRIT_FRAME_HEADER_SIZE],
                           SpiritDirection direction,
                           guint32 max_frame,
                           SpiritFrameHeader *out,
                           GError **error)
{
  SpiritFrameHeader h;

  if (in[0] != SPIRIT_FRAME_MAGIC0 || in[1] != SPIRIT_FRAME_MAGIC1)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_BAD_FRAME,
                   "bad frame magic 0x%02x%02x", in[0], in[1]);
      return FALSE;
    }
  h.type = in[2];
  h.flags = in[3];
  h.id = get_be32 (in + 4);
  h.length = get_be32 (in + 8);

  if (!type_allowed (in[2], direction))
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_BAD_FRAME,
                   "frame type 0x%02x is not allowed towards the %s", in[2],
                   direction == SPIRIT_TO_AGENT ? "agent" : "host");
      return FALSE;
    }
  if (h.type == SPIRIT_FRAME_JSON)
    {
      if (h.flags != 0 || h.id != 0 || h.length == 0)
        {
          g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_BAD_FRAME,
                       "JSON frame with flags 0x%02x, id %u, length %u (want 0, 0, >0)", h.flags,
                       h.id, h.length);
          return FALSE;
        }
    }
  else if ((h.flags & ~SPIRIT_FRAME_FLAG_EOF) != 0 || h.id == 0
           || (h.length == 0 && !(h.flags & SPIRIT_FRAME_FLAG_EOF)))
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_BAD_FRAME,
                   "data frame with flags 0x%02x, id %u, length %u", h.flags, h.id, h.length);
      return FALSE;
    }
  if (h.length > max_frame)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_FRAME_TOO_LARGE,
                   "frame of %u bytes is over the limit of %u", h.length, max_frame);
      return FALSE;
    }
  *out = h;
  return TRUE;
}

GBytes *
spirit_frame_encode_data (
  SpiritFrameType type, guint32 id, gboolean eof, const void *data, gsize len)
{
  guint8 *buf;

  g_return_val_if_fail (spirit_frame_type_is_data (type), NULL);
  g_return_val_if_fail (id != 0, NULL);
  g_return_val_if_fail (len <= SPIRIT_FRAME_MAX_PAYLOAD_CAP, NULL);
  g_return_val_if_fail (len > 0 || eof, NULL);

  buf = g_malloc (SPIRIT_FRAME_HEADER_SIZE + len);
  spirit_frame_header_write (buf, type, eof ? SPIRIT_FRAME_FLAG_EOF : 0, id, len);
  if (len > 0)
    memcpy (buf + SPIRIT_FRAME_HEADER_SIZE, data, len);
  return g_bytes_new_take (buf, SPIRIT_FRAME_HEADER_SIZE + len);
}

GBytes *
spirit_frame_encode_json (const char *json, gsize len)
{
  guint8 *buf;

  g_return_val_if_fail (len > 0 && len <= SPIRIT_FRAME_MAX_PAYLOAD_CAP, NULL);

  buf = g_malloc (SPIRIT_FRAME_HEADER_SIZE + len);
  spirit_frame_header_write (buf, SPIRIT_FRAME_JSON, 0, 0, len);
  memcpy (buf + SPIRIT_FRAME_HEADER_SIZE, json, len);
  return g_bytes_new_take (buf, SPIRIT_FRAME_HEADER_SIZE + len);
}
