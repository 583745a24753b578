/* test-config.c: spirit.conf parsing: hosts, defaults, --uri, and every refusal. */
#define G_LOG_DOMAIN "test-config"

#include "spirit-config.h"
#include "spirit-error.h"

static const SpiritHostSpec *
host_at (SpiritConfig *config, guint i)
{
  g_assert_cmpuint (i, <, config->hosts->len);
  return g_ptr_array_index (config->hosts, i);
}

static void
test_no_file_means_local_default (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritConfig) config = spirit_config_load ("/nonexistent/spirit.conf", NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (config->hosts->len, ==, 1);
  g_assert_cmpstr (host_at (config, 0)->name, ==, "local");
  g_assert_cmpstr (host_at (config, 0)->uri, ==, "qemu:///system");
}

static void
test_uri_overrides_local (void)
{
  g_autoptr (SpiritConfig) plain = spirit_config_load_from_data (NULL, "test:///default", NULL);
  g_autoptr (SpiritConfig) with_lab =
    spirit_config_load_from_data ("[host lab]\nuri=qemu+tcp://lab/system\n", "test:///default", NULL);
  g_autoptr (SpiritConfig) with_local =
    spirit_config_load_from_data ("[host lab]\nuri=x:///\n[host local]\nuri=qemu:///system\n",
                                  "test:///default", NULL);

  g_assert_cmpstr (host_at (plain, 0)->uri, ==, "test:///default");
  g_assert_cmpuint (with_lab->hosts->len, ==, 2);
  g_assert_cmpstr (host_at (with_lab, 0)->name, ==, "local");
  g_assert_cmpstr (host_at (with_lab, 1)->name, ==, "lab");
  g_assert_cmpuint (with_local->hosts->len, ==, 2);
  g_assert_cmpstr (host_at (with_local, 1)->uri, ==, "test:///default");
}

static void
test_hosts_in_file_order (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritConfig) config = spirit_config_load_from_data (
    "# comment\n[host b]\nuri=  qemu+ssh://b/system  \n[host a_1]\nuri=test:///default\n", NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (config->hosts->len, ==, 2);
  g_assert_cmpstr (host_at (config, 0)->name, ==, "b");
  g_assert_cmpstr (host_at (config, 0)->uri, ==, "qemu+ssh://b/system");
  g_assert_cmpstr (host_at (config, 1)->name, ==, "a_1");
}

static void
test_refusals (void)
{
  const char *bad[] = {
    "[host a]\n",
    "[host a]\nuri=\n",
    "[host]\nuri=x:///\n",
    "[host ]\nuri=x:///\n",
    "[host a b]\nuri=x:///\n",
    "[host ção]\nuri=x:///\n",
    "[other]\nuri=x:///\n",
    "garbage",
  };
  g_autofree char *long_name = g_strnfill (SPIRIT_HOST_NAME_MAX + 1, 'h');
  g_autofree char *long_conf = g_strdup_printf ("[host %s]\nuri=x:///\n", long_name);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SpiritConfig) config = spirit_config_load_from_data (bad[i], NULL, &error);
      g_test_message ("%s", bad[i]);
      g_assert_null (config);
      g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
    }
  g_assert_null (spirit_config_load_from_data (long_conf, NULL, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/no-file", test_no_file_means_local_default);
  g_test_add_func ("/config/uri-override", test_uri_overrides_local);
  g_test_add_func ("/config/order", test_hosts_in_file_order);
  g_test_add_func ("/config/refusals", test_refusals);
  return g_test_run ();
}
