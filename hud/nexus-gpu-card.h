/* nexus-gpu-card.h: one GPU on the HUD's GPU page. */
#pragma once

#include <adwaita.h>

#include "spirit-dbus-generated.h"

G_BEGIN_DECLS

#define NEXUS_TYPE_GPU_CARD (nexus_gpu_card_get_type ())
G_DECLARE_FINAL_TYPE (NexusGpuCard, nexus_gpu_card, NEXUS, GPU_CARD, GtkWidget)

/* vms: the NexusVm model the "give to" drop-down offers. */
NexusGpuCard *nexus_gpu_card_new (SpiritDBusGpu *gpu, GListModel *vms);
SpiritDBusGpu *nexus_gpu_card_get_gpu (NexusGpuCard *self);

/* What "Give" does with the machine chosen: Passthrough(vm_name, FALSE). */
void nexus_gpu_card_give (NexusGpuCard *self, const char *vm_name);

G_END_DECLS
