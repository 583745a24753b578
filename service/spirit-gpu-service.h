/* spirit-gpu-service.h: the host's GPUs on the bus, below /org/crom/Spirit/gpu/.
 *
 * Discovers the GPUs at start, exports one org.crom.Spirit.GPU object each through the shared
 * object tree (so GetManagedObjects lists them), follows udev events, and repairs what the
 * journals in the state directory say a previous spiritd left half done.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-gpu-object.h"
#include "spirit-object-tree.h"

G_BEGIN_DECLS

#define SPIRIT_TYPE_GPU_SERVICE (spirit_gpu_service_get_type ())
G_DECLARE_FINAL_TYPE (SpiritGpuService, spirit_gpu_service, SPIRIT, GPU_SERVICE, GObject)

/* The test knobs (SPIRIT_SYSFS_ROOT, SPIRIT_STATE_DIR, …) are dropped from the environment unless
 * allowed: spiritd allows them with --session only. Call before anything reads sysfs. */
void spirit_gpu_service_apply_test_knobs (gboolean allow);

SpiritGpuService *spirit_gpu_service_new (SpiritObjectTree *tree,
                                          SpiritAuth *auth,
                                          SpiritGpuVmLookup lookup,
                                          gpointer lookup_data);
/* Discovers, exports, and repairs journals that need no libvirt. */
void spirit_gpu_service_start (SpiritGpuService *self);
/* libvirt is connected: repairs the journals that needed it. Called again, does nothing. */
void spirit_gpu_service_libvirt_ready (SpiritGpuService *self);

G_END_DECLS
