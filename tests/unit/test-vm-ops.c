/* test-vm-ops.c: the pure parts of the VM method table: state rules, names, messages. */
#define G_LOG_DOMAIN "test-vm-ops"

#include "spirit-error.h"
#include "spirit-dbus-generated.h"
#include "spirit-vm-ops.h"

static void
test_every_method_has_an_op (void)
{
  GDBusInterfaceInfo *info = spirit_dbus_vm_interface_info ();

  for (guint i = 0; info->methods[i] != NULL; i++)
    g_assert_nonnull (spirit_vm_op_lookup (info->methods[i]->name));
  g_assert_null (spirit_vm_op_lookup ("Explode"));
}

static void
test_state_rules (void)
{
  struct
  {
    const char *method;
    const char *state;
    gboolean ok;
  } cases[] = {
    { "Start", "shutoff", TRUE },     { "Start", "saved", TRUE },        { "Start", "running", FALSE },
    { "Pause", "running", TRUE },     { "Pause", "paused", FALSE },      { "Resume", "paused", TRUE },
    { "Resume", "shutoff", FALSE },   { "Shutdown", "running", TRUE },   { "Shutdown", "paused", FALSE },
    { "ForceStop", "paused", TRUE },  { "ForceStop", "shutoff", FALSE }, { "SaveState", "paused", TRUE },
    { "SaveState", "saved", FALSE },  { "DiscardSavedState", "saved", TRUE },
    { "DiscardSavedState", "shutoff", FALSE }, { "CreateSnapshot", "shutoff", TRUE },
    { "Reboot", "shutoff", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      const SpiritVmOp *op = spirit_vm_op_lookup (cases[i].method);
      gboolean ok = spirit_vm_op_check_state (op, "vm", cases[i].state, &error);

      g_test_message ("%s in %s", cases[i].method, cases[i].state);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (!ok)
        {
          g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE);
          g_assert_nonnull (strstr (error->message, cases[i].state));
        }
    }
}

static void
test_unavailable_beats_everything (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (spirit_vm_op_check_state (spirit_vm_op_lookup ("CreateSnapshot"), "vm",
                                            "unavailable", &error));
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE);
}

static void
test_snapshot_names (void)
{
  const char *good[] = { "a", "before-update", "v1.2_rc+3", "user@host:today", "with space",
                         "snapshot-20261125-101010" };
  const char *bad[] = { "", ".x", " x", "x ", "a/b", "a\\b", "a;b", "$(reboot)", "`x`", "a\nb",
                        "ção", "a\"b", "<x>" };
  g_autofree char *long_name = g_strnfill (SPIRIT_SNAPSHOT_NAME_MAX + 1, 'a');
  g_autofree char *max_name = g_strnfill (SPIRIT_SNAPSHOT_NAME_MAX, 'a');

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (spirit_snapshot_name_validate (good[i], FALSE, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_test_message ("bad name: %s", bad[i]);
      g_assert_false (spirit_snapshot_name_validate (bad[i], FALSE, &error));
      g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (spirit_snapshot_name_validate ("", TRUE, NULL));
  g_assert_true (spirit_snapshot_name_validate (max_name, FALSE, NULL));
  g_assert_false (spirit_snapshot_name_validate (long_name, FALSE, NULL));
}

static void
test_generated_name_is_valid (void)
{
  g_autoptr (GDateTime) when = g_date_time_new_utc (2026, 11, 25, 9, 5, 7);
  g_autofree char *name = spirit_snapshot_name_generate (when);

  g_assert_cmpstr (name, ==, "snapshot-20261125-090507");
  g_assert_true (spirit_snapshot_name_validate (name, FALSE, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vm-ops/every-method-has-an-op", test_every_method_has_an_op);
  g_test_add_func ("/vm-ops/state-rules", test_state_rules);
  g_test_add_func ("/vm-ops/unavailable", test_unavailable_beats_everything);
  g_test_add_func ("/vm-ops/snapshot-names", test_snapshot_names);
  g_test_add_func ("/vm-ops/generated-name", test_generated_name_is_valid);
  return g_test_run ();
}
