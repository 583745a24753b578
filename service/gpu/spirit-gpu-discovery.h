/* spirit-gpu-discovery.h: GPUs, their companion functions and their IOMMU groups.
 *
 * A GPU is a display-class PCI function (class 0x03xxxx), the lowest such function of its
 * slot; its companions are the other functions of the same slot (HDMI audio, USB-C, UCSI).
 * Together they are the GPU's functions, the set the swap moves. A SpiritGpu is a snapshot:
 * discover again after a udev event (see SpiritGpuMonitor).
 */
#pragma once

#include "spirit-pci-device.h"

G_BEGIN_DECLS

#define SPIRIT_TYPE_GPU (spirit_gpu_get_type ())
G_DECLARE_FINAL_TYPE (SpiritGpu, spirit_gpu, SPIRIT, GPU, GObject)

GPtrArray *spirit_gpu_discover_all (GError **error);
SpiritGpu *spirit_gpu_discover (const char *address, GError **error);

const char *spirit_gpu_get_address (SpiritGpu *self);
SpiritPciDevice *spirit_gpu_get_device (SpiritGpu *self);
GPtrArray *spirit_gpu_get_functions (SpiritGpu *self);
GArray *spirit_gpu_get_groups (SpiritGpu *self);
int spirit_gpu_get_iommu_group (SpiritGpu *self);
GPtrArray *spirit_gpu_get_group_members (SpiritGpu *self);
gboolean spirit_gpu_get_boot_vga (SpiritGpu *self);
const char *spirit_gpu_get_vendor_name (SpiritGpu *self);
const char *spirit_gpu_get_model_name (SpiritGpu *self);
const char *spirit_gpu_get_host_driver (SpiritGpu *self, const char *address);

gboolean spirit_gpu_check_viable (SpiritGpu *self, GError **error);

const char *spirit_pci_class_describe (guint32 class_code);

G_END_DECLS
