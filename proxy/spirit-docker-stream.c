/* spirit-docker-stream.c: the demuxer of the engine's multiplexed stream (8-byte headers). */
#define G_LOG_DOMAIN "spirit-docker-stream"

#include "spirit-docker-stream.h"

#include "spirit-error.h"

#include <string.h>

void
spirit_docker_demux_init (SpiritDockerDemux *demux)
{
  memset (demux, 0, sizeof *demux);
}

static gboolean
parse_header (SpiritDockerDemux *demux, GError **error)
{
  const guint8 *h = demux->header;

  if (h[0] > SPIRIT_DOCKER_STREAM_STDERR || h[1] != 0 || h[2] != 0 || h[3] != 0)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "the engine's exec stream is not multiplexed (a frame header starts with "
                   "%02x %02x %02x %02x)",
                   h[0], h[1], h[2], h[3]);
      return FALSE;
    }
  demux->stream = (SpiritDockerStream)h[0];
  demux->remaining = (guint32)h[4] << 24 | (guint32)h[5] << 16 | (guint32)h[6] << 8 | h[7];
  demux->header_len = 0;
  return TRUE;
}

gsize
spirit_docker_demux_feed (SpiritDockerDemux *demux,
                          const guint8 *data,
                          gsize len,
                          SpiritDockerStream *out_stream,
                          const guint8 **out_piece,
                          gsize *out_piece_len,
                          GError **error)
{
  gsize used = 0;

  *out_piece = NULL;
  *out_piece_len = 0;
  while (used < len && demux->remaining == 0)
    {
      gsize n = MIN (sizeof demux->header - demux->header_len, len - used);

      memcpy (demux->header + demux->header_len, data + used, n);
      demux->header_len += (guint)n;
      used += n;
      if (demux->header_len == sizeof demux->header && !parse_header (demux, error))
        return 0;
    }
  if (used < len && demux->remaining > 0)
    {
      gsize n = MIN ((gsize)demux->remaining, len - used);

      *out_stream = demux->stream;
      *out_piece = data + used;
      *out_piece_len = n;
      demux->remaining -= (guint32)n;
      used += n;
    }
  return used;
}

gboolean
spirit_docker_demux_finish (SpiritDockerDemux *demux, GError **error)
{
  if (demux->header_len == 0 && demux->remaining == 0)
    return TRUE;
  g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
               "the engine's exec stream ended inside a frame (%u header bytes, %u payload bytes "
               "missing)",
               demux->header_len, demux->remaining);
  return FALSE;
}
