/* test-gpu-umockdev.c: libspirit_gpu on a umockdev testbed, as spiritd's own tests will run it.
 *
 * Run under umockdev-wrapper (its LD_PRELOAD library redirects libudev, and so libgudev, to the
 * testbed). Checks that spirit-sysfs takes UMOCKDEV_DIR as its root, that discovery and the
 * viability check read the testbed, that names come from the udev properties through libgudev
 * (the testbed's, not the hwdb's), and that SpiritGpuMonitor hears the testbed's uevents.
 */
#define G_LOG_DOMAIN "test-gpu-umockdev"

#include "spirit-gpu-discovery.h"
#include "spirit-gpu-monitor.h"
#include "spirit-sysfs.h"

#include <glib/gstdio.h>
#include <umockdev.h>
#include <unistd.h>

typedef struct
{
  UMockdevTestbed *testbed;
} Fixture;

/* /sys/kernel/iommu_groups/GROUP/devices/NAME and the device's iommu_group link. */
static void
add_to_group (Fixture *f, const char *syspath, int group)
{
  g_autofree char *root = umockdev_testbed_get_root_dir (f->testbed);
  g_autofree char *name = g_path_get_basename (syspath);
  g_autofree char *dir = g_strdup_printf ("%s/sys/kernel/iommu_groups/%d/devices", root, group);
  g_autofree char *link = g_build_filename (dir, name, NULL);
  g_autofree char *target = g_strconcat ("../../../..", syspath + strlen ("/sys"), NULL);
  g_autofree char *group_target = g_strdup_printf ("../../kernel/iommu_groups/%d", group);

  g_assert_no_errno (g_mkdir_with_parents (dir, 0755));
  g_assert_no_errno (symlink (target, link));
  umockdev_testbed_set_attribute_link (f->testbed, syspath, "iommu_group", group_target);
}

static char *
add_pci (
  Fixture *f, const char *address, const char *class_code, const char *id, const char *driver)
{
  g_autofree char *vendor = g_strndup (id, 6);
  const char *device = id + 7;
  char *syspath = umockdev_testbed_add_device (
    f->testbed, "pci", address, NULL, "class", class_code, "vendor", vendor, "device", device,
    "driver_override", "(null)", NULL, "PCI_SLOT_NAME", address, "ID_VENDOR_FROM_DATABASE",
    "Testbed Vendor", "ID_MODEL_FROM_DATABASE", address, NULL);

  if (driver != NULL)
    {
      g_autofree char *target = g_strconcat ("../../bus/pci/drivers/", driver, NULL);

      umockdev_testbed_set_attribute_link (f->testbed, syspath, "driver", target);
    }
  return syspath;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *bridge = NULL, *gpu = NULL, *audio = NULL;
  g_autofree char *root = NULL;

  f->testbed = umockdev_testbed_new ();
  /* spirit-sysfs reads UMOCKDEV_DIR once, at first use (test_root checks that); every case has
   * a new testbed */
  root = umockdev_testbed_get_root_dir (f->testbed);
  if (g_strcmp0 (data, "from-environment") != 0)
    spirit_sysfs_set_root (root);
  bridge = add_pci (f, "0000:00:01.0", "0x060400", "0x8086:0x1901", "pcieport");
  gpu = add_pci (f, "0000:01:00.0", "0x030000", "0x10de:0x2484", "nouveau");
  audio = add_pci (f, "0000:01:00.1", "0x040300", "0x10de:0x228b", "snd_hda_intel");
  add_to_group (f, bridge, 1);
  add_to_group (f, gpu, 1);
  add_to_group (f, audio, 1);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->testbed);
}

static void
test_root (Fixture *f, gconstpointer data)
{
  g_autofree char *root = umockdev_testbed_get_root_dir (f->testbed);

  g_assert_cmpstr (g_getenv ("UMOCKDEV_DIR"), ==, root);
  g_assert_cmpstr (spirit_sysfs_get_root (), ==, root);
  g_assert_false (spirit_sysfs_is_real ());
}

static void
test_discovery (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) gpus = spirit_gpu_discover_all (&error);
  SpiritGpu *gpu;

  g_assert_no_error (error);
  g_assert_cmpuint (gpus->len, ==, 1);
  gpu = g_ptr_array_index (gpus, 0);
  g_assert_cmpstr (spirit_gpu_get_address (gpu), ==, "0000:01:00.0");
  g_assert_cmpuint (spirit_gpu_get_functions (gpu)->len, ==, 2);
  g_assert_cmpint (spirit_gpu_get_iommu_group (gpu), ==, 1);
  g_assert_cmpuint (spirit_gpu_get_group_members (gpu)->len, ==, 3);
  g_assert_cmpstr (spirit_gpu_get_host_driver (gpu, "0000:01:00.1"), ==, "snd_hda_intel");
  g_assert_true (spirit_gpu_check_viable (gpu, &error));
  g_assert_no_error (error);
  /* from the testbed's udev properties, through libgudev: not the hwdb's "GA104 …" */
  g_assert_cmpstr (spirit_gpu_get_vendor_name (gpu), ==, "Testbed Vendor");
  g_assert_cmpstr (spirit_gpu_get_model_name (gpu), ==, "0000:01:00.0");
}

typedef struct
{
  char *address;
  char *action;
  gboolean timed_out;
} Heard;

static void
on_changed (SpiritGpuMonitor *monitor, const char *address, const char *action, gpointer user_data)
{
  Heard *heard = user_data;

  if (heard->address == NULL)
    {
      heard->address = g_strdup (address);
      heard->action = g_strdup (action);
    }
}

static gboolean
on_deadline (gpointer user_data)
{
  ((Heard *)user_data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_monitor (Fixture *f, gconstpointer data)
{
  g_autoptr (SpiritGpuMonitor) monitor = spirit_gpu_monitor_new ();
  Heard heard = { NULL };
  guint deadline;

  g_assert_cmpstr (spirit_gpu_monitor_get_source (monitor), ==, "udev");
  g_signal_connect (monitor, "changed", G_CALLBACK (on_changed), &heard);
  umockdev_testbed_uevent (f->testbed, "/sys/devices/0000:01:00.1", "change");
  deadline = g_timeout_add_seconds (10, on_deadline, &heard);
  while (heard.address == NULL && !heard.timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!heard.timed_out)
    g_source_remove (deadline);
  g_assert_false (heard.timed_out);
  g_assert_cmpstr (heard.address, ==, "0000:01:00.1");
  g_assert_cmpstr (heard.action, ==, "change");
  g_free (heard.address);
  g_free (heard.action);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (strstr (g_getenv ("LD_PRELOAD") ? g_getenv ("LD_PRELOAD") : "", "libumockdev-preload")
      == NULL)
    g_error ("run this test under umockdev-wrapper");
  /* first: the root comes from the environment only at the helper's first use */
  g_test_add ("/gpu/umockdev/root", Fixture, "from-environment", fixture_set_up, test_root,
              fixture_tear_down);
  g_test_add ("/gpu/umockdev/discovery", Fixture, NULL, fixture_set_up, test_discovery,
              fixture_tear_down);
  g_test_add ("/gpu/umockdev/monitor", Fixture, NULL, fixture_set_up, test_monitor,
              fixture_tear_down);
  return g_test_run ();
}
