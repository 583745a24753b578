/* spirit-hugepages.h: the host's 2 MB and 1 GB huge page pools, checked before a VM that wants
 * them is defined, and grown on request.
 *
 * Reads /sys/kernel/mm/hugepages/hugepages-{2048kB,1048576kB}/{nr,free}_hugepages and the
 * hugetlbfs mounts in /proc/mounts, all under the test root of spirit-host-sysfs (which, unlike
 * service/gpu, also prefixes /proc/mounts: a test tree brings its own).
 *
 * spirit_hugepages_reserve() writes nr_hugepages and reads it back: the kernel reserves what it
 * can find contiguous memory for, possibly fewer than asked, and the call fails saying so.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SPIRIT_HUGEPAGE_2M_KIB G_GUINT64_CONSTANT (2048)
#define SPIRIT_HUGEPAGE_1G_KIB G_GUINT64_CONSTANT (1048576)

typedef struct
{
  guint64 page_kib; /* SPIRIT_HUGEPAGE_2M_KIB or SPIRIT_HUGEPAGE_1G_KIB */
  guint64 total;    /* nr_hugepages: reserved by the kernel */
  guint64 free;     /* free_hugepages: reserved and not used by anyone */
} SpiritHugepagePool;

gboolean spirit_hugepages_size_is_valid (guint64 page_kib);
const char *spirit_hugepages_size_name (guint64 page_kib);
guint64 spirit_hugepages_needed (guint64 memory_kib, guint64 page_kib);

gboolean spirit_hugepages_read (const char *sysfs_root,
                                guint64 page_kib,
                                SpiritHugepagePool *pool,
                                GError **error);
gboolean spirit_hugepages_check (const char *sysfs_root,
                                 guint64 memory_kib,
                                 guint64 page_kib,
                                 GError **error);
gboolean spirit_hugepages_reserve (const char *sysfs_root,
                                   guint64 page_kib,
                                   guint64 more,
                                   SpiritHugepagePool *result,
                                   GError **error);
gboolean spirit_hugepages_verify_reserved (
  guint64 page_kib, guint64 before, guint64 asked, guint64 got, GError **error);

G_END_DECLS
