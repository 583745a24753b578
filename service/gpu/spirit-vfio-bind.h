/* spirit-vfio-bind.h: moving a GPU's functions between their host drivers and vfio-pci.
 *
 * Two levels:
 *   - the steps, each one write to sysfs followed by a wait for the kernel's real state with a
 *     deadline (spirit_vfio_unbind(), spirit_vfio_probe(), …), usable on their own;
 *   - SpiritVfioSwap, which runs them in order for every function of the GPU, rolls back to the
 *     host drivers when any step fails, and can be written to a journal and read back after a
 *     crash (spirit_vfio_swap_to_journal(), spirit_vfio_swap_new_from_journal()).
 *
 * Everything here blocks: call it on a worker thread (the _async variants do that), never on
 * spiritd's main loop. A SpiritVfioSwap is used by one thread at a time.
 */
#pragma once

#include "spirit-gpu-discovery.h"

G_BEGIN_DECLS

#define SPIRIT_VFIO_DRIVER "vfio-pci"
#define SPIRIT_VFIO_DEFAULT_TIMEOUT_MS 5000

typedef enum
{
  SPIRIT_VFIO_STEP_NONE,
  /* towards vfio-pci */
  SPIRIT_VFIO_STEP_CHECK,        /* IOMMU on, group viable, vfio-pci loaded */
  SPIRIT_VFIO_STEP_HOLDERS,      /* no process holds the GPU's device nodes (or they are ended) */
  SPIRIT_VFIO_STEP_VTCONSOLES,   /* fbcon unbound */
  SPIRIT_VFIO_STEP_FRAMEBUFFERS, /* firmware framebuffers unbound (boot GPU) */
  SPIRIT_VFIO_STEP_OVERRIDE,     /* driver_override = vfio-pci */
  SPIRIT_VFIO_STEP_UNBIND,       /* unbound from the host driver */
  SPIRIT_VFIO_STEP_PROBE,        /* drivers_probe, bound to vfio-pci */
  SPIRIT_VFIO_STEP_VFIO_NODE,    /* /dev/vfio/GROUP exists */
  /* back to the host */
  SPIRIT_VFIO_STEP_VFIO_HOLDERS,       /* no process (QEMU) holds /dev/vfio/GROUP */
  SPIRIT_VFIO_STEP_CLEAR_OVERRIDE,     /* driver_override cleared */
  SPIRIT_VFIO_STEP_UNBIND_VFIO,        /* unbound from vfio-pci */
  SPIRIT_VFIO_STEP_PROBE_HOST,         /* bound to the host driver */
  SPIRIT_VFIO_STEP_HOST_NODES,         /* the host driver's device nodes exist */
  SPIRIT_VFIO_STEP_RESTORE_VTCONSOLES, /* fbcon bound again */
} SpiritVfioStep;

typedef enum
{
  SPIRIT_VFIO_PHASE_HOST,    /* on the host drivers (or never touched) */
  SPIRIT_VFIO_PHASE_TO_VFIO, /* on the way to vfio-pci: a crash here needs to_host() */
  SPIRIT_VFIO_PHASE_VFIO,    /* every function on vfio-pci, /dev/vfio/GROUP exists */
  SPIRIT_VFIO_PHASE_TO_HOST, /* on the way back, or a failed way back: run to_host() again */
} SpiritVfioPhase;

typedef enum
{
  SPIRIT_VFIO_FLAGS_NONE = 0,
  SPIRIT_VFIO_FLAGS_FORCE = 1 << 0, /* end processes holding the nodes instead of refusing */
} SpiritVfioFlags;

const char *spirit_vfio_step_to_string (SpiritVfioStep step);
const char *spirit_vfio_phase_to_string (SpiritVfioPhase phase);

/* --- the steps ---------------------------------------------------------------------------- */

gboolean spirit_vfio_ensure_driver (const char *driver,
                                    gint64 deadline,
                                    GCancellable *cancellable,
                                    GError **error);
gboolean spirit_vfio_set_driver_override (const char *address, const char *driver, GError **error);
gboolean spirit_vfio_unbind (const char *address,
                             gint64 deadline,
                             GCancellable *cancellable,
                             GError **error);
gboolean spirit_vfio_probe (const char *address,
                            const char *driver,
                            gint64 deadline,
                            GCancellable *cancellable,
                            GError **error);
gboolean spirit_vfio_bind (const char *address,
                           const char *driver,
                           gint64 deadline,
                           GCancellable *cancellable,
                           GError **error);
gboolean
spirit_vfio_wait_group_node (int group, gint64 deadline, GCancellable *cancellable, GError **error);
gboolean spirit_vfio_wait_nodes (const char *address,
                                 const char *const *subsystems,
                                 gint64 deadline,
                                 GCancellable *cancellable,
                                 GError **error);

/* --- the whole swap ----------------------------------------------------------------------- */

#define SPIRIT_TYPE_VFIO_SWAP (spirit_vfio_swap_get_type ())
G_DECLARE_FINAL_TYPE (SpiritVfioSwap, spirit_vfio_swap, SPIRIT, VFIO_SWAP, GObject)

/* Called on the swap's thread before each step (address NULL for steps of the whole GPU), so
 * the caller can write the journal before the kernel's state changes. */
typedef void (*SpiritVfioStepFunc) (SpiritVfioSwap *swap,
                                    SpiritVfioStep step,
                                    const char *address,
                                    gpointer user_data);

SpiritVfioSwap *spirit_vfio_swap_new (SpiritGpu *gpu);
SpiritVfioSwap *spirit_vfio_swap_new_from_journal (GVariant *journal, GError **error);
GVariant *spirit_vfio_swap_to_journal (SpiritVfioSwap *self);

void spirit_vfio_swap_set_timeout (SpiritVfioSwap *self, guint timeout_ms);
void spirit_vfio_swap_set_step_func (SpiritVfioSwap *self,
                                     SpiritVfioStepFunc func,
                                     gpointer user_data,
                                     GDestroyNotify destroy);

const char *spirit_vfio_swap_get_gpu_address (SpiritVfioSwap *self);
GStrv spirit_vfio_swap_dup_addresses (SpiritVfioSwap *self);
GArray *spirit_vfio_swap_get_groups (SpiritVfioSwap *self);
const char *spirit_vfio_swap_get_host_driver (SpiritVfioSwap *self, const char *address);
SpiritVfioPhase spirit_vfio_swap_get_phase (SpiritVfioSwap *self);
SpiritVfioStep spirit_vfio_swap_get_failed_step (SpiritVfioSwap *self);

gboolean spirit_vfio_swap_to_vfio (SpiritVfioSwap *self,
                                   SpiritVfioFlags flags,
                                   GCancellable *cancellable,
                                   GError **error);
gboolean spirit_vfio_swap_to_host (SpiritVfioSwap *self,
                                   SpiritVfioFlags flags,
                                   GCancellable *cancellable,
                                   GError **error);

void spirit_vfio_swap_to_vfio_async (SpiritVfioSwap *self,
                                     SpiritVfioFlags flags,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean
spirit_vfio_swap_to_vfio_finish (SpiritVfioSwap *self, GAsyncResult *result, GError **error);
void spirit_vfio_swap_to_host_async (SpiritVfioSwap *self,
                                     SpiritVfioFlags flags,
                                     GCancellable *cancellable,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data);
gboolean
spirit_vfio_swap_to_host_finish (SpiritVfioSwap *self, GAsyncResult *result, GError **error);

G_END_DECLS
