/* spirit-host-sysfs.c: reads and writes sysfs files under an optional test root. */
#define G_LOG_DOMAIN "spirit-host-sysfs"

#include "spirit-host-sysfs.h"
#include "spirit-error.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

const char *
spirit_host_sysfs_root (const char *root)
{
  if (root != NULL)
    return root;
  root = g_getenv ("SPIRIT_SYSFS_ROOT");
  return root != NULL ? root : "";
}

char *
spirit_host_sysfs_path (const char *root, const char *path)
{
  g_return_val_if_fail (path != NULL && path[0] == '/', NULL);
  return g_strconcat (spirit_host_sysfs_root (root), path, NULL);
}

gboolean
spirit_host_sysfs_exists (const char *root, const char *path)
{
  g_autofree char *full = spirit_host_sysfs_path (root, path);

  return g_file_test (full, G_FILE_TEST_EXISTS);
}

/* The file's first line, without its newline. */
char *
spirit_host_sysfs_read (const char *root, const char *path, GError **error)
{
  g_autofree char *full = spirit_host_sysfs_path (root, path);
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  char *newline;

  if (!g_file_get_contents (full, &contents, NULL, &local_error))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "Cannot read %s: %s", full,
                   local_error->message);
      return NULL;
    }
  newline = strchr (contents, '\n');
  if (newline != NULL)
    *newline = '\0';
  return g_steal_pointer (&contents);
}

gboolean
spirit_host_sysfs_read_u64 (const char *root, const char *path, guint64 *value, GError **error)
{
  g_autofree char *text = spirit_host_sysfs_read (root, path, error);
  g_autoptr (GError) local_error = NULL;

  if (text == NULL)
    return FALSE;
  g_strstrip (text);
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, value, &local_error))
    {
      g_autofree char *full = spirit_host_sysfs_path (root, path);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "%s holds \"%s\", not a number: check the kernel's sysfs", full, text);
      return FALSE;
    }
  return TRUE;
}

/* One write(2), as sysfs wants: the kernel acts on the write itself and may refuse it. */
gboolean
spirit_host_sysfs_write_u64 (const char *root, const char *path, guint64 value, GError **error)
{
  g_autofree char *full = spirit_host_sysfs_path (root, path);
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", value);
  gsize len = strlen (text);
  ssize_t written;
  int saved_errno;
  int fd;

  fd = open (full, O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "Cannot open %s for writing: %s", full,
                   g_strerror (saved_errno));
      return FALSE;
    }
  written = write (fd, text, len);
  saved_errno = errno;
  close (fd);
  if (written < 0 || (gsize)written != len)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "Cannot write %" G_GUINT64_FORMAT " to %s: %s", value, full,
                   written < 0 ? g_strerror (saved_errno) : "short write");
      return FALSE;
    }
  return TRUE;
}
