/* spirit-gpu-monitor.c: udev (libgudev) or kernel uevents, reduced to "this PCI function changed".
 */
#define G_LOG_DOMAIN "spirit-gpu-monitor"

#include "spirit-gpu-monitor.h"
#include "spirit-pci-device.h"
#include "spirit-sysfs.h"

#include <errno.h>
#include <glib-unix.h>
#include <gudev/gudev.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const subsystems[] = { "pci", "drm", "sound", "vfio", "graphics", NULL };

struct _SpiritGpuMonitor
{
  GObject parent_instance;

  GUdevClient *udev;
  int uevent_fd;
  guint uevent_source;
  const char *source;
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SpiritGpuMonitor, spirit_gpu_monitor, G_TYPE_OBJECT)

/* The last PCI address in a devpath ("/devices/pci0000:00/0000:00:01.0/0000:01:00.0/drm/card0"
 * is 0000:01:00.0), or NULL. */
char *
spirit_gpu_monitor_address_from_devpath (const char *devpath)
{
  g_auto (GStrv) parts = g_strsplit (devpath ? devpath : "", "/", -1);
  const char *found = NULL;

  for (guint i = 0; parts[i] != NULL; i++)
    if (spirit_pci_address_is_valid (parts[i]))
      found = parts[i];
  return g_strdup (found);
}

static void
on_udev_event (GUdevClient *client, const char *action, GUdevDevice *device, gpointer user_data)
{
  SpiritGpuMonitor *self = user_data;
  const char *path = g_udev_device_get_sysfs_path (device);
  g_autofree char *address = NULL;

  if (g_str_has_prefix (path, "/sys"))
    path += strlen ("/sys");
  address = spirit_gpu_monitor_address_from_devpath (path);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0, address, action);
}

static gboolean
on_uevent (int fd, GIOCondition condition, gpointer user_data)
{
  SpiritGpuMonitor *self = user_data;
  char buffer[8192];
  ssize_t n;

  while ((n = recv (fd, buffer, sizeof buffer - 1, MSG_DONTWAIT)) > 0)
    {
      const char *action = NULL, *devpath = NULL, *subsystem = NULL;
      g_autofree char *address = NULL;

      buffer[n] = '\0';
      /* "ACTION@DEVPATH\0KEY=VALUE\0…" (libudev's own messages start with "libudev": skipped) */
      for (char *p = buffer; p < buffer + n; p += strlen (p) + 1)
        {
          if (g_str_has_prefix (p, "ACTION="))
            action = p + strlen ("ACTION=");
          else if (g_str_has_prefix (p, "DEVPATH="))
            devpath = p + strlen ("DEVPATH=");
          else if (g_str_has_prefix (p, "SUBSYSTEM="))
            subsystem = p + strlen ("SUBSYSTEM=");
        }
      if (action == NULL || subsystem == NULL || !g_strv_contains (subsystems, subsystem))
        continue;
      address = spirit_gpu_monitor_address_from_devpath (devpath);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0, address, action);
    }
  return G_SOURCE_CONTINUE;
}

static void
spirit_gpu_monitor_finalize (GObject *object)
{
  SpiritGpuMonitor *self = SPIRIT_GPU_MONITOR (object);

  g_clear_handle_id (&self->uevent_source, g_source_remove);
  if (self->uevent_fd >= 0)
    close (self->uevent_fd);
  g_clear_object (&self->udev);
  G_OBJECT_CLASS (spirit_gpu_monitor_parent_class)->finalize (object);
}

static void
spirit_gpu_monitor_class_init (SpiritGpuMonitorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spirit_gpu_monitor_finalize;

  /* changed (address or NULL, action: add, remove, bind, unbind, change, …) */
  signals[SIGNAL_CHANGED]
    = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
spirit_gpu_monitor_init (SpiritGpuMonitor *self)
{
  self->uevent_fd = -1;
  self->source = "none";
}

static int
open_kernel_socket (void)
{
  struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
  int fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);

  if (fd < 0)
    return -1;
  if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

SpiritGpuMonitor *
spirit_gpu_monitor_new (void)
{
  SpiritGpuMonitor *self = g_object_new (SPIRIT_TYPE_GPU_MONITOR, NULL);
  gboolean umockdev = g_getenv ("UMOCKDEV_DIR") != NULL;
  gboolean real = spirit_sysfs_is_real ();

  if (umockdev || (real && g_file_test ("/run/udev/control", G_FILE_TEST_EXISTS)))
    {
      self->udev = g_udev_client_new (subsystems);
      g_signal_connect (self->udev, "uevent", G_CALLBACK (on_udev_event), self);
      self->source = "udev";
    }
  else if (real && (self->uevent_fd = open_kernel_socket ()) >= 0)
    {
      self->uevent_source = g_unix_fd_add (self->uevent_fd, G_IO_IN, on_uevent, self);
      self->source = "kernel";
    }
  else
    g_debug ("No device events: %s", real ? g_strerror (errno) : "a test tree");
  return self;
}

const char *
spirit_gpu_monitor_get_source (SpiritGpuMonitor *self)
{
  g_return_val_if_fail (SPIRIT_IS_GPU_MONITOR (self), NULL);
  return self->source;
}
