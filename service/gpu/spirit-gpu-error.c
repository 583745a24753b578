/* spirit-gpu-error.c: the SPIRIT_GPU_ERROR quark. */
#define G_LOG_DOMAIN "spirit-gpu-error"

#include "spirit-gpu-error.h"

G_DEFINE_QUARK (spirit-gpu-error-quark, spirit_gpu_error)
