/* spirit-gpu-object.h: one GPU on the bus, as an org.crom.Spirit.GPU object.
 *
 * Keeps the properties equal to sysfs (discovered again on udev events and at every step of a
 * swap) and runs Passthrough and Reclaim: authorize → check → SpiritGpuRun on a thread →
 * publish → reply. It takes the GPU back by itself when its VM stops or crashes.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-auth.h"
#include "spirit-gpu-discovery.h"
#include "spirit-gpu-run.h"
#include "spirit-vm.h"

G_BEGIN_DECLS

/* Finds a VM by "name", "UUID" or "HOST/NAME" (SpiritManager's lookup). */
typedef SpiritVm *(*SpiritGpuVmLookup) (gpointer user_data, const char *name, GError **error);

/* What every GPU object shares; owned by SpiritGpuService, which outlives its objects. */
typedef struct
{
  SpiritAuth *auth;
  SpiritGpuRunConfig *config;
  SpiritGpuVmLookup lookup;
  gpointer lookup_data;
} SpiritGpuContext;

#define SPIRIT_TYPE_GPU_OBJECT (spirit_gpu_object_get_type ())
G_DECLARE_FINAL_TYPE (SpiritGpuObject, spirit_gpu_object, SPIRIT, GPU_OBJECT, GObject)

SpiritGpuObject *spirit_gpu_object_new (const SpiritGpuContext *context, SpiritGpu *gpu);

GDBusInterfaceSkeleton *spirit_gpu_object_get_skeleton (SpiritGpuObject *self);
const char *spirit_gpu_object_get_object_path (SpiritGpuObject *self);
const char *spirit_gpu_object_get_address (SpiritGpuObject *self);
/* Reads sysfs again and publishes what changed. */
void spirit_gpu_object_refresh (SpiritGpuObject *self);
/* A journal left by a previous spiritd: adopt the VM that still holds the GPU, or take the GPU
 * back. libvirt_ready: the VM can be looked up now (else only journals that need no libvirt
 * are repaired, and the rest waits for spirit_gpu_object_recover_pending()). */
void spirit_gpu_object_recover (SpiritGpuObject *self, SpiritGpuRun *run, gboolean libvirt_ready);
void spirit_gpu_object_recover_pending (SpiritGpuObject *self);

/* Whether a swap runs on its thread now. */
gboolean spirit_gpu_object_is_busy (SpiritGpuObject *self);

char *spirit_gpu_object_path_for (const char *address);

G_END_DECLS
