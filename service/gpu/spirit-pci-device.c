/* spirit-pci-device.c: PCI functions read from /sys/bus/pci, names from udev.
 *
 * Vendor and model names are looked up on first use (the swap re-discovers and needs none). They
 * come from libgudev when it sees the same devices as we do (the real system, or umockdev's
 * testbed), from the udev database's ID_*_FROM_DATABASE properties; else from the hwdb directly,
 * keyed by the device's modalias, which needs no running udevd (the test guest has none). The
 * lookup fills in the object: a device is used by one thread at a time.
 */
#define G_LOG_DOMAIN "spirit-pci-device"

#include "spirit-pci-device.h"
#include "spirit-gpu-error.h"
#include "spirit-sysfs.h"

#include <gudev/gudev.h>
#include <libudev.h>
#include <stdio.h>
#include <string.h>

struct _SpiritPciDevice
{
  GObject parent_instance;

  char *address;
  char *sysfs_path;
  guint32 class_code;
  guint16 vendor_id;
  guint16 device_id;
  char *driver;
  int iommu_group;
  gboolean boot_vga;
  gboolean names_looked_up;
  char *vendor_name;
  char *model_name;
};

G_DEFINE_FINAL_TYPE (SpiritPciDevice, spirit_pci_device, G_TYPE_OBJECT)

static void
spirit_pci_device_finalize (GObject *object)
{
  SpiritPciDevice *self = SPIRIT_PCI_DEVICE (object);

  g_free (self->address);
  g_free (self->sysfs_path);
  g_free (self->driver);
  g_free (self->vendor_name);
  g_free (self->model_name);
  G_OBJECT_CLASS (spirit_pci_device_parent_class)->finalize (object);
}

static void
spirit_pci_device_class_init (SpiritPciDeviceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spirit_pci_device_finalize;
}

static void
spirit_pci_device_init (SpiritPciDevice *self)
{
  self->iommu_group = -1;
}

gboolean
spirit_pci_address_is_valid (const char *address)
{
  static const char shape[] = "hhhh:hh:hh.h";

  if (address == NULL || strlen (address) != strlen (shape))
    return FALSE;
  for (gsize i = 0; shape[i] != '\0'; i++)
    {
      if (shape[i] == 'h' ? !g_ascii_isxdigit (address[i]) : address[i] != shape[i])
        return FALSE;
    }
  return address[11] <= '7'; /* function 0-7 */
}

char *
spirit_pci_device_path (const char *address, const char *attribute)
{
  if (attribute == NULL)
    return g_strconcat ("/sys/bus/pci/devices/", address, NULL);
  return g_strconcat ("/sys/bus/pci/devices/", address, "/", attribute, NULL);
}

/* The udev names, or the hwdb's for this modalias. Both may be missing. */
static void
lookup_names (SpiritPciDevice *self)
{
  static GMutex hwdb_lock;
  static struct udev *udev;
  static struct udev_hwdb *hwdb;
  g_autofree char *modalias_path = spirit_pci_device_path (self->address, "modalias");
  g_autofree char *modalias = spirit_sysfs_read_or_null (modalias_path);
  struct udev_list_entry *entry;

  if (self->names_looked_up)
    return;
  self->names_looked_up = TRUE;
  if (spirit_sysfs_is_real () || g_getenv ("UMOCKDEV_DIR") != NULL)
    {
      g_autoptr (GUdevClient) client = g_udev_client_new (NULL);
      g_autoptr (GUdevDevice) device
        = g_udev_client_query_by_subsystem_and_name (client, "pci", self->address);

      if (device != NULL)
        {
          self->vendor_name
            = g_strdup (g_udev_device_get_property (device, "ID_VENDOR_FROM_DATABASE"));
          self->model_name
            = g_strdup (g_udev_device_get_property (device, "ID_MODEL_FROM_DATABASE"));
        }
    }
  if (self->vendor_name != NULL && self->model_name != NULL)
    return;

  if (modalias == NULL)
    modalias = g_strdup_printf ("pci:v%08Xd%08X", self->vendor_id, self->device_id);

  /* libudev objects are not thread-safe; discovery runs on worker threads */
  g_mutex_lock (&hwdb_lock);
  if (udev == NULL)
    {
      udev = udev_new ();
      hwdb = udev ? udev_hwdb_new (udev) : NULL;
    }
  if (hwdb != NULL)
    {
      udev_list_entry_foreach (entry, udev_hwdb_get_properties_list_entry (hwdb, modalias, 0))
      {
        const char *name = udev_list_entry_get_name (entry);
        const char *value = udev_list_entry_get_value (entry);

        if (self->vendor_name == NULL && g_strcmp0 (name, "ID_VENDOR_FROM_DATABASE") == 0)
          self->vendor_name = g_strdup (value);
        else if (self->model_name == NULL && g_strcmp0 (name, "ID_MODEL_FROM_DATABASE") == 0)
          self->model_name = g_strdup (value);
      }
    }
  g_mutex_unlock (&hwdb_lock);
}

SpiritPciDevice *
spirit_pci_device_new (const char *address, GError **error)
{
  g_autoptr (SpiritPciDevice) self = NULL;
  g_autofree char *class_path = NULL, *vendor_path = NULL, *device_path = NULL;
  g_autofree char *boot_vga_path = NULL, *boot_vga = NULL;
  guint64 class_code, vendor_id, device_id;

  if (!spirit_pci_address_is_valid (address))
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_FOUND, "“%s” is not a PCI address",
                   address);
      return NULL;
    }

  self = g_object_new (SPIRIT_TYPE_PCI_DEVICE, NULL);
  self->address = g_ascii_strdown (address, -1);
  self->sysfs_path = spirit_pci_device_path (self->address, NULL);
  if (!spirit_sysfs_exists (self->sysfs_path))
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_FOUND,
                   "No PCI device %s (%s is missing)", self->address, self->sysfs_path);
      return NULL;
    }
  class_path = spirit_pci_device_path (self->address, "class");
  vendor_path = spirit_pci_device_path (self->address, "vendor");
  device_path = spirit_pci_device_path (self->address, "device");
  if (!spirit_sysfs_read_hex (class_path, &class_code, error)
      || !spirit_sysfs_read_hex (vendor_path, &vendor_id, error)
      || !spirit_sysfs_read_hex (device_path, &device_id, error))
    return NULL;
  self->class_code = (guint32)class_code;
  self->vendor_id = (guint16)vendor_id;
  self->device_id = (guint16)device_id;

  self->driver = spirit_pci_read_driver (self->address, error);
  if (self->driver == NULL && error != NULL && *error != NULL)
    return NULL;
  self->iommu_group = spirit_pci_read_iommu_group (self->address, NULL);
  boot_vga_path = spirit_pci_device_path (self->address, "boot_vga");
  boot_vga = spirit_sysfs_read_or_null (boot_vga_path);
  self->boot_vga = g_strcmp0 (boot_vga, "1") == 0;
  return g_steal_pointer (&self);
}

const char *
spirit_pci_device_get_address (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), NULL);
  return self->address;
}

const char *
spirit_pci_device_get_sysfs_path (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), NULL);
  return self->sysfs_path;
}

guint32
spirit_pci_device_get_class (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), 0);
  return self->class_code;
}

guint16
spirit_pci_device_get_vendor_id (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), 0);
  return self->vendor_id;
}

guint16
spirit_pci_device_get_device_id (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), 0);
  return self->device_id;
}

const char *
spirit_pci_device_get_driver (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), NULL);
  return self->driver;
}

int
spirit_pci_device_get_iommu_group (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), -1);
  return self->iommu_group;
}

gboolean
spirit_pci_device_get_boot_vga (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), FALSE);
  return self->boot_vga;
}

const char *
spirit_pci_device_get_vendor_name (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), NULL);
  lookup_names (self);
  return self->vendor_name;
}

const char *
spirit_pci_device_get_model_name (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), NULL);
  lookup_names (self);
  return self->model_name;
}

gboolean
spirit_pci_device_is_display (SpiritPciDevice *self)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), FALSE);
  return (self->class_code >> 16) == SPIRIT_PCI_CLASS_DISPLAY;
}

gboolean
spirit_pci_device_is_pci_bridge (SpiritPciDevice *self)
{
  guint32 subclass;

  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), FALSE);
  subclass = self->class_code >> 8;
  return subclass == SPIRIT_PCI_CLASS_BRIDGE_PCI || subclass == SPIRIT_PCI_CLASS_BRIDGE_PCI_SEMI;
}

/* "0000:01:00.0" and "0000:01:00.1" share the slot "0000:01:00" */
gboolean
spirit_pci_device_same_slot (SpiritPciDevice *self, const char *address)
{
  g_return_val_if_fail (SPIRIT_IS_PCI_DEVICE (self), FALSE);
  return address != NULL && g_ascii_strncasecmp (self->address, address, 10) == 0;
}

/* The bound driver's name, or NULL without an error when the function has no driver. */
char *
spirit_pci_read_driver (const char *address, GError **error)
{
  g_autofree char *dir = spirit_pci_device_path (address, NULL);
  g_autofree char *link = spirit_pci_device_path (address, "driver");
  g_autoptr (GError) local = NULL;
  g_autofree char *target = NULL;

  target = spirit_sysfs_read_link (link, &local);
  if (target != NULL)
    return g_path_get_basename (target);
  if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (!spirit_sysfs_exists (dir))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No PCI device %s (%s is missing)",
                 address, dir);
  return NULL;
}

/* NULL when no override is set: the kernel shows that as "(null)". */
char *
spirit_pci_read_driver_override (const char *address, GError **error)
{
  g_autofree char *path = spirit_pci_device_path (address, "driver_override");
  g_autofree char *value = NULL;

  if (!spirit_sysfs_read (path, &value, error))
    return NULL;
  if (value[0] == '\0' || g_str_equal (value, "(null)"))
    return NULL;
  return g_steal_pointer (&value);
}

/* -1 without an error when the function has no IOMMU group (IOMMU off). */
int
spirit_pci_read_iommu_group (const char *address, GError **error)
{
  g_autofree char *link = spirit_pci_device_path (address, "iommu_group");
  g_autoptr (GError) local = NULL;
  g_autofree char *target = spirit_sysfs_read_link (link, &local);
  g_autofree char *name = NULL;
  guint64 group;

  if (target == NULL)
    {
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_propagate_error (error, g_steal_pointer (&local));
      return -1;
    }
  name = g_path_get_basename (target);
  if (!g_ascii_string_to_unsigned (name, 10, 0, G_MAXINT, &group, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s points to “%s”, not an IOMMU group", link, target);
      return -1;
    }
  return (int)group;
}

static GPtrArray *
only_addresses (GPtrArray *names)
{
  for (guint i = names->len; i > 0; i--)
    if (!spirit_pci_address_is_valid (g_ptr_array_index (names, i - 1)))
      g_ptr_array_remove_index (names, i - 1);
  return names;
}

GPtrArray *
spirit_pci_list_addresses (GError **error)
{
  GPtrArray *names = spirit_sysfs_list ("/sys/bus/pci/devices", error);

  return names ? only_addresses (names) : NULL;
}

GPtrArray *
spirit_pci_list_slot_functions (const char *address, GError **error)
{
  GPtrArray *names = spirit_pci_list_addresses (error);

  if (names == NULL)
    return NULL;
  for (guint i = names->len; i > 0; i--)
    if (g_ascii_strncasecmp (g_ptr_array_index (names, i - 1), address, 10) != 0)
      g_ptr_array_remove_index (names, i - 1);
  return names;
}

GPtrArray *
spirit_pci_list_group (int group, GError **error)
{
  g_autofree char *dir = g_strdup_printf ("/sys/kernel/iommu_groups/%d/devices", group);
  GPtrArray *names = spirit_sysfs_list (dir, error);

  return names ? only_addresses (names) : NULL;
}

gboolean
spirit_iommu_is_enabled (void)
{
  g_autoptr (GPtrArray) groups = spirit_sysfs_list ("/sys/kernel/iommu_groups", NULL);

  return groups != NULL && groups->len > 0;
}

void
spirit_dev_node_free (SpiritDevNode *node)
{
  if (node == NULL)
    return;
  g_free (node->path);
  g_free (node->subsystem);
  g_free (node);
}

/* A class device's directory below the PCI function ("…/drm/card0") with a dev attribute. */
static SpiritDevNode *
read_dev_node (const char *dir, const char *first_component)
{
  g_autofree char *dev_path = g_build_filename (dir, "dev", NULL);
  g_autofree char *uevent_path = g_build_filename (dir, "uevent", NULL);
  g_autofree char *subsystem_path = g_build_filename (dir, "subsystem", NULL);
  g_autofree char *dev = spirit_sysfs_read_or_null (dev_path);
  g_autofree char *uevent = NULL;
  g_auto (GStrv) lines = NULL;
  guint major, minor;
  SpiritDevNode *node;

  if (dev == NULL || sscanf (dev, "%u:%u", &major, &minor) != 2)
    return NULL;
  uevent = spirit_sysfs_read_or_null (uevent_path);
  if (uevent == NULL)
    return NULL;
  lines = g_strsplit (uevent, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!g_str_has_prefix (lines[i], "DEVNAME="))
        continue;
      node = g_new0 (SpiritDevNode, 1);
      node->path = g_strconcat ("/dev/", lines[i] + strlen ("DEVNAME="), NULL);
      node->subsystem = spirit_sysfs_link_basename (subsystem_path);
      if (node->subsystem == NULL)
        node->subsystem = g_strdup (first_component);
      node->major = major;
      node->minor = minor;
      return node;
    }
  return NULL;
}

/* Child devices are real directories below the function's own; links (driver, subsystem,
 * iommu_group, firmware_node, …) lead elsewhere and are not followed. */
static void
collect_nodes (const char *dir, const char *first_component, guint depth, GPtrArray *nodes)
{
  g_autoptr (GPtrArray) names = NULL;

  if (depth > 0)
    {
      SpiritDevNode *node = read_dev_node (dir, first_component);

      if (node != NULL)
        g_ptr_array_add (nodes, node);
    }
  if (depth >= 4)
    return;
  names = spirit_sysfs_list_dirs (dir, NULL);
  for (guint i = 0; names != NULL && i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *child = g_build_filename (dir, name, NULL);

      if (g_str_equal (name, "power") || g_str_equal (name, "msi_irqs"))
        continue;
      collect_nodes (child, depth == 0 ? name : first_component, depth + 1, nodes);
    }
}

GPtrArray *
spirit_pci_list_device_nodes (const char *address, GError **error)
{
  g_autofree char *dir = spirit_pci_device_path (address, NULL);
  g_autoptr (GPtrArray) nodes
    = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_dev_node_free);

  if (!spirit_sysfs_exists (dir))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No PCI device %s (%s is missing)",
                   address, dir);
      return NULL;
    }
  collect_nodes (dir, NULL, 0, nodes);
  return g_steal_pointer (&nodes);
}
