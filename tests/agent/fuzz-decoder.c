/* fuzz-decoder.c: libFuzzer target for libspirit_protocol's decoder, both directions.
 *
 * The first input byte picks the direction, whether to start hunting, and the chunk size the
 * rest is fed in (so frame boundaries fall everywhere). Besides "no crash, no leak, no UB"
 * (ASan/UBSan), every message the decoder accepts must survive encode → decode unchanged, and
 * the decoder must consume all input or report an error.
 * Built with clang -fsanitize=fuzzer by tests/agent/meson.build; run by run-fuzz.sh.
 */
#define G_LOG_DOMAIN "fuzz-decoder"

#include "spirit-decoder.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_round_trip (const SpiritMessage *msg, SpiritDirection dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = NULL;
  g_autoptr (SpiritDecoder) d = NULL;
  g_autoptr (SpiritMessage) again = NULL;
  const guint8 *p;
  gsize n;

  if (msg->type == SPIRIT_MSG_INVALID)
    return;
  frame = spirit_message_encode (msg, &error);
  if (frame == NULL)
    g_error ("a decoded %s message does not encode: %s", spirit_message_type_to_string (msg->type),
             error->message);
  d = spirit_decoder_new (dir, NULL);
  p = g_bytes_get_data (frame, &n);
  again = spirit_decoder_next (d, &p, &n, &error);
  if (again == NULL || n != 0)
    g_error ("a re-encoded %s message does not decode: %s",
             spirit_message_type_to_string (msg->type), error ? error->message : "incomplete");
  if (again->type == SPIRIT_MSG_INVALID)
    g_error ("a re-encoded %s message is invalid: %s", spirit_message_type_to_string (msg->type),
             again->error->message);
  if (!spirit_message_equal (msg, again))
    g_error ("a %s message changed in a round trip", spirit_message_type_to_string (msg->type));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  SpiritDirection dir;
  g_autoptr (SpiritDecoder) d = NULL;
  gsize chunk;
  SpiritLimits limits;

  if (size < 1)
    return 0;
  dir = (data[0] & 1) ? SPIRIT_TO_HOST : SPIRIT_TO_AGENT;
  chunk = 1 + ((data[0] >> 2) & 0x1f) * 61;
  spirit_limits_init_default (&limits);
  limits.max_frame = 64 * 1024; /* the same code paths, smaller allocations */
  d = spirit_decoder_new (dir, &limits);
  if (data[0] & 2)
    spirit_decoder_resync (d, (data[0] & 0x80) ? "fuzz" : NULL);
  data++;
  size--;

  while (size > 0)
    {
      const guint8 *p = data;
      gsize n = MIN (chunk, size);
      gsize fed = n;

      for (;;)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (SpiritMessage) msg = spirit_decoder_next (d, &p, &n, &error);

          if (msg != NULL)
            {
              check_round_trip (msg, dir);
              continue;
            }
          if (error != NULL)
            {
              if (!spirit_protocol_error_is_fatal (error->code) || !spirit_decoder_is_hunting (d))
                g_error ("a fatal decoder error left the decoder in sync: %s", error->message);
              continue;
            }
          if (n != 0)
            g_error ("decoder stopped with %zu bytes unconsumed", n);
          break;
        }
      data += fed;
      size -= fed;
    }
  return 0;
}
