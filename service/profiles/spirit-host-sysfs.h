/* spirit-host-sysfs.h: how the VM-profile code reads and writes the host's /sys.
 *
 * Paths are the kernel's own ("/sys/devices/system/cpu/online") and are prefixed with a test
 * root, so the same code runs on the host and on a tree a test builds. The root is, in order:
 * the `root` argument when it is not NULL, the environment variable SPIRIT_SYSFS_ROOT (the same
 * variable, with the same meaning, as service/gpu uses: DIR/sys/...), or nothing.
 *
 * Deliberately tiny and self-contained: it shares nothing with service/gpu/spirit-sysfs.c.
 * Errors are SPIRIT_ERROR_FAILED and name the path and the system's reason.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

const char *spirit_host_sysfs_root (const char *root);
char *spirit_host_sysfs_path (const char *root, const char *path);
gboolean spirit_host_sysfs_exists (const char *root, const char *path);
char *spirit_host_sysfs_read (const char *root, const char *path, GError **error);
gboolean
spirit_host_sysfs_read_u64 (const char *root, const char *path, guint64 *value, GError **error);
gboolean
spirit_host_sysfs_write_u64 (const char *root, const char *path, guint64 value, GError **error);

G_END_DECLS
