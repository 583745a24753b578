/* spirit-gpu-vm.h: the libvirt half of the GPU swap: a VM's PCI host devices, starting and
 * stopping it. Blocking (libvirt calls): run on the swap's thread, never on the main loop.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt-gobject/libvirt-gobject.h>

G_BEGIN_DECLS

/* Adds each address as <hostdev type='pci' managed='no'> to the VM's persistent definition
 * (managed='no': Spirit binds vfio-pci itself). Addresses already there are left alone. */
gboolean
spirit_gpu_vm_add_hostdevs (GVirDomain *domain, const char *const *addresses, GError **error);
/* Removes the PCI host devices of these addresses from the definition; none there is fine. */
gboolean
spirit_gpu_vm_remove_hostdevs (GVirDomain *domain, const char *const *addresses, GError **error);
gboolean spirit_gpu_vm_start (GVirDomain *domain, GError **error);
gboolean spirit_gpu_vm_destroy (GVirDomain *domain, GError **error);
gboolean spirit_gpu_vm_is_active (GVirDomain *domain, GError **error);

G_END_DECLS
