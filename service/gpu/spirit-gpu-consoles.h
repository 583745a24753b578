/* spirit-gpu-consoles.h: the consoles and firmware framebuffers that sit on a GPU.
 *
 * fbcon (the "frame buffer device" vtconsole) draws on every framebuffer; a driver unbinding
 * under it is where single-GPU swaps hang on real hardware, so it is unbound first and bound
 * again after the GPU is back. The firmware framebuffers (efi-framebuffer, simpledrm or simplefb
 * as "simple-framebuffer", vesa-framebuffer) hold the boot GPU's memory and keep vfio-pci from
 * claiming its BARs; they are unbound for the boot GPU only, and not bound again: once the host
 * driver has re-initialised the GPU, the firmware's mode no longer exists.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean spirit_gpu_has_framebuffer (const char *const *addresses);
GPtrArray *spirit_gpu_list_firmware_framebuffers (void);

gboolean spirit_gpu_release_vtconsoles (GPtrArray *released, GError **error);
gboolean spirit_gpu_restore_vtconsoles (GPtrArray *released, GError **error);
gboolean spirit_gpu_release_firmware_framebuffers (GPtrArray *released,
                                                   gint64 deadline,
                                                   GCancellable *cancellable,
                                                   GError **error);

G_END_DECLS
