/* spirit-pci-device.h: one PCI function as sysfs shows it, and the live reads the swap needs.
 *
 * A SpiritPciDevice is a snapshot taken when it is made (ids, class, driver, IOMMU group,
 * boot_vga; names on first use). The spirit_pci_read_*() functions read the kernel's state now: the
 * binding code waits on them, never on a snapshot. All paths go through spirit-sysfs.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SPIRIT_PCI_CLASS_DISPLAY 0x03 /* base class: VGA, XGA, 3D, other display */
#define SPIRIT_PCI_CLASS_BRIDGE_PCI 0x0604
#define SPIRIT_PCI_CLASS_BRIDGE_PCI_SEMI 0x0609

#define SPIRIT_TYPE_PCI_DEVICE (spirit_pci_device_get_type ())
G_DECLARE_FINAL_TYPE (SpiritPciDevice, spirit_pci_device, SPIRIT, PCI_DEVICE, GObject)

SpiritPciDevice *spirit_pci_device_new (const char *address, GError **error);

const char *spirit_pci_device_get_address (SpiritPciDevice *self);
const char *spirit_pci_device_get_sysfs_path (SpiritPciDevice *self);
guint32 spirit_pci_device_get_class (SpiritPciDevice *self);
guint16 spirit_pci_device_get_vendor_id (SpiritPciDevice *self);
guint16 spirit_pci_device_get_device_id (SpiritPciDevice *self);
const char *spirit_pci_device_get_driver (SpiritPciDevice *self);
int spirit_pci_device_get_iommu_group (SpiritPciDevice *self);
gboolean spirit_pci_device_get_boot_vga (SpiritPciDevice *self);
const char *spirit_pci_device_get_vendor_name (SpiritPciDevice *self);
const char *spirit_pci_device_get_model_name (SpiritPciDevice *self);
gboolean spirit_pci_device_is_display (SpiritPciDevice *self);
gboolean spirit_pci_device_is_pci_bridge (SpiritPciDevice *self);
gboolean spirit_pci_device_same_slot (SpiritPciDevice *self, const char *address);

/* A character device node that belongs to a PCI function (its DRM card, framebuffer, sound
 * card controls, …): path is the kernel's /dev path, subsystem is drm, graphics, sound, … */
typedef struct
{
  char *path;
  char *subsystem;
  guint major;
  guint minor;
} SpiritDevNode;

void spirit_dev_node_free (SpiritDevNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritDevNode, spirit_dev_node_free)

gboolean spirit_pci_address_is_valid (const char *address);
char *spirit_pci_device_path (const char *address, const char *attribute);
char *spirit_pci_read_driver (const char *address, GError **error);
char *spirit_pci_read_driver_override (const char *address, GError **error);
int spirit_pci_read_iommu_group (const char *address, GError **error);
GPtrArray *spirit_pci_list_addresses (GError **error);
GPtrArray *spirit_pci_list_slot_functions (const char *address, GError **error);
GPtrArray *spirit_pci_list_group (int group, GError **error);
GPtrArray *spirit_pci_list_device_nodes (const char *address, GError **error);
gboolean spirit_iommu_is_enabled (void);

G_END_DECLS
