/* test-gpu-sysfs.c: the sysfs helper: the test root, errors that carry path and errno, and the
 * fault-injection rules. */
#define G_LOG_DOMAIN "test-gpu-sysfs"

#include "fake-sysfs.h"
#include "spirit-sysfs.h"

#include <errno.h>

static void
test_root_prefix (void)
{
  g_autoptr (FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = spirit_sysfs_path ("/sys/bus/pci/drivers_probe");
  g_autofree char *expected
    = g_strconcat (fake_sysfs_get_root (fs), "/sys/bus/pci/drivers_probe", NULL);
  g_autofree char *value = NULL;
  g_autoptr (GPtrArray) drivers = NULL;

  fake_sysfs_add_vtconsole (fs, "vtcon0", "(S) dummy device", FALSE);
  g_assert_cmpstr (spirit_sysfs_get_root (), ==, fake_sysfs_get_root (fs));
  g_assert_false (spirit_sysfs_is_real ());
  g_assert_cmpstr (path, ==, expected);

  g_assert_true (spirit_sysfs_write ("/sys/class/vtconsole/vtcon0/bind", "1", &error));
  g_assert_no_error (error);
  g_assert_true (spirit_sysfs_read ("/sys/class/vtconsole/vtcon0/bind", &value, &error));
  g_assert_cmpstr (value, ==, "1");
  g_assert_true (spirit_sysfs_exists ("/dev/vfio/vfio"));
  g_assert_false (spirit_sysfs_exists ("/dev/vfio/1"));

  drivers = spirit_sysfs_list ("/sys/bus/pci/drivers", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drivers->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (drivers, 0), ==, "vfio-pci");
}

static void
test_errors_carry_path_and_errno (void)
{
  g_autoptr (FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr (GError) error = NULL;
  char *value = NULL;
  guint64 number;

  g_assert_false (spirit_sysfs_read ("/sys/missing/attribute", &value, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/sys/missing/attribute"));
  g_assert_nonnull (strstr (error->message, "errno 2"));
  /* the logical path, not the test root */
  g_assert_null (strstr (error->message, fake_sysfs_get_root (fs)));
  g_clear_error (&error);

  g_assert_false (spirit_sysfs_write ("/sys/bus/pci/drivers/nope/bind", "0000:01:00.0", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "“0000:01:00.0”"));
  g_assert_nonnull (strstr (error->message, "/sys/bus/pci/drivers/nope/bind"));
  g_clear_error (&error);

  g_assert_false (spirit_sysfs_write ("/sys/bus/pci/drivers", "x", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY);
  g_assert_nonnull (strstr (error->message, "errno 21"));
  g_clear_error (&error);

  g_assert_null (spirit_sysfs_read_link ("/sys/bus/pci/drivers_probe", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (spirit_sysfs_write ("/sys/bus/pci/drivers_probe", "0xzz\n", &error));
  g_assert_false (spirit_sysfs_read_hex ("/sys/bus/pci/drivers_probe", &number, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_fault_rules (void)
{
  g_autoptr (FakeSysfs) fs = fake_sysfs_new ();
  g_autoptr (GError) error = NULL;
  const char *bind = "/sys/class/vtconsole/vtcon0/bind";
  char *value = NULL;

  fake_sysfs_add_vtconsole (fs, "vtcon0", "(S) dummy device", FALSE);

  /* default: the first matching write fails with EIO, once */
  g_assert_true (spirit_sysfs_set_faults ("write:/sys/class/vtconsole/*/bind", &error));
  g_assert_false (spirit_sysfs_write (bind, "1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "errno 5, injected"));
  g_assert_nonnull (strstr (error->message, bind));
  g_clear_error (&error);
  g_assert_true (spirit_sysfs_write (bind, "1", &error));
  g_assert_cmpuint (spirit_sysfs_get_faults_hit (), ==, 1);

  /* a value filter, a chosen errno, the second match, two in a row */
  g_assert_true (spirit_sysfs_set_faults (
    "write:/sys/class/vtconsole/vtcon0/bind=0,errno=EBUSY,nth=2,count=2", &error));
  g_assert_true (spirit_sysfs_write (bind, "1", NULL));
  g_assert_true (spirit_sysfs_write (bind, "0\n", NULL)); /* 1st match */
  g_assert_false (spirit_sysfs_write (bind, "0", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_false (spirit_sysfs_write (bind, "0", NULL));
  g_assert_true (spirit_sysfs_write (bind, "0", NULL));
  g_assert_cmpuint (spirit_sysfs_get_faults_hit (), ==, 2);

  /* drop: success reported, nothing written */
  g_assert_true (spirit_sysfs_write (bind, "1", NULL));
  g_assert_true (spirit_sysfs_set_faults ("write:/sys/class/vtconsole/vtcon0/bind,drop", NULL));
  g_assert_true (spirit_sysfs_write (bind, "0", &error));
  g_assert_no_error (error);
  g_assert_true (spirit_sysfs_read (bind, &value, NULL));
  g_assert_cmpstr (value, ==, "1");
  g_free (value);

  /* reads, lists and links, count=0 is forever */
  g_assert_true (spirit_sysfs_set_faults (
    "read:/sys/class/*;list:/dev/vfio,count=0;readlink:/x,errno=13", NULL));
  g_assert_false (spirit_sysfs_read (bind, &value, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&error);
  for (int i = 0; i < 3; i++)
    g_assert_null (spirit_sysfs_list ("/dev/vfio", NULL));
  g_assert_null (spirit_sysfs_read_link ("/x", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);

  /* cleared */
  g_assert_true (spirit_sysfs_set_faults (NULL, NULL));
  {
    g_autoptr (GPtrArray) names = spirit_sysfs_list ("/dev/vfio", NULL);

    g_assert_nonnull (names);
  }
}

static void
test_fault_rules_invalid (void)
{
  const char *bad[] = {
    "write",                        /* no path */
    "poke:/sys/x",                  /* unknown operation */
    "write:relative/path",          /* not absolute */
    "write:/sys/x,errno=EWHATEVER", /* unknown errno */
    "write:/sys/x,nth=0",           /* nth from 1 */
    "read:/sys/x,drop",             /* drop is for writes */
    "write:/sys/x,sometimes",       /* unknown option */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (spirit_sysfs_set_faults (bad[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "Fault rule"));
    }
}

/* The environment is read once, at first use: each case runs in a fresh child. */
static void
test_environment_child (void)
{
  const char *want = g_getenv ("EXPECT_ROOT");
  g_autoptr (GError) error = NULL;

  if (!g_test_subprocess ())
    return; /* only meaningful as the child of /gpu/sysfs/environment */
  g_assert_cmpstr (spirit_sysfs_get_root (), ==, want);
  g_assert_false (spirit_sysfs_write ("/sys/anything", "1", &error));
  if (g_getenv ("SPIRIT_SYSFS_FAIL") != NULL)
    g_assert_nonnull (strstr (error->message, "injected"));
  else
    g_assert_null (strstr (error->message, "injected"));
}

static void
test_environment (void)
{
  const struct
  {
    const char *root, *umockdev, *fail, *expect;
  } cases[] = {
    { NULL, NULL, NULL, "" },
    { "/tmp/a/", NULL, NULL, "/tmp/a" },
    { NULL, "/tmp/umockdev.X", NULL, "/tmp/umockdev.X" },
    { "/tmp/a", "/tmp/umockdev.X", NULL, "/tmp/a" },
    { "/tmp/a", NULL, "write:/sys/anything", "/tmp/a" },
  };

  /* no other thread runs here: the fake kernels of earlier cases have been joined */
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *names[] = { "SPIRIT_SYSFS_ROOT", "UMOCKDEV_DIR", "SPIRIT_SYSFS_FAIL" };
      const char *values[] = { cases[i].root, cases[i].umockdev, cases[i].fail };

      for (gsize j = 0; j < G_N_ELEMENTS (names); j++)
        {
          if (values[j] != NULL)
            g_setenv (names[j], values[j], TRUE);
          else
            g_unsetenv (names[j]);
        }
      g_setenv ("EXPECT_ROOT", cases[i].expect, TRUE);
      g_test_trap_subprocess ("/gpu/sysfs/environment/child", 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
    }
  g_unsetenv ("SPIRIT_SYSFS_ROOT");
  g_unsetenv ("UMOCKDEV_DIR");
  g_unsetenv ("SPIRIT_SYSFS_FAIL");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gpu/sysfs/root-prefix", test_root_prefix);
  g_test_add_func ("/gpu/sysfs/errors", test_errors_carry_path_and_errno);
  g_test_add_func ("/gpu/sysfs/faults", test_fault_rules);
  g_test_add_func ("/gpu/sysfs/faults-invalid", test_fault_rules_invalid);
  g_test_add_func ("/gpu/sysfs/environment", test_environment);
  g_test_add_func ("/gpu/sysfs/environment/child", test_environment_child);
  return g_test_run ();
}
