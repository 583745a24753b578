/* spirit-decoder.c: bytes in, validated messages out; see spirit-decoder.h for the contract.
 *
 * Two states. In sync, the next bytes are a frame header, then exactly `length` payload bytes.
 * Hunting, the decoder keeps a window of at most one hello frame and slides it over the input
 * until the window is a hello it accepts. Both only ever take from the input the bytes the
 * current frame (or candidate) still needs, so memory stays at one frame whatever is fed in.
 */
#define G_LOG_DOMAIN "spirit-protocol"

#include "spirit-decoder.h"

#include <string.h>

#define PREFIX_LEN (sizeof SPIRIT_HELLO_PREFIX - 1)
#define HUNT_MAX (SPIRIT_FRAME_HEADER_SIZE + SPIRIT_HELLO_MAX_PAYLOAD)

struct _SpiritDecoder
{
  SpiritDirection direction;
  SpiritLimits limits;

  /* in sync */
  guint8 header[SPIRIT_FRAME_HEADER_SIZE];
  gsize header_have;
  SpiritFrameHeader frame;
  guint8 *payload;
  gsize payload_have;

  /* hunting */
  gboolean hunting;
  gchar *session;
  guint8 hunt[HUNT_MAX];
  gsize hunt_have;
  guint64 discarded;
};

SpiritDecoder *
spirit_decoder_new (SpiritDirection direction, const SpiritLimits *limits)
{
  SpiritDecoder *d = g_new0 (SpiritDecoder, 1);

  d->direction = direction;
  if (limits != NULL)
    d->limits = *limits;
  else
    spirit_limits_init_default (&d->limits);
  d->limits.max_frame = MIN (d->limits.max_frame, SPIRIT_FRAME_MAX_PAYLOAD_CAP);
  return d;
}

void
spirit_decoder_free (SpiritDecoder *d)
{
  if (d == NULL)
    return;
  g_free (d->payload);
  g_free (d->session);
  g_free (d);
}

static void
drop_partial_frame (SpiritDecoder *d)
{
  d->header_have = 0;
  d->payload_have = 0;
  g_clear_pointer (&d->payload, g_free);
}

void
spirit_decoder_resync (SpiritDecoder *d, const char *session)
{
  gchar *copy = g_strdup (session); /* session may be d->session itself */

  drop_partial_frame (d);
  g_free (d->session);
  d->session = copy;
  d->hunting = TRUE;
  d->hunt_have = 0;
}

gboolean
spirit_decoder_is_hunting (SpiritDecoder *d)
{
  return d->hunting;
}

guint64
spirit_decoder_get_discarded (SpiritDecoder *d)
{
  return d->discarded;
}

const SpiritLimits *
spirit_decoder_get_limits (SpiritDecoder *d)
{
  return &d->limits;
}

/* Moves up to `want - *have` bytes from the input into buf. TRUE when buf holds `want` bytes. */
static gboolean
take (guint8 *buf, gsize *have, gsize want, const guint8 **data, gsize *len)
{
  gsize n = MIN (want - *have, *len);

  if (n > 0)
    {
      memcpy (buf + *have, *data, n);
      *have += n;
      *data += n;
      *len -= n;
    }
  return *have == want;
}

static SpiritMessage *
message_from_frame (SpiritDecoder *d, guint8 *payload, const SpiritFrameHeader *h)
{
  g_autoptr (GError) error = NULL;
  SpiritMessage *msg;
  guint32 id = 0;

  if (h->type != SPIRIT_FRAME_JSON)
    {
      g_autoptr (GBytes) data = g_bytes_new_take (payload, h->length);
      return spirit_message_new_data (h->type, h->id, (h->flags & SPIRIT_FRAME_FLAG_EOF) != 0,
                                      data);
    }
  msg = spirit_message_parse_json (payload, h->length, d->direction, &d->limits, &id, &error);
  g_free (payload);
  if (msg != NULL)
    return msg;
  msg = spirit_message_new (SPIRIT_MSG_INVALID, id);
  msg->error = g_steal_pointer (&error);
  return msg;
}

static SpiritMessage *
next_in_sync (SpiritDecoder *d, const guint8 **data, gsize *len, GError **error)
{
  SpiritFrameHeader h;

  if (d->header_have < SPIRIT_FRAME_HEADER_SIZE)
    {
      if (!take (d->header, &d->header_have, SPIRIT_FRAME_HEADER_SIZE, data, len))
        return NULL;
      if (!spirit_frame_header_parse (d->header, d->direction, d->limits.max_frame, &d->frame,
                                      error))
        {
          /* Everything after a bad header is noise until the next hello. */
          spirit_decoder_resync (d, d->session);
          return NULL;
        }
      d->payload = g_malloc (MAX (d->frame.length, 1));
      d->payload_have = 0;
    }
  if (!take (d->payload, &d->payload_have, d->frame.length, data, len))
    return NULL;
  h = d->frame;
  d->header_have = 0;
  d->payload_have = 0;
  return message_from_frame (d, g_steal_pointer (&d->payload), &h);
}

/* How the hunt window's first `have` bytes compare with a hello frame: -1 not one, 0 maybe
 * (need more bytes), else the candidate frame's total size. */
static gssize
candidate_size (SpiritDecoder *d, const guint8 *b, gsize have)
{
  static const guint8 head[8]
    = { SPIRIT_FRAME_MAGIC0, SPIRIT_FRAME_MAGIC1, SPIRIT_FRAME_JSON, 0, 0, 0, 0, 0 };
  guint32 length;

  if (memcmp (b, head, MIN (have, sizeof head)) != 0)
    return -1;
  if (have < SPIRIT_FRAME_HEADER_SIZE)
    return 0;
  length = ((guint32)b[8] << 24) | ((guint32)b[9] << 16) | ((guint32)b[10] << 8) | b[11];
  if (length < PREFIX_LEN || length > SPIRIT_HELLO_MAX_PAYLOAD || length > d->limits.max_frame)
    return -1;
  if (memcmp (b + SPIRIT_FRAME_HEADER_SIZE, SPIRIT_HELLO_PREFIX,
              MIN (have - SPIRIT_FRAME_HEADER_SIZE, PREFIX_LEN))
      != 0)
    return -1;
  return SPIRIT_FRAME_HEADER_SIZE + length;
}

/* Drops the window's first byte and everything up to the next possible magic. */
static void
slide (SpiritDecoder *d)
{
  const guint8 *next = memchr (d->hunt + 1, SPIRIT_FRAME_MAGIC0, d->hunt_have - 1);
  gsize drop = next != NULL ? (gsize)(next - d->hunt) : d->hunt_have;

  memmove (d->hunt, d->hunt + drop, d->hunt_have - drop);
  d->hunt_have -= drop;
  d->discarded += drop;
}

/* Parses a complete candidate. Returns the message that ends the hunt, or NULL (not it). */
static SpiritMessage *
accept_candidate (SpiritDecoder *d, gsize size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritMessage) msg = NULL;
  guint32 id = 0;

  msg = spirit_message_parse_json (d->hunt + SPIRIT_FRAME_HEADER_SIZE,
                                   size - SPIRIT_FRAME_HEADER_SIZE, d->direction, &d->limits, &id,
                                   &error);
  if (msg != NULL && msg->type == SPIRIT_MSG_HELLO
      && (d->session == NULL || g_strcmp0 (msg->session, d->session) == 0))
    return g_steal_pointer (&msg);
  /* A hello in a version we do not speak still marks a frame boundary: report it. */
  if (msg == NULL
      && g_error_matches (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_UNSUPPORTED_VERSION))
    {
      msg = spirit_message_new (SPIRIT_MSG_INVALID, 0);
      msg->error = g_steal_pointer (&error);
      return g_steal_pointer (&msg);
    }
  return NULL;
}

static SpiritMessage *
next_hunting (SpiritDecoder *d, const guint8 **data, gsize *len)
{
  for (;;)
    {
      gssize size;
      gsize want;

      if (d->hunt_have == 0)
        {
          /* Skip straight to the next possible magic byte without copying. */
          const guint8 *s = memchr (*data, SPIRIT_FRAME_MAGIC0, *len);
          gsize skip = s != NULL ? (gsize)(s - *data) : *len;

          d->discarded += skip;
          *data += skip;
          *len -= skip;
          if (*len == 0)
            return NULL;
        }
      size = candidate_size (d, d->hunt, d->hunt_have);
      if (size < 0)
        {
          slide (d);
          continue;
        }
      /* Byte by byte until the header and the prefix are checked, then the whole candidate. */
      if (d->hunt_have < SPIRIT_FRAME_HEADER_SIZE + PREFIX_LEN)
        want = d->hunt_have + 1;
      else
        want = size;
      if (d->hunt_have < want)
        {
          if (*len == 0)
            return NULL;
          take (d->hunt, &d->hunt_have, want, data, len);
          continue;
        }
      {
        SpiritMessage *msg = accept_candidate (d, size);
        if (msg != NULL)
          {
            d->hunting = FALSE;
            d->hunt_have = 0;
            return msg;
          }
      }
      slide (d);
    }
}

SpiritMessage *
spirit_decoder_next (SpiritDecoder *d, const guint8 **data, gsize *len, GError **error)
{
  g_return_val_if_fail (d != NULL && data != NULL && len != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  while (*len > 0 || d->hunt_have > 0)
    {
      SpiritMessage *msg;

      if (d->hunting)
        {
          msg = next_hunting (d, data, len);
          if (msg != NULL || d->hunting)
            return msg;
          continue;
        }
      if (*len == 0)
        return NULL;
      msg = next_in_sync (d, data, len, error);
      if (msg != NULL || (error != NULL && *error != NULL) || *len == 0)
        return msg;
    }
  return NULL;
}
