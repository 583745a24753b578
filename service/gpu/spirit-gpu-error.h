/* spirit-gpu-error.h: the error domain of libspirit_gpu (GPU discovery and vfio binding).
 *
 * The library has no D-Bus: spiritd maps these codes to its registered org.crom.Spirit.Error.*
 * names. Messages always name the device, the path or the step that failed, so they can be
 * shown to the user as they are. Errors of the sysfs helper itself are G_IO_ERROR (from errno).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SPIRIT_GPU_ERROR (spirit_gpu_error_quark ())

typedef enum
{
  SPIRIT_GPU_ERROR_FAILED,          /* a step failed; the message names the step and the path */
  SPIRIT_GPU_ERROR_NOT_FOUND,       /* no such PCI device, or it is not a GPU */
  SPIRIT_GPU_ERROR_IOMMU_DISABLED,  /* no IOMMU groups: VT-d/AMD-Vi off in firmware or kernel */
  SPIRIT_GPU_ERROR_NOT_VIABLE,      /* the IOMMU group holds a device that is not the GPU's */
  SPIRIT_GPU_ERROR_BUSY,            /* processes hold the GPU's device nodes (named) */
  SPIRIT_GPU_ERROR_TIMEOUT,         /* the kernel did not reach the state before the deadline */
  SPIRIT_GPU_ERROR_INVALID_JOURNAL, /* a journal that cannot be read back */
} SpiritGpuError;

GQuark spirit_gpu_error_quark (void);

G_END_DECLS
