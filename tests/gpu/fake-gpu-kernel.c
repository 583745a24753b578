/* fake-gpu-kernel.c: the fake sysfs tree and its kernel thread (fake-sysfs.c) as a process of its
 * own, for tests that run spiritd against it (SPIRIT_SYSFS_ROOT).
 *
 *   fake-gpu-kernel [--non-viable | --iommu-off]
 *
 * Builds the desktop of gpu-test-tree.h (an NVIDIA GPU with HDMI audio behind a root port, and
 * an Intel iGPU), prints the tree's root on one line, and plays the kernel until stdin is closed
 * or SIGTERM comes; then it removes the tree. --non-viable puts the SATA controller in the GPU's
 * IOMMU group; --iommu-off builds the NVIDIA GPU and its audio with no IOMMU groups at all.
 */
#define G_LOG_DOMAIN "fake-gpu-kernel"

#include <glib-unix.h>
#include <stdio.h>

#include "gpu-test-tree.h"

static gboolean
on_quit (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_stdin (int fd, GIOCondition condition, gpointer user_data)
{
  char buffer[256];

  if (!(condition & G_IO_IN) || read (fd, buffer, sizeof buffer) <= 0)
    {
      g_main_loop_quit (user_data);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static FakeSysfs *
iommu_off_tree_new (void)
{
  FakeSysfs *fs = fake_sysfs_new ();

  fake_sysfs_add_driver (fs, "nouveau", FAKE_NODES_DRM);
  fake_sysfs_add_driver (fs, "snd_hda_intel", FAKE_NODES_SOUND);
  fake_sysfs_add_device (fs, TREE_GPU, 0x030000, 0x10de, 0x2484, -1, "nouveau", FALSE);
  fake_sysfs_add_device (fs, TREE_AUDIO, 0x040300, 0x10de, 0x228b, -1, "snd_hda_intel", FALSE);
  return fs;
}

int
main (int argc, char **argv)
{
  const char *variant = argc > 1 ? argv[1] : "";
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (FakeSysfs) fs = g_str_equal (variant, "--iommu-off")
                               ? iommu_off_tree_new ()
                               : gpu_test_tree_new (!g_str_equal (variant, "--non-viable"));

  g_print ("%s\n", fake_sysfs_get_root (fs));
  fflush (stdout);
  g_unix_signal_add (SIGTERM, on_quit, loop);
  g_unix_signal_add (SIGINT, on_quit, loop);
  g_unix_fd_add (0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, loop);
  g_main_loop_run (loop);
  return 0;
}
