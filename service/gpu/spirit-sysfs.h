/* spirit-sysfs.h: the one way libspirit_gpu reaches /sys and /dev.
 *
 * Every path is given as the kernel's own absolute path ("/sys/bus/pci/drivers_probe",
 * "/dev/vfio/3") and is prefixed with the test root, so the same code runs on the host, under
 * umockdev and on a tree a test builds:
 *   SPIRIT_SYSFS_ROOT=DIR   a fake tree (DIR/sys, DIR/dev); wins over UMOCKDEV_DIR
 *   UMOCKDEV_DIR=DIR        umockdev's testbed (as power-profiles-daemon does)
 * /proc is never prefixed: processes are always the real ones.
 *
 * Errors are G_IO_ERROR (code from errno) and their message carries the path and the errno.
 *
 * Fault injection, for tests, selected by configuration: SPIRIT_SYSFS_FAIL (read once, at first
 * use) or spirit_sysfs_set_faults() take rules separated by ';':
 *   OP:PATH[=VALUE][,errno=NAME|N][,drop][,nth=N][,count=N]
 * OP is read, write, readlink or list; PATH is the unprefixed path and may hold '*' and '?';
 * VALUE, for writes, matches the written value (trailing newline ignored). By default the first
 * matching operation fails with EIO: nth=N fails the Nth match instead, count=N fails N matches
 * in a row (count=0: every one from the Nth on). drop makes a write report success without
 * writing, as a kernel that ignored it would, so the step's wait runs into its deadline.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

const char *spirit_sysfs_get_root (void);
void spirit_sysfs_set_root (const char *root);
gboolean spirit_sysfs_is_real (void);
char *spirit_sysfs_path (const char *path);

gboolean spirit_sysfs_set_faults (const char *spec, GError **error);
guint spirit_sysfs_get_faults_hit (void);

gboolean spirit_sysfs_read (const char *path, char **contents, GError **error);
char *spirit_sysfs_read_or_null (const char *path);
gboolean spirit_sysfs_read_hex (const char *path, guint64 *value, GError **error);
gboolean spirit_sysfs_write (const char *path, const char *value, GError **error);
char *spirit_sysfs_read_link (const char *path, GError **error);
char *spirit_sysfs_link_basename (const char *path);
gboolean spirit_sysfs_exists (const char *path);
GPtrArray *spirit_sysfs_list (const char *dir, GError **error);
GPtrArray *spirit_sysfs_list_dirs (const char *dir, GError **error);

G_END_DECLS
