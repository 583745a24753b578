/* test-hugepages.c: huge page pools on fake sysfs trees: arithmetic, the check before a VM is
 * defined and its messages (how many pages are missing, how to reserve them), hugetlbfs mounts,
 * and reserving (the kernel may reserve fewer than asked: that is reported). */
#define G_LOG_DOMAIN "test-hugepages"

#include "fake-host.h"
#include <glib/gstdio.h>
#include "spirit-hugepages.h"
#include "spirit-error.h"

#define MOUNTS_2M "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
#define MOUNTS_1G "none /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0\n"
#define MOUNTS_OTHER "proc /proc proc rw,nosuid 0 0\nsysfs /sys sysfs rw 0 0\n"

static void
assert_refused (GError *error, int code, const char *word)
{
  g_assert_error (error, SPIRIT_ERROR, code);
  g_test_message ("%s", error->message);
  if (strstr (error->message, word) == NULL)
    g_error ("\"%s\" not in: %s", word, error->message);
}

static void
test_arithmetic (void)
{
  g_assert_cmpuint (spirit_hugepages_needed (4 * 1024 * 1024, SPIRIT_HUGEPAGE_2M_KIB), ==, 2048);
  g_assert_cmpuint (spirit_hugepages_needed (4 * 1024 * 1024, SPIRIT_HUGEPAGE_1G_KIB), ==, 4);
  g_assert_cmpuint (spirit_hugepages_needed (2049, SPIRIT_HUGEPAGE_2M_KIB), ==, 2);
  g_assert_cmpuint (spirit_hugepages_needed (1, SPIRIT_HUGEPAGE_1G_KIB), ==, 1);
  g_assert_cmpuint (spirit_hugepages_needed (0, SPIRIT_HUGEPAGE_2M_KIB), ==, 0);
  g_assert_true (spirit_hugepages_size_is_valid (2048));
  g_assert_true (spirit_hugepages_size_is_valid (1048576));
  g_assert_false (spirit_hugepages_size_is_valid (4));
  g_assert_cmpstr (spirit_hugepages_size_name (2048), ==, "2 MB");
  g_assert_cmpstr (spirit_hugepages_size_name (1048576), ==, "1 GB");
}

static void
test_read (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (GError) error = NULL;
  SpiritHugepagePool pool;

  fake_host_add_hugepages (host, 2048, 512, 300);
  g_assert_true (spirit_hugepages_read (host->root, 2048, &pool, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pool.page_kib, ==, 2048);
  g_assert_cmpuint (pool.total, ==, 512);
  g_assert_cmpuint (pool.free, ==, 300);

  g_assert_false (spirit_hugepages_read (host->root, 1048576, &pool, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT, "no 1 GB huge pages");
  g_assert_nonnull (strstr (error->message, "use 2 MB pages"));
  g_clear_error (&error);

  fake_host_write (host, "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "lots\n");
  g_assert_false (spirit_hugepages_read (host->root, 2048, &pool, &error));
  assert_refused (error, SPIRIT_ERROR_FAILED, "not a number");
}

static void
test_check_enough (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (GError) error = NULL;

  fake_host_add_hugepages (host, 2048, 2048, 2048);
  fake_host_add_hugepages (host, 1048576, 4, 4);
  fake_host_set_mounts (host, MOUNTS_OTHER MOUNTS_2M MOUNTS_1G);
  g_assert_true (spirit_hugepages_check (host->root, 4 * 1024 * 1024, 2048, &error));
  g_assert_no_error (error);
  g_assert_true (spirit_hugepages_check (host->root, 4 * 1024 * 1024, 1048576, &error));
  g_assert_no_error (error);
}

static void
test_check_missing (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (GError) error = NULL;

  /* 4 GiB = 2048 pages; 1000 reserved, 600 of them free: 1448 missing */
  fake_host_add_hugepages (host, 2048, 1000, 600);
  fake_host_set_mounts (host, MOUNTS_2M);
  g_assert_false (spirit_hugepages_check (host->root, 4 * 1024 * 1024, 2048, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT,
                  "The VM needs 2048 2 MB pages, only 600 are free (1000 reserved): reserve 1448 "
                  "more (echo 2448 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages, or "
                  "spiritctl host hugepages --reserve 1448)");
  g_clear_error (&error);

  /* none reserved at all */
  fake_host_add_hugepages (host, 1048576, 0, 0);
  fake_host_set_mounts (host, MOUNTS_1G);
  g_assert_false (spirit_hugepages_check (host->root, 8 * 1024 * 1024, 1048576, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT,
                  "needs 8 1 GB pages, only 0 are free (0 reserved): reserve 8 more (echo 8 > "
                  "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages");
}

static void
test_check_refusals (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (GError) error = NULL;

  fake_host_add_hugepages (host, 2048, 4096, 4096);
  fake_host_add_hugepages (host, 1048576, 8, 8);
  /* memory that is not a whole number of pages */
  g_assert_false (spirit_hugepages_check (host->root, 1000 * 1024, 1048576, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT,
                  "not a whole number of 1 GB pages: use 1024 MiB");
  g_clear_error (&error);
  g_assert_false (spirit_hugepages_check (host->root, 1024 * 1024, 64, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT, "use 2 MB (2048 KiB) or 1 GB");
  g_clear_error (&error);

  /* pages free but nothing mounted for libvirt to use */
  fake_host_set_mounts (host, MOUNTS_OTHER);
  g_assert_false (spirit_hugepages_check (host->root, 1024 * 1024, 2048, &error));
  assert_refused (
    error, SPIRIT_ERROR_INVALID_ARGUMENT,
    "mount -t hugetlbfs -o pagesize=2M hugetlbfs /dev/hugepages) and restart libvirtd");
  g_clear_error (&error);
  /* a 2M mount does not serve 1 GB pages */
  fake_host_set_mounts (host, MOUNTS_2M);
  g_assert_false (spirit_hugepages_check (host->root, 1024 * 1024, 1048576, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT, "pagesize=1G");
  g_clear_error (&error);
  /* a mount without pagesize= has the default size, 2 MB */
  fake_host_set_mounts (host, "hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n");
  g_assert_true (spirit_hugepages_check (host->root, 1024 * 1024, 2048, &error));
  g_assert_no_error (error);
}

static void
test_reserve_fake (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (GError) error = NULL;
  SpiritHugepagePool pool;
  g_autofree char *written = NULL;
  g_autofree char *nr
    = g_strconcat (host->root, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", NULL);

  fake_host_add_hugepages (host, 2048, 100, 100);
  /* a fake tree keeps what is written: this is the "kernel reserved all" case */
  g_assert_true (spirit_hugepages_reserve (host->root, 2048, 28, &pool, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pool.total, ==, 128);
  g_assert_true (g_file_get_contents (nr, &written, NULL, NULL));
  g_assert_cmpstr (written, ==, "128\n");

  g_assert_false (spirit_hugepages_reserve (host->root, 2048, 0, &pool, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT, "at least one");
  g_clear_error (&error);
  g_assert_false (spirit_hugepages_reserve (host->root, 2048, G_MAXUINT64, &pool, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT, "Cannot reserve");
  g_clear_error (&error);
  g_assert_false (spirit_hugepages_reserve (host->root, 1048576, 1, &pool, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT, "no 1 GB huge pages");
  g_clear_error (&error);
  g_assert_false (spirit_hugepages_reserve (host->root, 16, 1, &pool, &error));
  assert_refused (error, SPIRIT_ERROR_INVALID_ARGUMENT, "not supported");
}

/* What the kernel does when memory is fragmented: it reserves fewer pages than asked. */
static void
test_verify_shortfall (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (spirit_hugepages_verify_reserved (2048, 100, 200, 200, &error));
  g_assert_no_error (error);
  g_assert_false (spirit_hugepages_verify_reserved (2048, 100, 200, 150, &error));
  assert_refused (error, SPIRIT_ERROR_FAILED,
                  "Asked the kernel for 100 more 2 MB pages, it reserved 50 (150 in all now, 50 "
                  "short)");
  g_assert_nonnull (strstr (error->message, "hugepages=N on the kernel command line"));
  g_clear_error (&error);
  g_assert_false (spirit_hugepages_verify_reserved (1048576, 4, 8, 4, &error));
  assert_refused (error, SPIRIT_ERROR_FAILED, "it reserved 0 (4 in all now, 4 short)");
  g_assert_nonnull (strstr (error->message, "hugepagesz=1G"));
}

/* A read-only pool file: the write fails and says where. */
static void
test_reserve_write_error (void)
{
  g_autoptr (FakeHost) host = fake_host_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *nr = NULL;
  SpiritHugepagePool pool;

  fake_host_add_hugepages (host, 2048, 0, 0);
  nr = g_strconcat (host->root, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", NULL);
  /* a directory in the file's place cannot be opened for writing, even by root */
  g_assert_cmpint (g_remove (nr), ==, 0);
  g_assert_cmpint (g_mkdir (nr, 0755), ==, 0);
  g_assert_false (spirit_hugepages_reserve (host->root, 2048, 1, &pool, &error));
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "nr_hugepages"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hugepages/arithmetic", test_arithmetic);
  g_test_add_func ("/hugepages/read", test_read);
  g_test_add_func ("/hugepages/check-enough", test_check_enough);
  g_test_add_func ("/hugepages/check-missing", test_check_missing);
  g_test_add_func ("/hugepages/check-refusals", test_check_refusals);
  g_test_add_func ("/hugepages/reserve-fake", test_reserve_fake);
  g_test_add_func ("/hugepages/verify-shortfall", test_verify_shortfall);
  g_test_add_func ("/hugepages/reserve-write-error", test_reserve_write_error);
  return g_test_run ();
}
