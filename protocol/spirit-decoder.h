/* spirit-decoder.h: an incremental, bounded decoder of one direction of the spirit.0 stream.
 *
 * Feed it whatever bytes arrived, in any chunking; take out complete, validated messages:
 *
 *   const guint8 *p = buf; gsize n = len;
 *   while ((msg = spirit_decoder_next (dec, &p, &n, &error)) != NULL)
 *     handle (msg);                       // INVALID messages too: reply with an ERROR
 *   if (error != NULL)
 *     fatal (error);                      // framing lost: reset the session
 *   // n == 0 here: every byte was consumed, read more
 *
 * It never holds more than one frame (header + max_frame bytes) and never reads past the frame
 * it is completing, so it is safe to call from a GLib main loop callback on every read.
 *
 * Resynchronisation. After spirit_decoder_resync(), and after any fatal error, the decoder
 * discards bytes until it finds a hello frame (header + payload starting with
 * SPIRIT_HELLO_PREFIX, at most SPIRIT_HELLO_MAX_PAYLOAD bytes) that parses as a hello with the
 * expected session (any session when NULL). The agent hunts with NULL on every new connection;
 * the host hunts with the nonce it just sent, which skips whatever a previous session left in
 * the channel.
 */
#pragma once

#include "spirit-message.h"

G_BEGIN_DECLS

typedef struct _SpiritDecoder SpiritDecoder;

/* Decodes messages sent towards `direction`'s receiver with the given limits (NULL: defaults).
 * It starts in sync (expecting a frame boundary); call resync() to start by hunting instead. */
SpiritDecoder *spirit_decoder_new (SpiritDirection direction, const SpiritLimits *limits);
void spirit_decoder_free (SpiritDecoder *decoder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritDecoder, spirit_decoder_free)

/* Returns the next complete message, consuming bytes from *data and *len; NULL when all input was
 * consumed (need more) or on a fatal error (error set; the decoder is then hunting). */
SpiritMessage *
spirit_decoder_next (SpiritDecoder *decoder, const guint8 **data, gsize *len, GError **error);

/* Drops any partial frame and hunts for a hello with this session (NULL: any). */
void spirit_decoder_resync (SpiritDecoder *decoder, const char *session);

gboolean spirit_decoder_is_hunting (SpiritDecoder *decoder);
/* Bytes thrown away while hunting, since the decoder was created (for logs and tests). */
guint64 spirit_decoder_get_discarded (SpiritDecoder *decoder);
const SpiritLimits *spirit_decoder_get_limits (SpiritDecoder *decoder);

G_END_DECLS
