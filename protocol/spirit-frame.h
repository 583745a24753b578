/* spirit-frame.h: the 12-byte frame header of the spirit.0 protocol, and data frames.
 *
 *   0-1  magic "SP"       4-7   id (data frames: the job; JSON frames: 0)
 *   2    type             8-11  payload length
 *   3    flags (EOF)      all integers big-endian
 *
 * Bulk data (stdin/stdout/stderr) travels raw in data frames, never base64 inside JSON.
 */
#pragma once

#include "spirit-protocol.h"

G_BEGIN_DECLS

typedef struct
{
  SpiritFrameType type;
  guint8 flags;
  guint32 id;
  guint32 length;
} SpiritFrameHeader;

/* Writes a header into out. Does not validate: encoders below do. */
void spirit_frame_header_write (guint8 out[SPIRIT_FRAME_HEADER_SIZE],
                                SpiritFrameType type,
                                guint8 flags,
                                guint32 id,
                                guint32 length);

/* Reads and validates a header received in `direction`, with a payload limit of max_frame.
 * Every failure is fatal to the stream (SPIRIT_PROTOCOL_ERROR_BAD_FRAME or _FRAME_TOO_LARGE). */
gboolean spirit_frame_header_parse (const guint8 in[SPIRIT_FRAME_HEADER_SIZE],
                                    SpiritDirection direction,
                                    guint32 max_frame,
                                    SpiritFrameHeader *out,
                                    GError **error);

/* TRUE for the three data frame types. */
gboolean spirit_frame_type_is_data (SpiritFrameType type);

/* A complete data frame (header + a copy of data). len must be ≤ the peer's max_frame; a zero
 * length is only allowed with eof. */
GBytes *spirit_frame_encode_data (
  SpiritFrameType type, guint32 id, gboolean eof, const void *data, gsize len);

/* A complete JSON frame around an already serialized payload. */
GBytes *spirit_frame_encode_json (const char *json, gsize len);

G_END_DECLS
