/* test-auth.c: the bouncer's table covers every mutating method and nothing else. */
#define G_LOG_DOMAIN "test-auth"

#include "spirit-auth.h"
#include "spirit-dbus-generated.h"
#include "spirit-error.h"

static void
test_every_vm_method_has_an_action (void)
{
  GDBusInterfaceInfo *info = spirit_dbus_vm_interface_info ();

  for (guint i = 0; info->methods[i] != NULL; i++)
    {
      const char *action = spirit_auth_action_for_method (info->name, info->methods[i]->name);
      g_test_message ("%s → %s", info->methods[i]->name, action);
      g_assert_nonnull (action);
      g_assert_true (g_str_has_prefix (action, "org.crom.Spirit."));
    }
}

static void
test_snapshot_methods_use_the_snapshot_action (void)
{
  g_assert_cmpstr (spirit_auth_action_for_method ("org.crom.Spirit.VM", "CreateSnapshot"), ==,
                   "org.crom.Spirit.vm.snapshot");
  g_assert_cmpstr (spirit_auth_action_for_method ("org.crom.Spirit.VM", "Pause"), ==,
                   "org.crom.Spirit.vm.control");
}

static void
test_unknown_is_denied (void)
{
  g_assert_null (spirit_auth_action_for_method ("org.crom.Spirit.VM", "Explode"));
  g_assert_null (spirit_auth_action_for_method ("org.crom.Spirit.Manager", "GetVM"));
  g_assert_null (spirit_auth_action_for_method ("org.example.Other", "Start"));
}

static void
test_actions_exist_in_the_policy (void)
{
  GDBusInterfaceInfo *info = spirit_dbus_vm_interface_info ();
  g_autofree char *policy = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_get_contents (g_getenv ("SPIRIT_POLKIT_POLICY"), &policy, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; info->methods[i] != NULL; i++)
    {
      const char *action = spirit_auth_action_for_method (info->name, info->methods[i]->name);
      g_autofree char *needle = g_strdup_printf ("<action id=\"%s\">", action);
      g_assert_nonnull (strstr (policy, needle));
    }
}

/* Manager: DefineVM and ReserveHugePages change the host; the reading methods need nothing. */
static void
test_manager_methods (void)
{
  g_autofree char *policy = NULL;
  g_autoptr (GError) error = NULL;
  static const char *const mutating[][2] = {
    { "DefineVM", "org.crom.Spirit.vm.define" },
    { "ReserveHugePages", "org.crom.Spirit.host.hugepages" },
  };

  g_assert_true (g_file_get_contents (g_getenv ("SPIRIT_POLKIT_POLICY"), &policy, NULL, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (mutating); i++)
    {
      g_autofree char *needle = g_strdup_printf ("<action id=\"%s\">", mutating[i][1]);
      g_assert_cmpstr (spirit_auth_action_for_method ("org.crom.Spirit.Manager", mutating[i][0]),
                       ==, mutating[i][1]);
      g_assert_nonnull (strstr (policy, needle));
    }
  g_assert_cmpstr (spirit_auth_action_for_method ("org.crom.Spirit.VM", "Retune"), ==,
                   "org.crom.Spirit.vm.define");
  g_assert_null (spirit_auth_action_for_method ("org.crom.Spirit.Manager", "ListProfiles"));
  g_assert_null (spirit_auth_action_for_method ("org.crom.Spirit.Manager", "GetHugePages"));
}

/* Passthrough and Reclaim take the GPU from the desktop: their own action, in the policy. */
static void
test_gpu_methods_use_the_gpu_action (void)
{
  GDBusInterfaceInfo *info = spirit_dbus_gpu_interface_info ();
  g_autofree char *policy = NULL;

  g_assert_true (g_file_get_contents (g_getenv ("SPIRIT_POLKIT_POLICY"), &policy, NULL, NULL));
  g_assert_nonnull (strstr (policy, "<action id=\"org.crom.Spirit.gpu.passthrough\">"));
  for (guint i = 0; info->methods[i] != NULL; i++)
    g_assert_cmpstr (spirit_auth_action_for_method (info->name, info->methods[i]->name), ==,
                     "org.crom.Spirit.gpu.passthrough");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/auth/every-vm-method", test_every_vm_method_has_an_action);
  g_test_add_func ("/auth/snapshot-action", test_snapshot_methods_use_the_snapshot_action);
  g_test_add_func ("/auth/unknown-denied", test_unknown_is_denied);
  g_test_add_func ("/auth/actions-in-policy", test_actions_exist_in_the_policy);
  g_test_add_func ("/auth/manager-methods", test_manager_methods);
  g_test_add_func ("/auth/gpu-action", test_gpu_methods_use_the_gpu_action);
  return g_test_run ();
}
