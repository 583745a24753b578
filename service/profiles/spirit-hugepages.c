/* spirit-hugepages.c: huge page pools: read, check a VM's need, reserve more. */
#define G_LOG_DOMAIN "spirit-hugepages"

#include "spirit-hugepages.h"
#include "spirit-host-sysfs.h"
#include "spirit-error.h"

#define POOL_DIR "/sys/kernel/mm/hugepages/hugepages-%" G_GUINT64_FORMAT "kB"

gboolean
spirit_hugepages_size_is_valid (guint64 page_kib)
{
  return page_kib == SPIRIT_HUGEPAGE_2M_KIB || page_kib == SPIRIT_HUGEPAGE_1G_KIB;
}

const char *
spirit_hugepages_size_name (guint64 page_kib)
{
  return page_kib == SPIRIT_HUGEPAGE_1G_KIB ? "1 GB" : "2 MB";
}

guint64
spirit_hugepages_needed (guint64 memory_kib, guint64 page_kib)
{
  g_return_val_if_fail (page_kib > 0, 0);
  return memory_kib / page_kib + (memory_kib % page_kib != 0);
}

static char *
pool_file (guint64 page_kib, const char *file)
{
  g_autofree char *dir = g_strdup_printf (POOL_DIR, page_kib);

  return g_build_filename (dir, file, NULL);
}

gboolean
spirit_hugepages_read (const char *sysfs_root,
                       guint64 page_kib,
                       SpiritHugepagePool *pool,
                       GError **error)
{
  g_autofree char *dir = g_strdup_printf (POOL_DIR, page_kib);
  g_autofree char *nr = pool_file (page_kib, "nr_hugepages");
  g_autofree char *free_pages = pool_file (page_kib, "free_hugepages");

  g_return_val_if_fail (spirit_hugepages_size_is_valid (page_kib), FALSE);

  if (!spirit_host_sysfs_exists (sysfs_root, dir))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "This host has no %s huge pages (%s does not exist): %s",
                   spirit_hugepages_size_name (page_kib), dir,
                   page_kib == SPIRIT_HUGEPAGE_1G_KIB
                     ? "use 2 MB pages, or boot with hugepagesz=1G on a CPU that has them"
                     : "use a kernel built with CONFIG_HUGETLBFS");
      return FALSE;
    }
  pool->page_kib = page_kib;
  return spirit_host_sysfs_read_u64 (sysfs_root, nr, &pool->total, error)
         && spirit_host_sysfs_read_u64 (sysfs_root, free_pages, &pool->free, error);
}

/* "2M", "1024M", "1G", "2048k" → KiB; 0 when it is none of those. */
static guint64
parse_pagesize (const char *text)
{
  guint64 value;
  char *end = NULL;

  value = g_ascii_strtoull (text, &end, 10);
  if (end == text)
    return 0;
  switch (g_ascii_toupper (*end))
    {
    case 'K':
      return value;
    case 'M':
      return value * 1024;
    case 'G':
      return value * 1024 * 1024;
    default:
      return 0;
    }
}

/* libvirt puts a VM's huge pages in a hugetlbfs mount of that page size; it finds the mounts
 * when libvirtd starts. A mount without pagesize= uses the default size: 2 MB on x86. */
static gboolean
has_hugetlbfs_mount (const char *sysfs_root, guint64 page_kib, GError **error)
{
  g_autofree char *path = spirit_host_sysfs_path (sysfs_root, "/proc/mounts");
  g_autofree char *mounts = NULL;
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &mounts, NULL, &local_error))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "Cannot read %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  lines = g_strsplit (mounts, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], " ", -1);
      g_auto (GStrv) options = NULL;
      guint64 size = SPIRIT_HUGEPAGE_2M_KIB;

      if (g_strv_length (fields) < 4 || !g_str_equal (fields[2], "hugetlbfs"))
        continue;
      options = g_strsplit (fields[3], ",", -1);
      for (guint j = 0; options[j] != NULL; j++)
        if (g_str_has_prefix (options[j], "pagesize="))
          size = parse_pagesize (options[j] + strlen ("pagesize="));
      if (size == page_kib)
        return TRUE;
    }
  g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
               "No hugetlbfs of %s pages is mounted, so libvirt cannot back the VM with them: "
               "mount one (mkdir -p /dev/hugepages%s && mount -t hugetlbfs -o pagesize=%s "
               "hugetlbfs /dev/hugepages%s) and restart libvirtd",
               spirit_hugepages_size_name (page_kib),
               page_kib == SPIRIT_HUGEPAGE_1G_KIB ? "1G" : "",
               page_kib == SPIRIT_HUGEPAGE_1G_KIB ? "1G" : "2M",
               page_kib == SPIRIT_HUGEPAGE_1G_KIB ? "1G" : "");
  return FALSE;
}

gboolean
spirit_hugepages_check (const char *sysfs_root,
                        guint64 memory_kib,
                        guint64 page_kib,
                        GError **error)
{
  SpiritHugepagePool pool;
  guint64 needed;

  if (!spirit_hugepages_size_is_valid (page_kib))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Huge pages of %" G_GUINT64_FORMAT " KiB are not supported: use 2 MB (2048 "
                   "KiB) or 1 GB (1048576 KiB) pages",
                   page_kib);
      return FALSE;
    }
  if (memory_kib % page_kib != 0)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The VM's memory (%" G_GUINT64_FORMAT " MiB) is not a whole number of %s "
                   "pages: use %" G_GUINT64_FORMAT " MiB",
                   memory_kib / 1024, spirit_hugepages_size_name (page_kib),
                   spirit_hugepages_needed (memory_kib, page_kib) * page_kib / 1024);
      return FALSE;
    }
  if (!spirit_hugepages_read (sysfs_root, page_kib, &pool, error))
    return FALSE;
  needed = spirit_hugepages_needed (memory_kib, page_kib);
  if (pool.free < needed)
    {
      guint64 missing = needed - pool.free;
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The VM needs %" G_GUINT64_FORMAT " %s pages, only %" G_GUINT64_FORMAT
                   " are free (%" G_GUINT64_FORMAT " reserved): reserve %" G_GUINT64_FORMAT
                   " more (echo %" G_GUINT64_FORMAT " > " POOL_DIR
                   "/nr_hugepages, or spiritctl host "
                   "hugepages --reserve %" G_GUINT64_FORMAT "%s), or create the VM without huge "
                   "pages",
                   needed, spirit_hugepages_size_name (page_kib), pool.free, pool.total, missing,
                   pool.total + missing, page_kib, missing,
                   page_kib == SPIRIT_HUGEPAGE_1G_KIB ? " --size 1G" : "");
      return FALSE;
    }
  return has_hugetlbfs_mount (sysfs_root, page_kib, error);
}

gboolean
spirit_hugepages_verify_reserved (
  guint64 page_kib, guint64 before, guint64 asked, guint64 got, GError **error)
{
  if (got >= asked)
    return TRUE;
  g_set_error (
    error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
    "Asked the kernel for %" G_GUINT64_FORMAT " more %s pages, it reserved %" G_GUINT64_FORMAT
    " (%" G_GUINT64_FORMAT " in all now, %" G_GUINT64_FORMAT
    " short): it found no more contiguous free memory. Free memory (stop VMs, drop "
    "caches) and try again, or reserve them at boot (%s on the kernel command line)",
    asked - before, spirit_hugepages_size_name (page_kib), got > before ? got - before : 0, got,
    asked - got, page_kib == SPIRIT_HUGEPAGE_1G_KIB ? "hugepagesz=1G hugepages=N" : "hugepages=N");
  return FALSE;
}

gboolean
spirit_hugepages_reserve (const char *sysfs_root,
                          guint64 page_kib,
                          guint64 more,
                          SpiritHugepagePool *result,
                          GError **error)
{
  g_autofree char *nr = pool_file (page_kib, "nr_hugepages");
  SpiritHugepagePool before, after;
  guint64 asked;

  if (!spirit_hugepages_size_is_valid (page_kib))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Huge pages of %" G_GUINT64_FORMAT " KiB are not supported: use 2 MB (2048 "
                   "KiB) or 1 GB (1048576 KiB) pages",
                   page_kib);
      return FALSE;
    }
  if (more == 0 || more > G_MAXUINT64 / page_kib)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Cannot reserve %" G_GUINT64_FORMAT " more %s pages: ask for at least one, "
                   "and no more than the host's memory holds",
                   more, spirit_hugepages_size_name (page_kib));
      return FALSE;
    }
  if (!spirit_hugepages_read (sysfs_root, page_kib, &before, error))
    return FALSE;
  if (before.total > G_MAXUINT64 / page_kib - more)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Cannot reserve %" G_GUINT64_FORMAT " more %s pages: ask for fewer", more,
                   spirit_hugepages_size_name (page_kib));
      return FALSE;
    }
  asked = before.total + more;
  if (!spirit_host_sysfs_write_u64 (sysfs_root, nr, asked, error))
    return FALSE;
  if (!spirit_hugepages_read (sysfs_root, page_kib, &after, error))
    return FALSE;
  g_debug ("%s pages: asked for %" G_GUINT64_FORMAT ", the kernel has %" G_GUINT64_FORMAT,
           spirit_hugepages_size_name (page_kib), asked, after.total);
  if (result != NULL)
    *result = after;
  return spirit_hugepages_verify_reserved (page_kib, before.total, asked, after.total, error);
}
