/* test-vm-info.c: libvirt states and reasons become the documented State strings. */
#define G_LOG_DOMAIN "test-vm-info"

#include "spirit-vm-info.h"

static void
test_state_names (void)
{
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_RUNNING, FALSE), ==, "running");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_PAUSED, FALSE), ==, "paused");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_SHUTOFF, FALSE), ==, "shutoff");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_SHUTOFF, TRUE), ==, "saved");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_CRASHED, FALSE), ==, "crashed");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_PMSUSPENDED, FALSE), ==, "suspended");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_SHUTDOWN, FALSE), ==, "shutting-down");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_BLOCKED, FALSE), ==, "blocked");
  g_assert_cmpstr (spirit_vm_state_name (VIR_DOMAIN_NOSTATE, FALSE), ==, "no-state");
  g_assert_cmpstr (spirit_vm_state_name (4242, FALSE), ==, "no-state");
}

static void
test_reasons (void)
{
  g_assert_cmpstr (spirit_vm_state_reason_name (VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_RESTORED), ==, "restored");
  g_assert_cmpstr (spirit_vm_state_reason_name (VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER), ==, "user");
  g_assert_cmpstr (spirit_vm_state_reason_name (VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SAVED), ==, "saved");
  g_assert_cmpstr (spirit_vm_state_reason_name (VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT), ==,
                   "from-snapshot");
  g_assert_cmpstr (spirit_vm_state_reason_name (VIR_DOMAIN_CRASHED, VIR_DOMAIN_CRASHED_PANICKED), ==, "panicked");
  g_assert_cmpstr (spirit_vm_state_reason_name (VIR_DOMAIN_PAUSED, 9999), ==, "unknown");
}

/* Against libvirt's in-process test driver: a real libvirt, no daemon. */
static void
test_fetch_from_test_driver (void)
{
  virConnectPtr conn = virConnectOpen ("test:///default");
  virDomainPtr domain;
  g_autoptr (SpiritVmInfo) info = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (conn);
  domain = virDomainLookupByName (conn, "test");
  g_assert_nonnull (domain);
  info = spirit_vm_info_fetch (domain, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->name, ==, "test");
  g_assert_cmpstr (info->state, ==, "running");
  g_assert_cmpuint (info->vcpus, ==, 2);
  g_assert_cmpuint (info->max_memory_kib, ==, 8388608);
  g_assert_true (info->persistent);
  g_assert_false (info->has_saved_state);
  g_assert_cmpuint (g_strv_length (info->snapshots), ==, 0);
  g_assert_cmpstr (info->current_snapshot, ==, "");

  g_assert_cmpint (virDomainSuspend (domain), ==, 0);
  g_clear_pointer (&info, spirit_vm_info_free);
  info = spirit_vm_info_fetch (domain, &error);
  g_assert_cmpstr (info->state, ==, "paused");
  g_assert_cmpstr (info->reason, ==, "user");

  g_assert_cmpint (virDomainManagedSave (domain, 0), ==, 0);
  g_clear_pointer (&info, spirit_vm_info_free);
  info = spirit_vm_info_fetch (domain, &error);
  g_assert_cmpstr (info->state, ==, "saved");
  g_assert_true (info->has_saved_state);
  g_assert_cmpint (info->id, ==, -1);

  virDomainFree (domain);
  virConnectClose (conn);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vm-info/state-names", test_state_names);
  g_test_add_func ("/vm-info/reasons", test_reasons);
  g_test_add_func ("/vm-info/fetch-from-test-driver", test_fetch_from_test_driver);
  return g_test_run ();
}
