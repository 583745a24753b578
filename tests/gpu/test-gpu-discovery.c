/* test-gpu-discovery.c: GPUs, companions, IOMMU groups, device nodes and the viability check,
 * on the fake tree (gpu-test-tree.h). */
#define G_LOG_DOMAIN "test-gpu-discovery"

#include "gpu-test-tree.h"
#include "spirit-gpu-discovery.h"
#include "spirit-gpu-error.h"
#include "spirit-gpu-monitor.h"
#include "spirit-sysfs.h"

static const char *
function_address (SpiritGpu *gpu, guint i)
{
  return spirit_pci_device_get_address (g_ptr_array_index (spirit_gpu_get_functions (gpu), i));
}

static void
test_list (void)
{
  g_autoptr (FakeSysfs) fs = gpu_test_tree_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) gpus = spirit_gpu_discover_all (&error);
  SpiritGpu *igpu, *gpu;
  SpiritPciDevice *device;
  GPtrArray *members;

  g_assert_no_error (error);
  g_assert_cmpuint (gpus->len, ==, 2);
  igpu = g_ptr_array_index (gpus, 0);
  gpu = g_ptr_array_index (gpus, 1);

  g_assert_cmpstr (spirit_gpu_get_address (igpu), ==, TREE_IGPU);
  g_assert_true (spirit_gpu_get_boot_vga (igpu));
  g_assert_cmpuint (spirit_gpu_get_functions (igpu)->len, ==, 1);
  g_assert_cmpint (spirit_gpu_get_iommu_group (igpu), ==, 2);

  g_assert_cmpstr (spirit_gpu_get_address (gpu), ==, TREE_GPU);
  g_assert_false (spirit_gpu_get_boot_vga (gpu));
  device = spirit_gpu_get_device (gpu);
  g_assert_cmphex (spirit_pci_device_get_class (device), ==, 0x030000);
  g_assert_cmphex (spirit_pci_device_get_vendor_id (device), ==, 0x10de);
  g_assert_cmphex (spirit_pci_device_get_device_id (device), ==, 0x2484);
  g_assert_cmpstr (spirit_pci_device_get_driver (device), ==, "nouveau");
  g_assert_true (spirit_pci_device_is_display (device));

  /* the companion: the HDMI audio function of the same slot */
  g_assert_cmpuint (spirit_gpu_get_functions (gpu)->len, ==, 2);
  g_assert_cmpstr (function_address (gpu, 0), ==, TREE_GPU);
  g_assert_cmpstr (function_address (gpu, 1), ==, TREE_AUDIO);
  g_assert_cmpstr (spirit_gpu_get_host_driver (gpu, TREE_GPU), ==, "nouveau");
  g_assert_cmpstr (spirit_gpu_get_host_driver (gpu, TREE_AUDIO), ==, "snd_hda_intel");

  /* the group: both functions and the root port */
  g_assert_cmpint (spirit_gpu_get_iommu_group (gpu), ==, TREE_GROUP);
  g_assert_cmpuint (spirit_gpu_get_groups (gpu)->len, ==, 1);
  members = spirit_gpu_get_group_members (gpu);
  g_assert_cmpuint (members->len, ==, 3);
  g_assert_cmpstr (spirit_pci_device_get_address (g_ptr_array_index (members, 0)), ==, TREE_BRIDGE);
  g_assert_true (spirit_pci_device_is_pci_bridge (g_ptr_array_index (members, 0)));
  g_assert_cmpstr (spirit_pci_device_get_driver (g_ptr_array_index (members, 0)), ==, "pcieport");

  g_assert_true (spirit_gpu_check_viable (gpu, &error));
  g_assert_no_error (error);
}

/* Names come from the hwdb by modalias (no udevd needed). */
static void
test_names (void)
{
  g_autoptr (FakeSysfs) fs = gpu_test_tree_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) gpu = spirit_gpu_discover (TREE_GPU, &error);

  g_assert_no_error (error);
  if (!g_file_test ("/usr/lib/udev/hwdb.bin", G_FILE_TEST_EXISTS)
      && !g_file_test ("/etc/udev/hwdb.bin", G_FILE_TEST_EXISTS))
    g_error ("no udev hwdb.bin: install udev (tools/install-deps.sh)");
  g_assert_cmpstr (spirit_gpu_get_vendor_name (gpu), ==, "NVIDIA Corporation");
  g_assert_cmpstr (spirit_gpu_get_model_name (gpu), ==, "GA104 [GeForce RTX 3070]");
}

static void
test_discover_one (void)
{
  g_autoptr (FakeSysfs) fs = gpu_test_tree_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) gpu = NULL;

  /* by the audio function's address: not a GPU */
  g_assert_null (spirit_gpu_discover (TREE_AUDIO, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "audio device"));
  g_clear_error (&error);

  g_assert_null (spirit_gpu_discover (TREE_SATA, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_FOUND);
  g_assert_nonnull (
    strstr (error->message, "0000:00:1f.2 is a SATA controller (class 0x010601), not a GPU"));
  g_clear_error (&error);

  g_assert_null (spirit_gpu_discover ("0000:05:00.0", &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "No PCI device 0000:05:00.0"));
  g_clear_error (&error);

  g_assert_null (spirit_gpu_discover ("01:00.0", &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_FOUND);
  g_clear_error (&error);

  gpu = spirit_gpu_discover (TREE_GPU, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (spirit_gpu_get_functions (gpu)->len, ==, 2);
}

static void
test_not_viable (void)
{
  g_autoptr (FakeSysfs) fs = gpu_test_tree_new (FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) gpu = spirit_gpu_discover (TREE_GPU, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (spirit_gpu_get_group_members (gpu)->len, ==, 4);
  g_assert_false (spirit_gpu_check_viable (gpu, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_NOT_VIABLE);
  g_assert_nonnull (strstr (error->message,
                            "IOMMU group 1 of the GPU 0000:01:00.0 also holds "
                            "0000:00:1f.2 (SATA controller [8086:a352], driver ahci)"));
}

static void
test_iommu_off (void)
{
  g_autoptr (FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) gpu = NULL;

  fake_sysfs_add_driver (fs, "amdgpu", FAKE_NODES_DRM);
  fake_sysfs_add_device (fs, "0000:03:00.0", 0x030000, 0x1002, 0x73bf, -1, "amdgpu", TRUE);
  gpu = spirit_gpu_discover ("0000:03:00.0", &error);
  g_assert_no_error (error);
  g_assert_cmpint (spirit_gpu_get_iommu_group (gpu), ==, -1);
  g_assert_cmpuint (spirit_gpu_get_groups (gpu)->len, ==, 0);
  g_assert_false (spirit_gpu_check_viable (gpu, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_IOMMU_DISABLED);
  g_assert_nonnull (strstr (error->message, "IOMMU is off"));
}

/* A group, but one function outside of it (an IOMMU that covers only part of the bus). */
static void
test_function_without_group (void)
{
  g_autoptr (FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritGpu) gpu = NULL;

  fake_sysfs_add_driver (fs, "amdgpu", FAKE_NODES_DRM);
  fake_sysfs_add_device (fs, "0000:03:00.0", 0x030000, 0x1002, 0x73bf, 7, "amdgpu", FALSE);
  fake_sysfs_add_device (fs, "0000:03:00.1", 0x040300, 0x1002, 0xab28, -1, NULL, FALSE);
  gpu = spirit_gpu_discover ("0000:03:00.0", &error);
  g_assert_no_error (error);
  g_assert_false (spirit_gpu_check_viable (gpu, &error));
  g_assert_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_IOMMU_DISABLED);
  g_assert_nonnull (strstr (error->message, "0000:03:00.1 has no IOMMU group"));
  /* a function without a driver returns to none */
  g_assert_null (spirit_gpu_get_host_driver (gpu, "0000:03:00.1"));
}

/* Two display functions in one slot make one GPU; functions in two groups give two groups. */
static void
test_multi_function_slot (void)
{
  g_autoptr (FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) gpus = NULL;
  g_autoptr (SpiritGpu) gpu = NULL;
  GArray *groups;

  fake_sysfs_add_driver (fs, "radeon", FAKE_NODES_DRM);
  fake_sysfs_add_device (fs, "0000:02:00.0", 0x030000, 0x1002, 0x6779, 4, "radeon", FALSE);
  fake_sysfs_add_device (fs, "0000:02:00.1", 0x038000, 0x1002, 0x6779, 5, NULL, FALSE);
  fake_sysfs_add_device (fs, "0000:02:00.2", 0x0c0330, 0x1002, 0x43bb, 5, NULL, FALSE);
  gpus = spirit_gpu_discover_all (&error);
  g_assert_no_error (error);
  g_assert_cmpuint (gpus->len, ==, 1);
  g_assert_cmpstr (spirit_gpu_get_address (g_ptr_array_index (gpus, 0)), ==, "0000:02:00.0");
  g_assert_cmpuint (spirit_gpu_get_functions (g_ptr_array_index (gpus, 0))->len, ==, 3);

  /* discovering the second display function finds the slot's first */
  gpu = spirit_gpu_discover ("0000:02:00.1", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (spirit_gpu_get_address (gpu), ==, "0000:02:00.0");
  groups = spirit_gpu_get_groups (gpu);
  g_assert_cmpuint (groups->len, ==, 2);
  g_assert_cmpint (g_array_index (groups, int, 0), ==, 4);
  g_assert_cmpint (g_array_index (groups, int, 1), ==, 5);
  g_assert_true (spirit_gpu_check_viable (gpu, &error));
  g_assert_no_error (error);
}

static void
test_device_nodes (void)
{
  g_autoptr (FakeSysfs) fs = gpu_test_tree_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) gpu_nodes = spirit_pci_list_device_nodes (TREE_GPU, &error);
  g_autoptr (GPtrArray) audio_nodes = spirit_pci_list_device_nodes (TREE_AUDIO, &error);
  g_autoptr (GPtrArray) sata_nodes = spirit_pci_list_device_nodes (TREE_SATA, &error);
  SpiritDevNode *node;

  g_assert_no_error (error);
  /* card0 and fb0 belong to the iGPU, which was bound first */
  g_assert_cmpuint (gpu_nodes->len, ==, 2);
  node = g_ptr_array_index (gpu_nodes, 0);
  g_assert_cmpstr (node->path, ==, "/dev/dri/card1");
  g_assert_cmpstr (node->subsystem, ==, "drm");
  g_assert_cmpuint (node->major, ==, 226);
  g_assert_cmpuint (node->minor, ==, 1);
  node = g_ptr_array_index (gpu_nodes, 1);
  g_assert_cmpstr (node->path, ==, "/dev/fb1");
  g_assert_cmpstr (node->subsystem, ==, "graphics");

  g_assert_cmpuint (audio_nodes->len, ==, 1);
  node = g_ptr_array_index (audio_nodes, 0);
  g_assert_cmpstr (node->path, ==, "/dev/snd/controlC0");
  g_assert_cmpstr (node->subsystem, ==, "sound");
  g_assert_cmpuint (sata_nodes->len, ==, 0);

  g_assert_null (spirit_pci_list_device_nodes ("0000:09:00.0", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_live_reads (void)
{
  g_autoptr (FakeSysfs) fs = gpu_test_tree_new (TRUE);
  g_autoptr (GError) error = NULL;
  g_autofree char *driver = spirit_pci_read_driver (TREE_GPU, &error);
  g_autofree char *none = spirit_pci_read_driver ("0000:00:00.0", &error);
  g_autofree char *override = spirit_pci_read_driver_override (TREE_GPU, &error);
  g_autoptr (GPtrArray) slot = spirit_pci_list_slot_functions (TREE_AUDIO, &error);
  g_autoptr (GPtrArray) group = spirit_pci_list_group (TREE_GROUP, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (driver, ==, "nouveau");
  g_assert_null (none);
  g_assert_null (override); /* "(null)" */
  g_assert_cmpuint (slot->len, ==, 2);
  g_assert_cmpuint (group->len, ==, 3);
  g_assert_cmpint (spirit_pci_read_iommu_group (TREE_GPU, NULL), ==, TREE_GROUP);
  g_assert_true (spirit_iommu_is_enabled ());

  g_assert_null (spirit_pci_read_driver ("0000:09:00.0", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (spirit_pci_address_is_valid ("0000:01:00.0"));
  g_assert_true (spirit_pci_address_is_valid ("ffff:ff:1f.7"));
  g_assert_false (spirit_pci_address_is_valid ("0000:01:00.8"));
  g_assert_false (spirit_pci_address_is_valid ("0000:01:00"));
  g_assert_false (spirit_pci_address_is_valid ("0000:01:00.0/../x"));
  g_assert_false (spirit_pci_address_is_valid (NULL));
}

static void
test_monitor_devpath (void)
{
  g_autoptr (FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr (SpiritGpuMonitor) monitor = spirit_gpu_monitor_new ();
  g_autofree char *a = spirit_gpu_monitor_address_from_devpath (
    "/devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card0");
  g_autofree char *b = spirit_gpu_monitor_address_from_devpath ("/devices/virtual/vfio/3");
  g_autofree char *c = spirit_gpu_monitor_address_from_devpath (
    "/devices/pci0000:00/0000:00:01.0/0000:01:00.1/sound/card0/controlC0");

  g_assert_cmpstr (a, ==, "0000:01:00.0");
  g_assert_null (b);
  g_assert_cmpstr (c, ==, "0000:01:00.1");
  /* a test tree has no event source */
  g_assert_cmpstr (spirit_gpu_monitor_get_source (monitor), ==, "none");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gpu/discovery/list", test_list);
  g_test_add_func ("/gpu/discovery/names", test_names);
  g_test_add_func ("/gpu/discovery/discover-one", test_discover_one);
  g_test_add_func ("/gpu/discovery/not-viable", test_not_viable);
  g_test_add_func ("/gpu/discovery/iommu-off", test_iommu_off);
  g_test_add_func ("/gpu/discovery/function-without-group", test_function_without_group);
  g_test_add_func ("/gpu/discovery/multi-function-slot", test_multi_function_slot);
  g_test_add_func ("/gpu/discovery/device-nodes", test_device_nodes);
  g_test_add_func ("/gpu/discovery/live-reads", test_live_reads);
  g_test_add_func ("/gpu/discovery/monitor-devpath", test_monitor_devpath);
  return g_test_run ();
}
