/* fake-sysfs.c: the tree and its kernel thread. See fake-sysfs.h.
 *
 * The kernel thread handles one control-file write at a time, in the order inotify reports
 * them, like the kernel's store functions. Its rules follow drivers/base and drivers/pci:
 *   drivers/D/unbind ← ADDR    if ADDR is bound to D: unbind (nodes removed first)
 *   drivers/D/bind ← ADDR      if ADDR is unbound and D matches it: bind
 *   drivers_probe ← ADDR       if ADDR is unbound: bind driver_override's driver, else the
 *                              device's own driver (the one it matched at boot)
 * A driver matches a device when it is the device's own driver and no other override is set,
 * or when it is the override.
 */
#define G_LOG_DOMAIN "fake-sysfs"
#define _GNU_SOURCE /* nftw() */

#include "fake-sysfs.h"
#include "spirit-sysfs.h"

#include <errno.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

typedef struct
{
  char *name;
  FakeNodes nodes;
  gboolean makes_nodes;
  GHashTable *refused; /* addresses */
} FakeDriver;

typedef struct
{
  char *address;
  char *own_driver; /* matched at boot; NULL: none */
  int group;
} FakeDevice;

struct _FakeSysfs
{
  char *root;
  GMutex lock;         /* drivers, devices, watches */
  GHashTable *drivers; /* name → FakeDriver */
  GHashTable *devices; /* address → FakeDevice */
  GHashTable *watches; /* wd → directory (logical path) */
  int inotify_fd;
  int stop_pipe[2];
  GThread *thread;
  guint writes;
};

static void
fake_driver_free (FakeDriver *driver)
{
  g_free (driver->name);
  g_hash_table_unref (driver->refused);
  g_free (driver);
}

static void
fake_device_free (FakeDevice *device)
{
  g_free (device->address);
  g_free (device->own_driver);
  g_free (device);
}

char *
fake_sysfs_path (FakeSysfs *fs, const char *path)
{
  return g_strconcat (fs->root, path, NULL);
}

static void
mkdirs (FakeSysfs *fs, const char *path)
{
  g_autofree char *full = fake_sysfs_path (fs, path);

  g_assert_no_errno (g_mkdir_with_parents (full, 0755));
}

static void
put (FakeSysfs *fs, const char *path, const char *contents)
{
  g_autofree char *full = fake_sysfs_path (fs, path);
  g_autofree char *dir = g_path_get_dirname (full);
  g_autoptr (GError) error = NULL;

  g_assert_no_errno (g_mkdir_with_parents (dir, 0755));
  /* no fsync: the tree lives only as long as the test */
  g_file_set_contents_full (full, contents, -1, G_FILE_SET_CONTENTS_NONE, 0644, &error);
  g_assert_no_error (error);
}

/* Links PATH to the tree's TARGET (absolute, inside the tree). */
static void
link_to (FakeSysfs *fs, const char *path, const char *target)
{
  g_autofree char *full = fake_sysfs_path (fs, path);
  g_autofree char *full_target = fake_sysfs_path (fs, target);
  g_autofree char *dir = g_path_get_dirname (full);

  g_assert_no_errno (g_mkdir_with_parents (dir, 0755));
  g_unlink (full);
  g_assert_no_errno (symlink (full_target, full));
}

static int
remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove (path);
}

static void
remove_path (FakeSysfs *fs, const char *path)
{
  g_autofree char *full = fake_sysfs_path (fs, path);

  nftw (full, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

gboolean
fake_sysfs_exists (FakeSysfs *fs, const char *path)
{
  g_autofree char *full = fake_sysfs_path (fs, path);
  struct stat st;

  return lstat (full, &st) == 0;
}

char *
fake_sysfs_read (FakeSysfs *fs, const char *path)
{
  g_autofree char *full = fake_sysfs_path (fs, path);
  char *contents = NULL;

  if (!g_file_get_contents (full, &contents, NULL, NULL))
    return NULL;
  return g_strchomp (contents);
}

static char *
device_dir (const char *address)
{
  return g_strconcat ("/sys/devices/pci0000:00/", address, NULL);
}

char *
fake_sysfs_driver (FakeSysfs *fs, const char *address)
{
  g_autofree char *link = g_strconcat ("/sys/bus/pci/devices/", address, "/driver", NULL);
  g_autofree char *full = fake_sysfs_path (fs, link);
  g_autofree char *target = g_file_read_link (full, NULL);

  return target ? g_path_get_basename (target) : NULL;
}

guint
fake_sysfs_get_writes (FakeSysfs *fs)
{
  guint n;

  g_mutex_lock (&fs->lock);
  n = fs->writes;
  g_mutex_unlock (&fs->lock);
  return n;
}

static void
watch (FakeSysfs *fs, const char *dir)
{
  g_autofree char *full = fake_sysfs_path (fs, dir);
  int wd = inotify_add_watch (fs->inotify_fd, full, IN_CLOSE_WRITE);

  g_assert_cmpint (wd, >=, 0);
  g_hash_table_insert (fs->watches, GINT_TO_POINTER (wd), g_strdup (dir));
}

/* The lowest N for which PREFIX followed by N does not exist. */
static guint
free_index (FakeSysfs *fs, const char *prefix)
{
  for (guint n = 0;; n++)
    {
      g_autofree char *path = g_strdup_printf ("%s%u", prefix, n);

      if (!fake_sysfs_exists (fs, path))
        return n;
    }
}

static void
add_class_device (FakeSysfs *fs,
                  const char *address,
                  const char *rel,
                  const char *subsystem,
                  guint major,
                  guint minor,
                  const char *devname)
{
  g_autofree char *device = device_dir (address);
  g_autofree char *dir = g_strconcat (device, "/", rel, NULL);
  g_autofree char *dev = g_strdup_printf ("%u:%u\n", major, minor);
  g_autofree char *uevent
    = g_strdup_printf ("MAJOR=%u\nMINOR=%u\nDEVNAME=%s\n", major, minor, devname);
  g_autofree char *node = g_strconcat ("/dev/", devname, NULL);
  g_autofree char *dev_path = g_strconcat (dir, "/dev", NULL);
  g_autofree char *uevent_path = g_strconcat (dir, "/uevent", NULL);
  g_autofree char *subsystem_link = g_strconcat (dir, "/subsystem", NULL);
  g_autofree char *class_dir = g_strconcat ("/sys/class/", subsystem, NULL);

  mkdirs (fs, class_dir);
  put (fs, dev_path, dev);
  put (fs, uevent_path, uevent);
  link_to (fs, subsystem_link, class_dir);
  put (fs, node, "");
}

/* Called with the lock held. */
static void
make_nodes (FakeSysfs *fs, FakeDriver *driver, FakeDevice *device)
{
  if (!driver->makes_nodes)
    return;
  switch (driver->nodes)
    {
    case FAKE_NODES_DRM:
      {
        guint card = free_index (fs, "/dev/dri/card");
        guint fb = free_index (fs, "/dev/fb");
        g_autofree char *card_rel = g_strdup_printf ("drm/card%u", card);
        g_autofree char *card_name = g_strdup_printf ("dri/card%u", card);
        g_autofree char *fb_rel = g_strdup_printf ("graphics/fb%u", fb);
        g_autofree char *fb_name = g_strdup_printf ("fb%u", fb);

        add_class_device (fs, device->address, card_rel, "drm", 226, card, card_name);
        add_class_device (fs, device->address, fb_rel, "graphics", 29, fb, fb_name);
        break;
      }
    case FAKE_NODES_SOUND:
      {
        guint card = free_index (fs, "/dev/snd/controlC");
        g_autofree char *rel = g_strdup_printf ("sound/card%u/controlC%u", card, card);
        g_autofree char *name = g_strdup_printf ("snd/controlC%u", card);

        add_class_device (fs, device->address, rel, "sound", 116, card * 32, name);
        break;
      }
    case FAKE_NODES_VFIO:
      {
        g_autofree char *node = g_strdup_printf ("/dev/vfio/%d", device->group);

        if (!fake_sysfs_exists (fs, node))
          put (fs, node, "");
        break;
      }
    case FAKE_NODES_NONE:
      break;
    }
}

static gboolean
group_has_vfio_device (FakeSysfs *fs, int group)
{
  GHashTableIter iter;
  FakeDevice *device;

  g_hash_table_iter_init (&iter, fs->devices);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&device))
    {
      g_autofree char *driver = fake_sysfs_driver (fs, device->address);

      if (device->group == group && g_strcmp0 (driver, "vfio-pci") == 0)
        return TRUE;
    }
  return FALSE;
}

/* Called with the lock held. Removes every node the device's driver made: the kernel does that
 * in the driver's remove(), before the driver link goes. */
static void
remove_nodes (FakeSysfs *fs, FakeDriver *driver, FakeDevice *device)
{
  g_autofree char *dir = device_dir (device->address);

  for (guint i = 0; i < 3; i++)
    {
      const char *sub = (const char *[]){ "drm", "graphics", "sound" }[i];
      g_autofree char *class_dir = g_strconcat (dir, "/", sub, NULL);
      g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *full = fake_sysfs_path (fs, class_dir);
      g_autoptr (GDir) d = g_dir_open (full, 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (found, g_strdup (name));
      for (guint j = 0; j < found->len; j++)
        {
          const char *entry = g_ptr_array_index (found, j);
          g_autofree char *node = NULL;

          if (g_str_equal (sub, "drm"))
            node = g_strconcat ("/dev/dri/", entry, NULL);
          else if (g_str_equal (sub, "graphics"))
            node = g_strconcat ("/dev/", entry, NULL);
          else
            node = g_strdup_printf ("/dev/snd/controlC%s", entry + strlen ("card"));
          remove_path (fs, node);
        }
      remove_path (fs, class_dir);
    }
}

/* Called with the lock held. */
static void
bind (FakeSysfs *fs, FakeDriver *driver, FakeDevice *device)
{
  g_autofree char *dir = device_dir (device->address);
  g_autofree char *driver_link = g_strconcat (dir, "/driver", NULL);
  g_autofree char *driver_dir = g_strconcat ("/sys/bus/pci/drivers/", driver->name, NULL);
  g_autofree char *back_link = g_strconcat (driver_dir, "/", device->address, NULL);

  if (g_hash_table_contains (driver->refused, device->address))
    {
      g_debug ("fake kernel: %s refuses %s", driver->name, device->address);
      return;
    }
  /* the driver's probe() makes its devices; the link appears when probe() has returned */
  make_nodes (fs, driver, device);
  link_to (fs, back_link, dir);
  link_to (fs, driver_link, driver_dir);
  g_debug ("fake kernel: %s bound to %s", device->address, driver->name);
}

static void
unbind (FakeSysfs *fs, FakeDriver *driver, FakeDevice *device)
{
  g_autofree char *dir = device_dir (device->address);
  g_autofree char *driver_link = g_strconcat (dir, "/driver", NULL);
  g_autofree char *back_link
    = g_strconcat ("/sys/bus/pci/drivers/", driver->name, "/", device->address, NULL);

  remove_nodes (fs, driver, device);
  remove_path (fs, back_link);
  remove_path (fs, driver_link);
  if (driver->nodes == FAKE_NODES_VFIO && !group_has_vfio_device (fs, device->group))
    {
      g_autofree char *node = g_strdup_printf ("/dev/vfio/%d", device->group);

      remove_path (fs, node);
    }
  g_debug ("fake kernel: %s unbound from %s", device->address, driver->name);
}

static char *
override_of (FakeSysfs *fs, FakeDevice *device)
{
  g_autofree char *dir = device_dir (device->address);
  g_autofree char *path = g_strconcat (dir, "/driver_override", NULL);
  g_autofree char *value = fake_sysfs_read (fs, path);

  if (value == NULL || value[0] == '\0' || g_str_equal (value, "(null)"))
    return NULL;
  return g_steal_pointer (&value);
}

static gboolean
matches (FakeSysfs *fs, FakeDriver *driver, FakeDevice *device)
{
  g_autofree char *override = override_of (fs, device);

  if (override != NULL)
    return g_str_equal (override, driver->name);
  return g_strcmp0 (device->own_driver, driver->name) == 0;
}

/* Called with the lock held: one write to a control file. */
static void
handle_write (FakeSysfs *fs, const char *dir, const char *file)
{
  g_autofree char *path = g_strconcat (dir, "/", file, NULL);
  g_autofree char *value = fake_sysfs_read (fs, path);
  g_autofree char *current = NULL;
  FakeDevice *device;
  FakeDriver *driver;

  if (value == NULL)
    return;
  fs->writes++;
  if (g_str_has_prefix (dir, "/sys/bus/platform/drivers/") && g_str_equal (file, "unbind"))
    {
      g_autofree char *link = g_strconcat (dir, "/", value, NULL);

      remove_path (fs, link);
      return;
    }
  device = g_hash_table_lookup (fs->devices, value);
  if (device == NULL)
    return; /* the kernel: ENODEV */
  current = fake_sysfs_driver (fs, device->address);

  if (g_str_equal (dir, "/sys/bus/pci") && g_str_equal (file, "drivers_probe"))
    {
      g_autofree char *override = override_of (fs, device);
      const char *name = override ? override : device->own_driver;

      driver = name ? g_hash_table_lookup (fs->drivers, name) : NULL;
      if (current == NULL && driver != NULL)
        bind (fs, driver, device);
      return;
    }
  driver = g_hash_table_lookup (fs->drivers, strrchr (dir, '/') + 1);
  if (driver == NULL)
    return;
  if (g_str_equal (file, "unbind") && g_strcmp0 (current, driver->name) == 0)
    unbind (fs, driver, device);
  else if (g_str_equal (file, "bind") && current == NULL && matches (fs, driver, device))
    bind (fs, driver, device);
}

static gpointer
kernel_thread (gpointer user_data)
{
  FakeSysfs *fs = user_data;
  char buffer[16384] __attribute__ ((aligned (__alignof__(struct inotify_event))));

  for (;;)
    {
      struct pollfd fds[2] = { { fs->inotify_fd, POLLIN, 0 }, { fs->stop_pipe[0], POLLIN, 0 } };
      ssize_t n;

      if (poll (fds, 2, -1) < 0 && errno != EINTR)
        g_error ("fake kernel: poll: %s", g_strerror (errno));
      if (fds[1].revents)
        return NULL;
      n = read (fs->inotify_fd, buffer, sizeof buffer);
      for (char *p = buffer; n > 0 && p < buffer + n;)
        {
          struct inotify_event *event = (struct inotify_event *)p;
          const char *dir;

          g_mutex_lock (&fs->lock);
          dir = g_hash_table_lookup (fs->watches, GINT_TO_POINTER (event->wd));
          if (dir != NULL && event->len > 0 && (event->mask & IN_CLOSE_WRITE))
            handle_write (fs, dir, event->name);
          g_mutex_unlock (&fs->lock);
          p += sizeof (struct inotify_event) + event->len;
        }
    }
}

FakeSysfs *
fake_sysfs_new (void)
{
  FakeSysfs *fs = g_new0 (FakeSysfs, 1);
  g_autoptr (GError) error = NULL;

  /* tmpfs when there is one: the trees are small but made and removed for every case */
  if (g_access ("/dev/shm", W_OK) == 0)
    {
      fs->root = g_strdup ("/dev/shm/spirit-fake-sysfs-XXXXXX");
      g_assert_nonnull (g_mkdtemp (fs->root));
    }
  else
    {
      fs->root = g_dir_make_tmp ("spirit-fake-sysfs-XXXXXX", &error);
      g_assert_no_error (error);
    }
  g_mutex_init (&fs->lock);
  fs->drivers
    = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)fake_driver_free);
  fs->devices
    = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)fake_device_free);
  fs->watches = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  fs->inotify_fd = inotify_init1 (IN_CLOEXEC);
  g_assert_cmpint (fs->inotify_fd, >=, 0);
  g_assert_no_errno (pipe (fs->stop_pipe));

  mkdirs (fs, "/sys/bus/pci/devices");
  mkdirs (fs, "/sys/bus/pci/drivers");
  mkdirs (fs, "/sys/bus/platform/drivers");
  mkdirs (fs, "/sys/kernel/iommu_groups");
  mkdirs (fs, "/sys/class/vtconsole");
  mkdirs (fs, "/dev/dri");
  mkdirs (fs, "/dev/snd");
  put (fs, "/dev/vfio/vfio", "");
  put (fs, "/sys/bus/pci/drivers_probe", "");
  watch (fs, "/sys/bus/pci");
  fake_sysfs_add_driver (fs, "vfio-pci", FAKE_NODES_VFIO);

  spirit_sysfs_set_root (fs->root);
  spirit_sysfs_set_faults (NULL, NULL);
  fs->thread = g_thread_new ("fake-kernel", kernel_thread, fs);
  return fs;
}

void
fake_sysfs_free (FakeSysfs *fs)
{
  g_autofree char *root = g_strdup (fs->root);

  g_assert_cmpint (write (fs->stop_pipe[1], "x", 1), ==, 1);
  g_thread_join (fs->thread);
  close (fs->stop_pipe[0]);
  close (fs->stop_pipe[1]);
  close (fs->inotify_fd);
  spirit_sysfs_set_faults (NULL, NULL);
  spirit_sysfs_set_root ("/nonexistent-spirit-test-root");
  nftw (root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
  g_hash_table_unref (fs->drivers);
  g_hash_table_unref (fs->devices);
  g_hash_table_unref (fs->watches);
  g_mutex_clear (&fs->lock);
  g_free (fs->root);
  g_free (fs);
}

const char *
fake_sysfs_get_root (FakeSysfs *fs)
{
  return fs->root;
}

void
fake_sysfs_add_driver (FakeSysfs *fs, const char *name, FakeNodes nodes)
{
  g_autofree char *dir = g_strconcat ("/sys/bus/pci/drivers/", name, NULL);
  g_autofree char *bind_path = g_strconcat (dir, "/bind", NULL);
  g_autofree char *unbind_path = g_strconcat (dir, "/unbind", NULL);
  FakeDriver *driver = g_new0 (FakeDriver, 1);

  driver->name = g_strdup (name);
  driver->nodes = nodes;
  driver->makes_nodes = TRUE;
  driver->refused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  put (fs, bind_path, "");
  put (fs, unbind_path, "");
  g_mutex_lock (&fs->lock);
  g_hash_table_insert (fs->drivers, driver->name, driver);
  watch (fs, dir);
  g_mutex_unlock (&fs->lock);
}

/* A PCI driver directory with nothing behind it (a driver the fake kernel does not run). */
void
fake_sysfs_add_bus_driver_only (FakeSysfs *fs, const char *name)
{
  g_autofree char *dir = g_strconcat ("/sys/bus/pci/drivers/", name, NULL);

  mkdirs (fs, dir);
}

void
fake_sysfs_add_device (FakeSysfs *fs,
                       const char *address,
                       guint32 class_code,
                       guint16 vendor,
                       guint16 device_id,
                       int group,
                       const char *driver_name,
                       gboolean boot_vga)
{
  g_autofree char *dir = device_dir (address);
  g_autofree char *bus_link = g_strconcat ("/sys/bus/pci/devices/", address, NULL);
  g_autofree char *class_text = g_strdup_printf ("0x%06x\n", class_code);
  g_autofree char *vendor_text = g_strdup_printf ("0x%04x\n", vendor);
  g_autofree char *device_text = g_strdup_printf ("0x%04x\n", device_id);
  g_autofree char *modalias
    = g_strdup_printf ("pci:v%08Xd%08Xsv00000000sd00000000bc%02Xsc%02Xi%02X\n", vendor, device_id,
                       class_code >> 16, (class_code >> 8) & 0xff, class_code & 0xff);
  FakeDevice *device = g_new0 (FakeDevice, 1);
  FakeDriver *driver;

#define ATTR(name, value)                                                                          \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *_p = g_strconcat (dir, "/" name, NULL);                                       \
    put (fs, _p, value);                                                                           \
  }                                                                                                \
  G_STMT_END
  ATTR ("class", class_text);
  ATTR ("vendor", vendor_text);
  ATTR ("device", device_text);
  ATTR ("modalias", modalias);
  ATTR ("driver_override", "(null)\n");
  ATTR ("uevent", "");
  if ((class_code >> 16) == 0x03)
    ATTR ("boot_vga", boot_vga ? "1\n" : "0\n");
#undef ATTR
  link_to (fs, bus_link, dir);
  if (group >= 0)
    {
      g_autofree char *group_dir = g_strdup_printf ("/sys/kernel/iommu_groups/%d", group);
      g_autofree char *member = g_strdup_printf ("%s/devices/%s", group_dir, address);
      g_autofree char *group_link = g_strconcat (dir, "/iommu_group", NULL);

      link_to (fs, member, dir);
      link_to (fs, group_link, group_dir);
    }

  device->address = g_strdup (address);
  device->own_driver = g_strdup (driver_name);
  device->group = group;
  g_mutex_lock (&fs->lock);
  g_hash_table_insert (fs->devices, device->address, device);
  driver = driver_name ? g_hash_table_lookup (fs->drivers, driver_name) : NULL;
  if (driver != NULL)
    bind (fs, driver, device);
  else if (driver_name != NULL)
    {
      /* a driver the fake kernel does not run (pcieport): only the link */
      g_autofree char *driver_dir = g_strconcat ("/sys/bus/pci/drivers/", driver_name, NULL);
      g_autofree char *driver_link = g_strconcat (dir, "/driver", NULL);

      mkdirs (fs, driver_dir);
      link_to (fs, driver_link, driver_dir);
    }
  g_mutex_unlock (&fs->lock);
}

void
fake_sysfs_add_vtconsole (FakeSysfs *fs, const char *name, const char *description, gboolean bound)
{
  g_autofree char *name_path = g_strconcat ("/sys/class/vtconsole/", name, "/name", NULL);
  g_autofree char *bind_path = g_strconcat ("/sys/class/vtconsole/", name, "/bind", NULL);
  g_autofree char *description_line = g_strconcat (description, "\n", NULL);

  put (fs, name_path, description_line);
  put (fs, bind_path, bound ? "1\n" : "0\n");
}

void
fake_sysfs_add_platform_framebuffer (FakeSysfs *fs, const char *driver, const char *device)
{
  g_autofree char *dir = g_strconcat ("/sys/bus/platform/drivers/", driver, NULL);
  g_autofree char *unbind_path = g_strconcat (dir, "/unbind", NULL);
  g_autofree char *bind_path = g_strconcat (dir, "/bind", NULL);
  g_autofree char *link = g_strconcat (dir, "/", device, NULL);
  g_autofree char *device_path = g_strconcat ("/sys/devices/platform/", device, NULL);

  mkdirs (fs, device_path);
  put (fs, unbind_path, "");
  put (fs, bind_path, "");
  link_to (fs, link, device_path);
  g_mutex_lock (&fs->lock);
  watch (fs, dir);
  g_mutex_unlock (&fs->lock);
}

void
fake_sysfs_refuse (FakeSysfs *fs, const char *driver_name, const char *address)
{
  FakeDriver *driver;

  g_mutex_lock (&fs->lock);
  driver = g_hash_table_lookup (fs->drivers, driver_name);
  g_assert_nonnull (driver);
  g_hash_table_add (driver->refused, g_strdup (address));
  g_mutex_unlock (&fs->lock);
}

void
fake_sysfs_set_makes_nodes (FakeSysfs *fs, const char *driver_name, gboolean makes_nodes)
{
  FakeDriver *driver;

  g_mutex_lock (&fs->lock);
  driver = g_hash_table_lookup (fs->drivers, driver_name);
  g_assert_nonnull (driver);
  driver->makes_nodes = makes_nodes;
  g_mutex_unlock (&fs->lock);
}
