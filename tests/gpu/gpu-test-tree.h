/* gpu-test-tree.h: the machines the GPU unit tests run on, built on fake-sysfs.
 *
 * The standard one is a desktop with an Intel iGPU (boot VGA) and an NVIDIA card with HDMI
 * audio behind a PCIe root port, all three in one IOMMU group with the port:
 *   0000:00:00.0 host bridge       group 0
 *   0000:00:01.0 PCI bridge        group 1  pcieport
 *   0000:00:02.0 VGA (8086:3e92)   group 2  i915        boot_vga
 *   0000:01:00.0 VGA (10de:2484)   group 1  nouveau     fb0 via fbcon
 *   0000:01:00.1 audio (10de:228b) group 1  snd_hda_intel
 *   0000:00:1f.2 SATA              group 3  ahci   (group 1 in the non-viable variant)
 */
#pragma once

#include "fake-sysfs.h"

#define TREE_GPU "0000:01:00.0"
#define TREE_AUDIO "0000:01:00.1"
#define TREE_IGPU "0000:00:02.0"
#define TREE_BRIDGE "0000:00:01.0"
#define TREE_SATA "0000:00:1f.2"
#define TREE_GROUP 1

static inline FakeSysfs *
gpu_test_tree_new (gboolean viable)
{
  FakeSysfs *fs = fake_sysfs_new ();

  fake_sysfs_add_driver (fs, "i915", FAKE_NODES_DRM);
  fake_sysfs_add_driver (fs, "nouveau", FAKE_NODES_DRM);
  fake_sysfs_add_driver (fs, "snd_hda_intel", FAKE_NODES_SOUND);
  fake_sysfs_add_driver (fs, "ahci", FAKE_NODES_NONE);
  fake_sysfs_add_device (fs, "0000:00:00.0", 0x060000, 0x8086, 0x3e30, 0, NULL, FALSE);
  fake_sysfs_add_device (fs, TREE_BRIDGE, 0x060400, 0x8086, 0x1901, TREE_GROUP, "pcieport", FALSE);
  fake_sysfs_add_device (fs, TREE_IGPU, 0x030000, 0x8086, 0x3e92, 2, "i915", TRUE);
  fake_sysfs_add_device (fs, TREE_GPU, 0x030000, 0x10de, 0x2484, TREE_GROUP, "nouveau", FALSE);
  fake_sysfs_add_device (fs, TREE_AUDIO, 0x040300, 0x10de, 0x228b, TREE_GROUP, "snd_hda_intel",
                         FALSE);
  fake_sysfs_add_device (fs, TREE_SATA, 0x010601, 0x8086, 0xa352, viable ? 3 : TREE_GROUP, "ahci",
                         FALSE);
  fake_sysfs_add_vtconsole (fs, "vtcon0", "(S) dummy device", FALSE);
  fake_sysfs_add_vtconsole (fs, "vtcon1", "(M) frame buffer device", TRUE);
  return fs;
}
