/* fake-sysfs.h: a sysfs and /dev tree in a temporary directory, with a fake kernel behind it.
 *
 * The tree has the shape the real kernel's has (bus/pci/devices links, drivers with bind and
 * unbind, drivers_probe, iommu_groups, driver_override, class devices with dev and uevent,
 * vtconsoles, platform framebuffers, /dev nodes as plain files). A thread plays the kernel: it
 * watches the control files with inotify and, after each write, binds and unbinds drivers and
 * creates and removes device nodes as the kernel would, asynchronously, so the library's waits
 * are exercised for real. spirit_sysfs_set_root() points the library at the tree.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  FAKE_NODES_NONE,
  FAKE_NODES_DRM,   /* drm/cardN + graphics/fbN, /dev/dri/cardN, /dev/fbN */
  FAKE_NODES_SOUND, /* sound/cardN/controlCN, /dev/snd/controlCN */
  FAKE_NODES_VFIO,  /* /dev/vfio/GROUP while a group member is bound */
} FakeNodes;

typedef struct _FakeSysfs FakeSysfs;

FakeSysfs *fake_sysfs_new (void);
void fake_sysfs_free (FakeSysfs *fs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeSysfs, fake_sysfs_free)

const char *fake_sysfs_get_root (FakeSysfs *fs);
void fake_sysfs_add_driver (FakeSysfs *fs, const char *name, FakeNodes nodes);
void fake_sysfs_add_device (FakeSysfs *fs,
                            const char *address,
                            guint32 class_code,
                            guint16 vendor,
                            guint16 device,
                            int group,
                            const char *driver,
                            gboolean boot_vga);
void
fake_sysfs_add_vtconsole (FakeSysfs *fs, const char *name, const char *description, gboolean bound);
void fake_sysfs_add_platform_framebuffer (FakeSysfs *fs, const char *driver, const char *device);
void fake_sysfs_add_bus_driver_only (FakeSysfs *fs, const char *name);

/* Misbehaviour on demand: DRIVER ignores probes and binds of ADDRESS; DRIVER binds but makes
 * no device nodes. */
void fake_sysfs_refuse (FakeSysfs *fs, const char *driver, const char *address);
void fake_sysfs_set_makes_nodes (FakeSysfs *fs, const char *driver, gboolean makes_nodes);

char *fake_sysfs_path (FakeSysfs *fs, const char *path);
char *fake_sysfs_read (FakeSysfs *fs, const char *path);
gboolean fake_sysfs_exists (FakeSysfs *fs, const char *path);
char *fake_sysfs_driver (FakeSysfs *fs, const char *address);
guint fake_sysfs_get_writes (FakeSysfs *fs);

G_END_DECLS
