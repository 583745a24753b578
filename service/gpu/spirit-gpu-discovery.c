/* spirit-gpu-discovery.c: finds GPUs in /sys/bus/pci and checks that their groups can be passed.
 *
 * The viability rule is the kernel's own (vfio only hands out a group whose every endpoint is
 * bound to vfio), narrowed to what a swap may take from the host: the GPU's functions, plus PCI
 * bridges, which stay on pcieport. Anything else in the group (a SATA or USB controller on a
 * board without ACS) would be taken from the host with it, so the swap refuses and names it.
 */
#define G_LOG_DOMAIN "spirit-gpu-discovery"

#include "spirit-gpu-discovery.h"
#include "spirit-gpu-error.h"
#include "spirit-sysfs.h"

struct _SpiritGpu
{
  GObject parent_instance;

  SpiritPciDevice *device;
  GPtrArray *functions;     /* SpiritPciDevice: device first, then companions */
  GArray *groups;           /* int: the IOMMU groups of the functions, sorted, no duplicates */
  GPtrArray *group_members; /* SpiritPciDevice: every member of those groups */
};

G_DEFINE_FINAL_TYPE (SpiritGpu, spirit_gpu, G_TYPE_OBJECT)

static void
spirit_gpu_finalize (GObject *object)
{
  SpiritGpu *self = SPIRIT_GPU (object);

  g_clear_object (&self->device);
  g_clear_pointer (&self->functions, g_ptr_array_unref);
  g_clear_pointer (&self->groups, g_array_unref);
  g_clear_pointer (&self->group_members, g_ptr_array_unref);
  G_OBJECT_CLASS (spirit_gpu_parent_class)->finalize (object);
}

static void
spirit_gpu_class_init (SpiritGpuClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spirit_gpu_finalize;
}

static void
spirit_gpu_init (SpiritGpu *self)
{
  self->functions = g_ptr_array_new_with_free_func (g_object_unref);
  self->groups = g_array_new (FALSE, FALSE, sizeof (int));
  self->group_members = g_ptr_array_new_with_free_func (g_object_unref);
}

const char *
spirit_pci_class_describe (guint32 class_code)
{
  static const struct
  {
    guint32 subclass;
    const char *name;
  } subclasses[] = {
    { 0x0300, "VGA controller" },     { 0x0302, "3D controller" },
    { 0x0380, "display controller" }, { 0x0403, "audio device" },
    { 0x0c03, "USB controller" },     { 0x0c80, "serial bus controller" },
    { 0x0600, "host bridge" },        { 0x0601, "ISA bridge" },
    { 0x0604, "PCI bridge" },         { 0x0106, "SATA controller" },
    { 0x0108, "NVMe controller" },    { 0x0200, "Ethernet controller" },
    { 0x0280, "network controller" }, { 0x0c05, "SMBus controller" },
  };
  static const char *const bases[] = {
    "unclassified device",
    "storage controller",
    "network controller",
    "display controller",
    "multimedia device",
    "memory controller",
    "bridge",
    "communication controller",
    "system peripheral",
    "input device",
    "docking station",
    "processor",
    "serial bus controller",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (subclasses); i++)
    if (subclasses[i].subclass == class_code >> 8)
      return subclasses[i].name;
  if ((class_code >> 16) < G_N_ELEMENTS (bases))
    return bases[class_code >> 16];
  return "device";
}

static gboolean
add_group (SpiritGpu *self, int group)
{
  for (guint i = 0; i < self->groups->len; i++)
    if (g_array_index (self->groups, int, i) == group)
      return FALSE;
  g_array_append_val (self->groups, group);
  return TRUE;
}

static int
compare_ints (gconstpointer a, gconstpointer b)
{
  return *(const int *)a - *(const int *)b;
}

static SpiritGpu *
gpu_new (SpiritPciDevice *device, GError **error)
{
  g_autoptr (SpiritGpu) self = g_object_new (SPIRIT_TYPE_GPU, NULL);
  const char *address = spirit_pci_device_get_address (device);
  g_autoptr (GPtrArray) slot = spirit_pci_list_slot_functions (address, error);

  if (slot == NULL)
    return NULL;
  self->device = g_object_ref (device);
  g_ptr_array_add (self->functions, g_object_ref (device));
  for (guint i = 0; i < slot->len; i++)
    {
      const char *other = g_ptr_array_index (slot, i);
      SpiritPciDevice *function;

      if (g_str_equal (other, address))
        continue;
      function = spirit_pci_device_new (other, error);
      if (function == NULL)
        return NULL;
      g_ptr_array_add (self->functions, function);
    }

  for (guint i = 0; i < self->functions->len; i++)
    {
      int group = spirit_pci_device_get_iommu_group (g_ptr_array_index (self->functions, i));
      g_autoptr (GPtrArray) members = NULL;

      if (group < 0 || !add_group (self, group))
        continue;
      members = spirit_pci_list_group (group, error);
      if (members == NULL)
        return NULL;
      for (guint j = 0; j < members->len; j++)
        {
          SpiritPciDevice *member = spirit_pci_device_new (g_ptr_array_index (members, j), error);

          if (member == NULL)
            return NULL;
          g_ptr_array_add (self->group_members, member);
        }
    }
  g_array_sort (self->groups, compare_ints);
  return g_steal_pointer (&self);
}

static gboolean
lower_display_in_slot (SpiritPciDevice *device, GPtrArray *all)
{
  for (guint i = 0; i < all->len; i++)
    {
      SpiritPciDevice *other = g_ptr_array_index (all, i);

      if (spirit_pci_device_is_display (other)
          && spirit_pci_device_same_slot (device, spirit_pci_device_get_address (other))
          && g_strcmp0 (spirit_pci_device_get_address (other),
                        spirit_pci_device_get_address (device))
               < 0)
        return TRUE;
    }
  return FALSE;
}

GPtrArray *
spirit_gpu_discover_all (GError **error)
{
  g_autoptr (GPtrArray) addresses = spirit_pci_list_addresses (error);
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GPtrArray) gpus = g_ptr_array_new_with_free_func (g_object_unref);

  if (addresses == NULL)
    return NULL;
  for (guint i = 0; i < addresses->len; i++)
    {
      SpiritPciDevice *device = spirit_pci_device_new (g_ptr_array_index (addresses, i), error);

      if (device == NULL)
        return NULL;
      g_ptr_array_add (all, device);
    }
  for (guint i = 0; i < all->len; i++)
    {
      SpiritPciDevice *device = g_ptr_array_index (all, i);
      SpiritGpu *gpu;

      if (!spirit_pci_device_is_display (device) || lower_display_in_slot (device, all))
        continue;
      gpu = gpu_new (device, error);
      if (gpu == NULL)
        return NULL;
      g_ptr_array_add (gpus, gpu);
    }
  return g_steal_pointer (&gpus);
}

SpiritGpu *
spirit_gpu_discover (const char *address, GError **error)
{
  g_autoptr (SpiritPciDevice) device = spirit_pci_device_new (address, error);
  g_autoptr (GPtrArray) slot = NULL;

  if (device == NULL)
    return NULL;
  if (!spirit_pci_device_is_display (device))
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_FOUND,
                   "%s is a %s (class 0x%06x), not a GPU", spirit_pci_device_get_address (device),
                   spirit_pci_class_describe (spirit_pci_device_get_class (device)),
                   spirit_pci_device_get_class (device));
      return NULL;
    }
  /* a second display function of a slot belongs to the slot's first one */
  slot = spirit_pci_list_slot_functions (spirit_pci_device_get_address (device), error);
  if (slot == NULL)
    return NULL;
  for (guint i = 0; i < slot->len; i++)
    {
      const char *other_address = g_ptr_array_index (slot, i);
      g_autoptr (SpiritPciDevice) other = NULL;

      if (g_strcmp0 (other_address, spirit_pci_device_get_address (device)) >= 0)
        break;
      other = spirit_pci_device_new (other_address, NULL);
      if (other != NULL && spirit_pci_device_is_display (other))
        {
          g_set_object (&device, other);
          break;
        }
    }
  return gpu_new (device, error);
}

const char *
spirit_gpu_get_address (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  return spirit_pci_device_get_address (self->device);
}

SpiritPciDevice *
spirit_gpu_get_device (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  return self->device;
}

GPtrArray *
spirit_gpu_get_functions (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  return self->functions;
}

GArray *
spirit_gpu_get_groups (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  return self->groups;
}

int
spirit_gpu_get_iommu_group (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), -1);
  return spirit_pci_device_get_iommu_group (self->device);
}

GPtrArray *
spirit_gpu_get_group_members (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  return self->group_members;
}

gboolean
spirit_gpu_get_boot_vga (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), FALSE);
  return spirit_pci_device_get_boot_vga (self->device);
}

const char *
spirit_gpu_get_vendor_name (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  return spirit_pci_device_get_vendor_name (self->device);
}

const char *
spirit_gpu_get_model_name (SpiritGpu *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  return spirit_pci_device_get_model_name (self->device);
}

/* The driver a function returns to: the one it had at discovery, unless that was already a
 * passthrough stub (then NULL: any driver the kernel picks will do). */
const char *
spirit_gpu_get_host_driver (SpiritGpu *self, const char *address)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), NULL);
  for (guint i = 0; i < self->functions->len; i++)
    {
      SpiritPciDevice *function = g_ptr_array_index (self->functions, i);
      const char *driver = spirit_pci_device_get_driver (function);

      if (!g_str_equal (spirit_pci_device_get_address (function), address))
        continue;
      if (g_strcmp0 (driver, "vfio-pci") == 0 || g_strcmp0 (driver, "pci-stub") == 0)
        return NULL;
      return driver;
    }
  return NULL;
}

static gboolean
is_function (SpiritGpu *self, const char *address)
{
  for (guint i = 0; i < self->functions->len; i++)
    if (g_str_equal (spirit_pci_device_get_address (g_ptr_array_index (self->functions, i)),
                     address))
      return TRUE;
  return FALSE;
}

gboolean
spirit_gpu_check_viable (SpiritGpu *self, GError **error)
{
  g_return_val_if_fail (SPIRIT_IS_GPU (self), FALSE);

  if (!spirit_iommu_is_enabled ())
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_IOMMU_DISABLED,
                   "The IOMMU is off (/sys/kernel/iommu_groups is empty): enable VT-d or AMD-Vi "
                   "in the firmware settings, and boot with intel_iommu=on on Intel");
      return FALSE;
    }
  for (guint i = 0; i < self->functions->len; i++)
    {
      SpiritPciDevice *function = g_ptr_array_index (self->functions, i);

      if (spirit_pci_device_get_iommu_group (function) < 0)
        {
          g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_IOMMU_DISABLED,
                       "%s has no IOMMU group: the IOMMU does not cover it",
                       spirit_pci_device_get_address (function));
          return FALSE;
        }
    }
  for (guint i = 0; i < self->group_members->len; i++)
    {
      SpiritPciDevice *member = g_ptr_array_index (self->group_members, i);
      const char *address = spirit_pci_device_get_address (member);
      const char *driver = spirit_pci_device_get_driver (member);

      if (is_function (self, address) || spirit_pci_device_is_pci_bridge (member))
        continue;
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_VIABLE,
                   "IOMMU group %d of the GPU %s also holds %s (%s [%04x:%04x], driver %s), "
                   "which is not one of the GPU's functions or a PCI bridge: passing the group "
                   "would take it from the host",
                   spirit_pci_device_get_iommu_group (member), spirit_gpu_get_address (self),
                   address, spirit_pci_class_describe (spirit_pci_device_get_class (member)),
                   spirit_pci_device_get_vendor_id (member),
                   spirit_pci_device_get_device_id (member), driver ? driver : "none");
      return FALSE;
    }
  return TRUE;
}
