/* fake-host.c: fake sysfs trees for the profile tests. */
#define G_LOG_DOMAIN "fake-host"

#include "fake-host.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

FakeHost *
fake_host_new (void)
{
  FakeHost *host = g_new0 (FakeHost, 1);
  g_autoptr (GError) error = NULL;

  host->root = g_dir_make_tmp ("spirit-fake-host-XXXXXX", &error);
  g_assert_no_error (error);
  return host;
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

void
fake_host_free (FakeHost *host)
{
  remove_tree (host->root);
  g_free (host->root);
  g_free (host);
}

void
fake_host_write (FakeHost *host, const char *path, const char *contents)
{
  g_autofree char *full = g_strconcat (host->root, path, NULL);
  g_autofree char *dir = g_path_get_dirname (full);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (full, contents, -1, &error);
  g_assert_no_error (error);
}

void
fake_host_set_online (FakeHost *host, const char *list)
{
  g_autofree char *text = g_strconcat (list, "\n", NULL);

  fake_host_write (host, "/sys/devices/system/cpu/online", text);
}

void
fake_host_add_cpu (FakeHost *host, guint cpu, guint package, guint core_id, const char *siblings)
{
  g_autofree char *dir = g_strdup_printf ("/sys/devices/system/cpu/cpu%u/topology", cpu);
  g_autofree char *package_path = g_strconcat (dir, "/physical_package_id", NULL);
  g_autofree char *core_path = g_strconcat (dir, "/core_id", NULL);
  g_autofree char *siblings_path = g_strconcat (dir, "/thread_siblings_list", NULL);
  g_autofree char *package_text = g_strdup_printf ("%u\n", package);
  g_autofree char *core_text = g_strdup_printf ("%u\n", core_id);
  g_autofree char *siblings_text = g_strconcat (siblings, "\n", NULL);

  fake_host_write (host, package_path, package_text);
  fake_host_write (host, core_path, core_text);
  fake_host_write (host, siblings_path, siblings_text);
}

/* Intel's numbering: first every core's thread 0, then every core's thread 1, so the siblings
 * of CPU c are c, c + N, c + 2N ... with N the number of cores; core ids restart per package. */
void
fake_host_add_smt_cores (FakeHost *host, guint n_packages, guint cores_per_package, guint threads)
{
  guint n_cores = n_packages * cores_per_package;
  g_autofree char *online = g_strdup_printf ("0-%u", n_cores * threads - 1);

  for (guint core = 0; core < n_cores; core++)
    {
      g_autoptr (GString) siblings = g_string_new (NULL);

      for (guint t = 0; t < threads; t++)
        g_string_append_printf (siblings, "%s%u", t ? "," : "", core + t * n_cores);
      for (guint t = 0; t < threads; t++)
        fake_host_add_cpu (host, core + t * n_cores, core / cores_per_package,
                           core % cores_per_package, siblings->str);
    }
  fake_host_set_online (host, online);
}

void
fake_host_add_hugepages (FakeHost *host, guint64 page_kib, guint64 total, guint64 free_pages)
{
  g_autofree char *dir
    = g_strdup_printf ("/sys/kernel/mm/hugepages/hugepages-%" G_GUINT64_FORMAT "kB", page_kib);
  g_autofree char *nr_path = g_strconcat (dir, "/nr_hugepages", NULL);
  g_autofree char *free_path = g_strconcat (dir, "/free_hugepages", NULL);
  g_autofree char *nr_text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", total);
  g_autofree char *free_text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", free_pages);

  fake_host_write (host, nr_path, nr_text);
  fake_host_write (host, free_path, free_text);
}

void
fake_host_set_mounts (FakeHost *host, const char *mounts)
{
  fake_host_write (host, "/proc/mounts", mounts);
}

void
fake_host_add_pci_device (FakeHost *host, const char *address)
{
  g_autofree char *path = g_strdup_printf ("/sys/bus/pci/devices/%s/vendor", address);

  fake_host_write (host, path, "0x10de\n");
}
