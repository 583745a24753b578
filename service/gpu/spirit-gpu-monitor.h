/* spirit-gpu-monitor.h: tells when the PCI, DRM, sound or vfio devices change.
 *
 * "changed" (address, action) is emitted in the main context that was the thread default when
 * the monitor was made; address is the PCI function concerned, or NULL (a vfio group node).
 * Listeners discover again: the monitor carries no state. Events come from udev through
 * libgudev where udevd runs (or under umockdev), else straight from the kernel's uevent socket
 * (a system without udevd, such as the test guest). A test tree (SPIRIT_SYSFS_ROOT) has none.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define SPIRIT_TYPE_GPU_MONITOR (spirit_gpu_monitor_get_type ())
G_DECLARE_FINAL_TYPE (SpiritGpuMonitor, spirit_gpu_monitor, SPIRIT, GPU_MONITOR, GObject)

SpiritGpuMonitor *spirit_gpu_monitor_new (void);
const char *spirit_gpu_monitor_get_source (SpiritGpuMonitor *self);

char *spirit_gpu_monitor_address_from_devpath (const char *devpath);

G_END_DECLS
