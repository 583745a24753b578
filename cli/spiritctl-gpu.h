/* spiritctl-gpu.h: the "gpu" command family of spiritctl (single-GPU passthrough). */
#pragma once

#include "spiritctl-client.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean force;  /* gpu passthrough/reclaim --force */
  const char *gpu; /* --gpu ADDRESS: which GPU, when the host has several */
} SpiritctlGpuOptions;

int spiritctl_gpu_command (SpiritctlClient *client,
                           const SpiritctlGpuOptions *options,
                           int argc,
                           char **argv);

G_END_DECLS
