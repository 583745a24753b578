/* test-vm-spec.c: Manager.DefineVM's a{sv} options: every option, every refusal (wrong types,
 * unknown keys, out-of-range values, empty and relative paths, bad combinations). */
#define G_LOG_DOMAIN "test-vm-spec"

#include "spirit-vm-spec.h"
#include "spirit-hugepages.h"
#include "spirit-error.h"

static GVariant *
options_parse (const char *text)
{
  g_autoptr (GError) error = NULL;
  GVariant *value = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);

  g_assert_no_error (error);
  return g_variant_ref_sink (value);
}

static SpiritVmSpec *
spec_ok (const char *name, const char *text)
{
  g_autoptr (GVariant) options = options_parse (text);
  g_autoptr (GError) error = NULL;
  SpiritVmSpec *spec = spirit_vm_spec_from_variant (name, options, &error);

  g_assert_no_error (error);
  g_assert_nonnull (spec);
  return spec;
}

/* Refused with INVALID_ARGUMENT; the message holds `word` (the option's name, mostly). */
static void
spec_refused (const char *name, const char *text, const char *word)
{
  g_autoptr (GVariant) options = options_parse (text);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritVmSpec) spec = spirit_vm_spec_from_variant (name, options, &error);

  g_assert_null (spec);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s %s: %s", name, text, error->message);
  if (strstr (error->message, word) == NULL)
    g_error ("\"%s\" not in: %s", word, error->message);
}

static void
test_minimal (void)
{
  g_autoptr (SpiritVmSpec) spec = spec_ok ("vm1", "{'profile': <'linux'>, 'disk': <'/d.qcow2'>}");

  g_assert_cmpstr (spec->name, ==, "vm1");
  g_assert_cmpstr (spec->profile, ==, "linux");
  g_assert_cmpstr (spec->disk, ==, "/d.qcow2");
  /* what the profile decides stays open */
  g_assert_cmpuint (spec->memory_kib, ==, 0);
  g_assert_cmpuint (spec->vcpus, ==, 0);
  g_assert_null (spec->network);
  g_assert_null (spec->graphics);
  g_assert_cmpint (spec->iommu, ==, SPIRIT_CHOICE_DEFAULT);
  g_assert_cmpint (spec->tpm, ==, SPIRIT_CHOICE_DEFAULT);
  g_assert_cmpint (spec->balloon_period, ==, -1);
  /* and what Spirit decides */
  g_assert_null (spec->pin);
  g_assert_false (spec->hugepages);
  g_assert_true (spec->kvm);
  g_assert_cmpstr (spec->arch, ==, "x86_64");
  g_assert_null (spec->agent_socket);
  g_assert_cmpuint (g_strv_length (spec->gpus), ==, 0);
  g_assert_cmpuint (g_strv_length (spec->cdroms), ==, 0);
}

static void
test_every_option (void)
{
  g_autoptr (SpiritVmSpec) spec = spec_ok (
    "Linux-Spirit_2.0",
    "{'profile': <'linux'>, 'memory': <uint64 8589934592>, 'cpus': <uint32 8>,"
    " 'disk': <'/var/lib/spirit/a.qcow2'>, 'cdrom': <['/iso/a.iso', '/iso/virtio.iso']>,"
    " 'kernel': <'/boot/vmlinuz'>, 'initrd': <'/boot/initrd'>, 'cmdline': <'console=ttyS0'>,"
    " 'hugepages': <true>, 'hugepage-size': <uint64 1073741824>, 'pin': <'2-5,10-13'>,"
    " 'gpus': <['0000:01:00.0', '0000:0A:00.1']>, 'agent-socket': <'/run/spirit/a.sock'>,"
    " 'serial-log': <'/var/log/spirit/a.log'>, 'arch': <'x86_64'>, 'virt-type': <'qemu'>,"
    " 'network': <''>, 'graphics': <'vnc'>, 'iommu': <true>, 'tpm': <false>,"
    " 'balloon-period': <uint32 0>}");

  g_assert_cmpuint (spec->memory_kib, ==, 8 * 1024 * 1024);
  g_assert_cmpuint (spec->vcpus, ==, 8);
  g_assert_cmpstr (spec->cdroms[1], ==, "/iso/virtio.iso");
  g_assert_cmpstr (spec->kernel, ==, "/boot/vmlinuz");
  g_assert_cmpstr (spec->initrd, ==, "/boot/initrd");
  g_assert_cmpstr (spec->cmdline, ==, "console=ttyS0");
  g_assert_true (spec->hugepages);
  g_assert_cmpuint (spec->hugepage_kib, ==, SPIRIT_HUGEPAGE_1G_KIB);
  g_assert_cmpstr (spec->pin, ==, "2-5,10-13");
  /* PCI addresses are kept in sysfs's lower case */
  g_assert_cmpstr (spec->gpus[1], ==, "0000:0a:00.1");
  g_assert_cmpstr (spec->agent_socket, ==, "/run/spirit/a.sock");
  g_assert_cmpstr (spec->serial_log, ==, "/var/log/spirit/a.log");
  g_assert_false (spec->kvm);
  g_assert_cmpstr (spec->network, ==, "");
  g_assert_cmpstr (spec->graphics, ==, "vnc");
  g_assert_cmpint (spec->iommu, ==, SPIRIT_CHOICE_YES);
  g_assert_cmpint (spec->tpm, ==, SPIRIT_CHOICE_NO);
  g_assert_cmpint (spec->balloon_period, ==, 0);
}

static void
test_pin_values (void)
{
  g_autoptr (SpiritVmSpec) none
    = spec_ok ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'pin': <''>}");
  g_autoptr (SpiritVmSpec) autopin
    = spec_ok ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'pin': <'auto'>}");

  g_assert_null (none->pin);
  g_assert_cmpstr (autopin->pin, ==, "auto");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'pin': <'all'>}", "'pin'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'pin': <'1,1'>}", "twice");
}

static void
test_wrong_types (void)
{
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'cpus': <'4'>}",
                "Option 'cpus' must be of type 'u', not 's'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'cpus': <int32 4>}", "'u'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'memory': <uint32 4096>}",
                "Option 'memory' must be of type 't', not 'u'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'hugepages': <'yes'>}", "'b'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'gpus': <'0000:01:00.0'>}", "'as'");
  spec_refused ("a", "{'profile': <uint32 1>, 'disk': <'/d'>}", "'profile'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <['/d']>}", "'disk'");
}

static void
test_unknown_keys (void)
{
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'hugepage': <true>}",
                "Unknown option 'hugepage'");
  /* the message lists what is known, with types */
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'ram': <uint64 1>}", "memory (t)");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, '': <true>}", "Unknown option ''");
}

static void
test_ranges (void)
{
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'memory': <uint64 0>}", "64 MiB");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'memory': <uint64 33554432>}",
                "32 MiB");
  spec_refused ("a",
                "{'profile': <'linux'>, 'disk': <'/d'>, 'memory': <uint64 18446744073709551615>}",
                "between 64 MiB and 16777216 MiB");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'memory': <uint64 67108865>}",
                "not a whole number of MiB: use 65 MiB (68157440 bytes)");
  spec_refused ("a",
                "{'profile': <'linux'>, 'disk': <'/d'>, 'memory': <uint64 18446744073708503040>}",
                "between 64 MiB and 16777216 MiB");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'memory': <uint64 1000000000>}",
                "use 954 MiB");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'cpus': <uint32 0>}",
                "between 1 and 255");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'cpus': <uint32 4294967295>}",
                "between 1 and 255");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'balloon-period': <uint32 86401>}",
                "0 (no statistics) to 86400");
  spec_refused ("a",
                "{'profile': <'linux'>, 'disk': <'/d'>, 'hugepages': <true>,"
                " 'hugepage-size': <uint64 4096>}",
                "2097152 (2 MB) or 1073741824 (1 GB)");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'hugepage-size': <uint64 2097152>}",
                "needs 'hugepages'");
}

static void
test_paths (void)
{
  g_autofree char *long_socket = g_strnfill (120, 'x');
  g_autofree char *long_options = NULL;

  spec_refused ("a", "{'profile': <'linux'>, 'disk': <''>}", "Option 'disk' is empty");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'disk.qcow2'>}", "relative path");
  spec_refused ("a", "{'profile': <'linux'>, 'kernel': <'./vmlinuz'>}", "'kernel'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'cdrom': <['/a.iso', 'b.iso']>}",
                "'cdrom'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'agent-socket': <'s.sock'>}",
                "'agent-socket'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'serial-log': <''>}", "'serial-log'");
  long_options = g_strdup_printf ("{'profile': <'linux'>, 'disk': <'/d'>, 'agent-socket': <'/%s'>}",
                                  long_socket);
  spec_refused ("a", long_options, "at most 107");
  spec_refused ("a",
                "{'profile': <'linux'>, 'disk': <'/d'>,"
                " 'cdrom': <['/1', '/2', '/3', '/4', '/5']>}",
                "at most 4");
}

static void
test_values (void)
{
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'gpus': <['01:00.0']>}", "lspci -D");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'gpus': <['0000:01:00.8']>}",
                "not a PCI address");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'gpus': <['0000:01:20.0']>}",
                "not a PCI address");
  spec_refused (
    "a", "{'profile': <'linux'>, 'disk': <'/d'>, 'gpus': <['0000:01:00.0', '0000:01:00.0']>}",
    "twice");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'arch': <'aarch64'>}", "x86_64");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'virt-type': <'xen'>}", "\"kvm\"");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'graphics': <'sdl'>}", "spice");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'network': <'br0 x'>}",
                "virsh net-list");
}

static void
test_combinations (void)
{
  spec_refused ("a", "{'disk': <'/d'>}", "No profile given");
  spec_refused ("a", "{'profile': <''>, 'disk': <'/d'>}", "No profile given");
  spec_refused ("a", "{'profile': <'linux'>}", "nothing to boot");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'initrd': <'/i'>}", "need 'kernel'");
  spec_refused ("a", "{'profile': <'linux'>, 'disk': <'/d'>, 'cmdline': <'quiet'>}",
                "need 'kernel'");
}

static void
test_names (void)
{
  g_autofree char *long_name = g_strnfill (65, 'a');

  g_assert_true (spirit_vm_name_is_valid ("Windows-Spirit"));
  g_assert_true (spirit_vm_name_is_valid ("a.b_c-1"));
  spec_refused ("", "{'profile': <'linux'>, 'disk': <'/d'>}", "not valid");
  spec_refused ("a b", "{'profile': <'linux'>, 'disk': <'/d'>}", "letters, digits");
  spec_refused ("../etc", "{'profile': <'linux'>, 'disk': <'/d'>}", "not valid");
  spec_refused ("-x", "{'profile': <'linux'>, 'disk': <'/d'>}", "not starting with");
  spec_refused ("a/b", "{'profile': <'linux'>, 'disk': <'/d'>}", "not valid");
  spec_refused (long_name, "{'profile': <'linux'>, 'disk': <'/d'>}", "1 to 64");
}

static void
test_not_a_dict (void)
{
  g_autoptr (GVariant) options = g_variant_ref_sink (g_variant_new_string ("linux"));
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritVmSpec) spec = spirit_vm_spec_from_variant ("a", options, &error);

  g_assert_null (spec);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "a{sv}"));
}

/* The subset allowed when editing a VM's tuning. */
static void
test_update_allowed (void)
{
  const char *const allowed[] = { "cpus", "pin", NULL };
  g_autoptr (SpiritVmSpec) spec = spirit_vm_spec_new ("a", NULL);
  g_autoptr (GVariant) ok = options_parse ("{'cpus': <uint32 4>, 'pin': <'auto'>}");
  g_autoptr (GVariant) bad = options_parse ("{'disk': <'/d'>}");
  g_autoptr (GError) error = NULL;

  g_assert_true (spirit_vm_spec_update (spec, ok, allowed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (spec->vcpus, ==, 4);
  g_assert_false (spirit_vm_spec_update (spec, bad, allowed, &error));
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (
    strstr (error->message, "'disk' cannot be given here: the options are cpus, pin"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vm-spec/minimal", test_minimal);
  g_test_add_func ("/vm-spec/every-option", test_every_option);
  g_test_add_func ("/vm-spec/pin-values", test_pin_values);
  g_test_add_func ("/vm-spec/wrong-types", test_wrong_types);
  g_test_add_func ("/vm-spec/unknown-keys", test_unknown_keys);
  g_test_add_func ("/vm-spec/ranges", test_ranges);
  g_test_add_func ("/vm-spec/paths", test_paths);
  g_test_add_func ("/vm-spec/values", test_values);
  g_test_add_func ("/vm-spec/combinations", test_combinations);
  g_test_add_func ("/vm-spec/names", test_names);
  g_test_add_func ("/vm-spec/not-a-dict", test_not_a_dict);
  g_test_add_func ("/vm-spec/update-allowed", test_update_allowed);
  return g_test_run ();
}
