/* spirit-gpu-consoles.c: vtconsole and platform framebuffer unbinding through spirit-sysfs.
 *
 * vtconsole bind writes are synchronous in the kernel (the console is taken over before the
 * write returns), so they are read back rather than waited for. Platform driver unbinds are
 * waited for like PCI ones.
 */
#define G_LOG_DOMAIN "spirit-gpu-consoles"

#include "spirit-gpu-consoles.h"
#include "spirit-gpu-error.h"
#include "spirit-pci-device.h"
#include "spirit-sysfs.h"
#include "spirit-wait.h"

#include <string.h>

static const char *const firmware_fb_drivers[] = {
  "efi-framebuffer",
  "simple-framebuffer",
  "vesa-framebuffer",
};

gboolean
spirit_gpu_has_framebuffer (const char *const *addresses)
{
  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autofree char *dir = spirit_pci_device_path (addresses[i], "graphics");
      g_autoptr (GPtrArray) fbs = spirit_sysfs_list (dir, NULL);

      for (guint j = 0; fbs != NULL && j < fbs->len; j++)
        if (g_str_has_prefix (g_ptr_array_index (fbs, j), "fb"))
          return TRUE;
    }
  return FALSE;
}

/* "DRIVER/DEVICE" for every firmware framebuffer device bound to its driver now. */
GPtrArray *
spirit_gpu_list_firmware_framebuffers (void)
{
  GPtrArray *bound = g_ptr_array_new_with_free_func (g_free);

  for (gsize i = 0; i < G_N_ELEMENTS (firmware_fb_drivers); i++)
    {
      g_autofree char *dir
        = g_strconcat ("/sys/bus/platform/drivers/", firmware_fb_drivers[i], NULL);
      g_autoptr (GPtrArray) entries = spirit_sysfs_list (dir, NULL);

      for (guint j = 0; entries != NULL && j < entries->len; j++)
        {
          const char *name = g_ptr_array_index (entries, j);

          /* devices are links named like the driver ("efi-framebuffer.0"); the rest are
           * attributes (bind, unbind, uevent) and the module link */
          if (g_str_has_prefix (name, firmware_fb_drivers[i]) && strchr (name, '.') != NULL)
            g_ptr_array_add (bound, g_strconcat (firmware_fb_drivers[i], "/", name, NULL));
        }
    }
  return bound;
}

static gboolean
is_fbcon (const char *vtcon)
{
  g_autofree char *path = g_strconcat ("/sys/class/vtconsole/", vtcon, "/name", NULL);
  g_autofree char *name = spirit_sysfs_read_or_null (path);

  return name != NULL && strstr (name, "frame buffer") != NULL;
}

static char *
read_bind (const char *vtcon, GError **error)
{
  g_autofree char *path = g_strconcat ("/sys/class/vtconsole/", vtcon, "/bind", NULL);
  char *value = NULL;

  if (!spirit_sysfs_read (path, &value, error))
    return NULL;
  return value;
}

static gboolean
write_bind (const char *vtcon, const char *value, GError **error)
{
  g_autofree char *path = g_strconcat ("/sys/class/vtconsole/", vtcon, "/bind", NULL);
  g_autofree char *now = NULL;

  if (!spirit_sysfs_write (path, value, error))
    return FALSE;
  now = read_bind (vtcon, error);
  if (now == NULL)
    return FALSE;
  if (!g_str_equal (now, value))
    {
      g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_FAILED,
                   "%s still reads %s after “%s” was written to it", path, now, value);
      return FALSE;
    }
  return TRUE;
}

/* Unbinds every bound fbcon vtconsole and appends its name ("vtcon1") to RELEASED. */
gboolean
spirit_gpu_release_vtconsoles (GPtrArray *released, GError **error)
{
  g_autoptr (GPtrArray) vtcons = spirit_sysfs_list ("/sys/class/vtconsole", NULL);

  for (guint i = 0; vtcons != NULL && i < vtcons->len; i++)
    {
      const char *vtcon = g_ptr_array_index (vtcons, i);
      g_autofree char *bind = NULL;

      if (!is_fbcon (vtcon))
        continue;
      bind = read_bind (vtcon, error);
      if (bind == NULL)
        return FALSE;
      if (!g_str_equal (bind, "1"))
        continue;
      if (!write_bind (vtcon, "0", error))
        return FALSE;
      g_ptr_array_add (released, g_strdup (vtcon));
    }
  return TRUE;
}

/* Binds the released fbcon vtconsoles again. The kernel may have renumbered them while the
 * framebuffers were gone, so an fbcon vtconsole is looked for by name when the old one is not. */
gboolean
spirit_gpu_restore_vtconsoles (GPtrArray *released, GError **error)
{
  g_autoptr (GPtrArray) vtcons = NULL;

  if (released == NULL || released->len == 0)
    return TRUE;
  vtcons = spirit_sysfs_list ("/sys/class/vtconsole", error);
  if (vtcons == NULL)
    return FALSE;
  for (guint i = 0; i < vtcons->len; i++)
    {
      const char *vtcon = g_ptr_array_index (vtcons, i);
      g_autofree char *bind = NULL;

      if (!is_fbcon (vtcon))
        continue;
      bind = read_bind (vtcon, error);
      if (bind == NULL)
        return FALSE;
      if (g_str_equal (bind, "0") && !write_bind (vtcon, "1", error))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  const char *link;
} GoneCheck;

static gboolean
check_gone (gpointer user_data, GError **error)
{
  GoneCheck *check = user_data;

  return !spirit_sysfs_exists (check->link);
}

gboolean
spirit_gpu_release_firmware_framebuffers (GPtrArray *released,
                                          gint64 deadline,
                                          GCancellable *cancellable,
                                          GError **error)
{
  g_autoptr (GPtrArray) bound = spirit_gpu_list_firmware_framebuffers ();

  for (guint i = 0; i < bound->len; i++)
    {
      const char *entry = g_ptr_array_index (bound, i);
      const char *slash = strchr (entry, '/');
      g_autofree char *driver = g_strndup (entry, slash - entry);
      g_autofree char *dir = g_strconcat ("/sys/bus/platform/drivers/", driver, NULL);
      g_autofree char *unbind = g_strconcat (dir, "/unbind", NULL);
      g_autofree char *link = g_strconcat (dir, "/", slash + 1, NULL);
      g_autofree char *what = g_strdup_printf ("%s to let go of %s", driver, slash + 1);
      const char *watch[] = { dir, NULL };
      GoneCheck check = { link };

      if (!spirit_sysfs_write (unbind, slash + 1, error)
          || !spirit_wait_until (what, watch, deadline, check_gone, &check, cancellable, error))
        return FALSE;
      g_ptr_array_add (released, g_strdup (entry));
    }
  return TRUE;
}
