/* spirit-docker-stream.h: the Docker engine's multiplexed stdout/stderr stream, taken apart.
 *
 * Without a TTY, an exec's output arrives as frames: an 8-byte header (stream type: 0 stdin,
 * 1 stdout, 2 stderr; three zero bytes; payload size, 32-bit big-endian) and the payload. The
 * demuxer is a state machine over whatever chunks the socket gives: a header or a payload may be
 * cut anywhere, and payload pieces are handed out as they arrive, so nothing waits for a whole
 * frame and no frame is ever buffered.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SPIRIT_DOCKER_STREAM_STDIN = 0, /* written on stdout, as the engine documents */
  SPIRIT_DOCKER_STREAM_STDOUT = 1,
  SPIRIT_DOCKER_STREAM_STDERR = 2,
} SpiritDockerStream;

typedef struct
{
  guint8 header[8];
  guint header_len;
  guint32 remaining; /* payload bytes still to come in the current frame */
  SpiritDockerStream stream;
} SpiritDockerDemux;

void spirit_docker_demux_init (SpiritDockerDemux *demux);

/* Consumes a prefix of data and returns its length. When that prefix ends with payload bytes,
 * *out_piece and *out_piece_len point at them (inside data) and *out_stream names their stream;
 * otherwise *out_piece_len is 0. Returns 0 with an error for a header that is not a frame's. */
gsize spirit_docker_demux_feed (SpiritDockerDemux *demux,
                                const guint8 *data,
                                gsize len,
                                SpiritDockerStream *out_stream,
                                const guint8 **out_piece,
                                gsize *out_piece_len,
                                GError **error);

/* At the end of the stream: FALSE with an error if it stopped inside a frame. */
gboolean spirit_docker_demux_finish (SpiritDockerDemux *demux, GError **error);

G_END_DECLS
