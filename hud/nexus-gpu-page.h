/* nexus-gpu-page.h: the GPU page of the HUD, the place of the GPU hand-off. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define NEXUS_TYPE_GPU_PAGE (nexus_gpu_page_get_type ())
G_DECLARE_FINAL_TYPE (NexusGpuPage, nexus_gpu_page, NEXUS, GPU_PAGE, AdwBin)

G_END_DECLS
