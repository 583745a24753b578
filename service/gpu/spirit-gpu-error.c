/* spirit-gpu-error.c: the SPIRIT_GPU_ERROR quark. */
#define G_LOG_DOMAIN "spirit-gpu-error"

#include "spirit-gpu-error.h"

GQuark
spirit_gpu_error_quark (void)
{
  return g_quark_from_static_string ("spirit-gpu-error-quark");
}
