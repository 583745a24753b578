/* test-hud-ops.c: the HUD's table of valid operations per state is spiritd's table.
 *
 * The HUD makes a button insensitive when the VM's state does not allow its operation; spiritd
 * refuses such a call with InvalidState. The two tables live in two programs (the HUD does not
 * link libvirt), so this test links both and compares them for every state spiritd reports.
 */
#define G_LOG_DOMAIN "test-hud-ops"

#include "nexus-vm.h"
#include "spirit-vm-ops.h"

static const char *const states[] = {
  "running", "paused",        "shutoff",  "saved",       "crashed",       "suspended",
  "blocked", "shutting-down", "no-state", "unavailable", "something-new",
};

static void
test_same_as_service (void)
{
  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    {
      const char *method = nexus_vm_op_get_method (op);
      const SpiritVmOp *service_op = spirit_vm_op_lookup (method);

      g_assert_nonnull (service_op);
      for (gsize i = 0; i < G_N_ELEMENTS (states); i++)
        {
          g_autoptr (GError) error = NULL;
          gboolean service = spirit_vm_op_check_state (service_op, "vm", states[i], &error);
          gboolean hud = nexus_vm_op_valid_in_state (op, states[i]);

          if (service != hud)
            g_error ("%s in state %s: spiritd %s it, the HUD %s", method, states[i],
                     service ? "accepts" : "refuses", hud ? "offers it" : "does not offer it");
        }
    }
}

/* Rows' "vm.<op>" and the window's "win.<op>" actions lead back to the same operation. */
static void
test_action_names (void)
{
  NexusVmOp found;

  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    {
      g_autofree char *row = g_strconcat ("vm.", nexus_vm_op_get_action_name (op), NULL);
      g_autofree char *win = g_strconcat ("win.", nexus_vm_op_get_action_name (op), NULL);

      g_assert_true (nexus_vm_op_from_action_name (row, &found));
      g_assert_cmpuint (found, ==, op);
      g_assert_true (nexus_vm_op_from_action_name (win, &found));
      g_assert_cmpuint (found, ==, op);
    }
  g_assert_false (nexus_vm_op_from_action_name ("win.show-page", &found));
}

static void
test_labels (void)
{
  g_assert_cmpstr (nexus_vm_state_get_label ("running"), ==, "Running");
  g_assert_cmpstr (nexus_vm_state_get_label ("shutoff"), ==, "Shut Off");
  /* a state spiritd may add later is shown by its name, not hidden */
  g_assert_cmpstr (nexus_vm_state_get_label ("something-new"), ==, "something-new");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hud/ops/same-as-service", test_same_as_service);
  g_test_add_func ("/hud/ops/action-names", test_action_names);
  g_test_add_func ("/hud/ops/labels", test_labels);
  return g_test_run ();
}
