/* nexus-gpu-page.h: the GPU page of the HUD: a card per GPU of the service. */
#pragma once

#include <adwaita.h>

#include "nexus-client.h"
#include "nexus-gpu-card.h"

G_BEGIN_DECLS

#define NEXUS_TYPE_GPU_PAGE (nexus_gpu_page_get_type ())
G_DECLARE_FINAL_TYPE (NexusGpuPage, nexus_gpu_page, NEXUS, GPU_PAGE, AdwBin)

void nexus_gpu_page_set_client (NexusGpuPage *self, NexusClient *client);
NexusGpuCard *nexus_gpu_page_find_card (NexusGpuPage *self, const char *address);

G_END_DECLS
