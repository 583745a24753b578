/* spiritctl-create.c: "vm create", "vm retune", "profiles", "host hugepages".
 *
 * Options become the a{sv} of Manager.DefineVM and VM.Retune (docs/profiles.md); spiritd checks
 * them all, so this file only converts: sizes to bytes, relative paths to absolute ones.
 */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-create.h"
#include "spiritctl-vm.h"
#include "spirit-error.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#define PAGE_2M_KIB G_GUINT64_CONSTANT (2048)
#define PAGE_1G_KIB G_GUINT64_CONSTANT (1048576)

typedef struct
{
  char *profile;
  char *memory;
  int cpus;
  char *disk;
  GStrv cdroms;
  char *kernel;
  char *initrd;
  char *cmdline;
  gboolean hugepages;
  gboolean no_hugepages;
  char *hugepage_size;
  char *pin;
  GStrv gpus;
  char *network;
  gboolean no_network;
  char *graphics;
  gboolean iommu;
  gboolean no_iommu;
  gboolean tpm;
  gboolean no_tpm;
  char *virt_type;
  int balloon_period;
  char *agent_socket;
  char *serial_log;
  gboolean dry_run;
  GStrv rest;
} CreateArgs;

static void
create_args_clear (CreateArgs *args)
{
  g_free (args->profile);
  g_free (args->memory);
  g_free (args->disk);
  g_strfreev (args->cdroms);
  g_free (args->kernel);
  g_free (args->initrd);
  g_free (args->cmdline);
  g_free (args->hugepage_size);
  g_free (args->pin);
  g_strfreev (args->gpus);
  g_free (args->network);
  g_free (args->graphics);
  g_free (args->virt_type);
  g_free (args->agent_socket);
  g_free (args->serial_log);
  g_strfreev (args->rest);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CreateArgs, create_args_clear)

static int
usage_error (const char *message)
{
  g_printerr ("spiritctl: %s\n", message);
  g_printerr (_ ("Try 'spiritctl --help'.\n"));
  return 2;
}

/* Options with a value, of the main parser: "--host vm" is not the "vm" command. */
static gboolean
takes_value (const char *arg)
{
  static const char *const with_value[] = { "--address", "--host", "-H", "--timeout", "-t", NULL };

  return g_strv_contains (with_value, arg);
}

int
spiritctl_create_split (int *argc, char **argv)
{
  for (int i = 1; i < *argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        return 0;
      if (argv[i][0] == '-')
        {
          i += takes_value (argv[i]) ? 1 : 0;
          continue;
        }
      if ((g_str_equal (argv[i], "vm") && i + 1 < *argc
           && (g_str_equal (argv[i + 1], "create") || g_str_equal (argv[i + 1], "retune")))
          || g_str_equal (argv[i], "host"))
        {
          *argc = i;
          return i;
        }
      return 0; /* the command is something else */
    }
  return 0;
}

static char *
absolute_path (const char *path)
{
  return g_canonicalize_filename (path, NULL);
}

static void
add_path (GVariantBuilder *builder, const char *key, const char *path)
{
  g_autofree char *absolute = NULL;

  if (path == NULL)
    return;
  absolute = absolute_path (path);
  g_variant_builder_add (builder, "{sv}", key, g_variant_new_string (absolute));
}

static gboolean
parse_page_size (const char *text, guint64 *bytes)
{
  guint64 kib;

  if (text == NULL)
    return FALSE;
  if (!spiritctl_parse_size_kib (text, &kib) || (kib != PAGE_2M_KIB && kib != PAGE_1G_KIB))
    return FALSE;
  *bytes = kib * 1024;
  return TRUE;
}

/* The options both "create" and "retune" have. FALSE with a message printed for bad values. */
static gboolean
add_tuning (GVariantBuilder *builder, const CreateArgs *args)
{
  guint64 kib, bytes;

  if (args->memory != NULL)
    {
      if (!spiritctl_parse_size_kib (args->memory, &kib) || kib > G_MAXUINT64 / 1024)
        {
          usage_error (_ ("--memory takes a size such as 512M, 8G or 2048 (MiB)"));
          return FALSE;
        }
      g_variant_builder_add (builder, "{sv}", "memory", g_variant_new_uint64 (kib * 1024));
    }
  if (args->cpus < 0 || args->balloon_period < -1)
    {
      usage_error (_ ("--cpus and --balloon-period take a number that is not negative"));
      return FALSE;
    }
  if (args->cpus > 0)
    g_variant_builder_add (builder, "{sv}", "cpus", g_variant_new_uint32 ((guint32)args->cpus));
  if (args->hugepages || args->no_hugepages)
    g_variant_builder_add (builder, "{sv}", "hugepages", g_variant_new_boolean (args->hugepages));
  if (args->hugepage_size != NULL)
    {
      if (!parse_page_size (args->hugepage_size, &bytes))
        {
          usage_error (_ ("--hugepage-size is 2M or 1G"));
          return FALSE;
        }
      g_variant_builder_add (builder, "{sv}", "hugepage-size", g_variant_new_uint64 (bytes));
    }
  if (args->pin != NULL)
    g_variant_builder_add (builder, "{sv}", "pin",
                           g_variant_new_string (g_str_equal (args->pin, "none") ? "" : args->pin));
  if (args->iommu || args->no_iommu)
    g_variant_builder_add (builder, "{sv}", "iommu", g_variant_new_boolean (args->iommu));
  if (args->balloon_period >= 0)
    g_variant_builder_add (builder, "{sv}", "balloon-period",
                           g_variant_new_uint32 ((guint32)args->balloon_period));
  return TRUE;
}

static GOptionEntry *
tuning_entries (CreateArgs *args, GArray *entries)
{
  const GOptionEntry tuning[] = {
    { "memory", 'm', 0, G_OPTION_ARG_STRING, &args->memory, N_ ("Memory: 512M, 8G, or MiB"),
      N_ ("SIZE") },
    { "cpus", 'c', 0, G_OPTION_ARG_INT, &args->cpus, N_ ("Virtual CPUs"), N_ ("N") },
    { "hugepages", 0, 0, G_OPTION_ARG_NONE, &args->hugepages,
      N_ ("Back the memory with huge pages"), NULL },
    { "no-hugepages", 0, 0, G_OPTION_ARG_NONE, &args->no_hugepages, N_ ("Do not use huge pages"),
      NULL },
    { "hugepage-size", 0, 0, G_OPTION_ARG_STRING, &args->hugepage_size,
      N_ ("Huge page size: 2M (default) or 1G"), N_ ("SIZE") },
    { "pin", 0, 0, G_OPTION_ARG_STRING, &args->pin,
      N_ ("Pin vCPUs: auto, a host CPU list (2-5,10-13), or none"), N_ ("auto|LIST|none") },
    { "iommu", 0, 0, G_OPTION_ARG_NONE, &args->iommu, N_ ("Give the guest a virtual IOMMU"), NULL },
    { "no-iommu", 0, 0, G_OPTION_ARG_NONE, &args->no_iommu, N_ ("No virtual IOMMU"), NULL },
    { "balloon-period", 0, 0, G_OPTION_ARG_INT, &args->balloon_period,
      N_ ("Seconds between balloon statistics (0: none)"), N_ ("SECONDS") },
  };

  g_array_append_vals (entries, tuning, G_N_ELEMENTS (tuning));
  return (GOptionEntry *)entries->data;
}

/* Parses argv (from the subcommand on) into args; FALSE with a message for a usage error. */
static gboolean
parse_args (const char *usage, CreateArgs *args, gboolean create, int argc, char **argv)
{
  const GOptionEntry create_only[] = {
    { "profile", 'p', 0, G_OPTION_ARG_STRING, &args->profile,
      N_ ("Profile: linux, windows, or one of 'spiritctl profiles'"), N_ ("PROFILE") },
    { "disk", 0, 0, G_OPTION_ARG_FILENAME, &args->disk,
      N_ ("System disk: a qcow2 or raw file, or a block device"), N_ ("PATH") },
    { "cdrom", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args->cdroms,
      N_ ("An ISO image (up to 4 times)"), N_ ("PATH") },
    { "kernel", 0, 0, G_OPTION_ARG_FILENAME, &args->kernel, N_ ("Boot this kernel directly"),
      N_ ("PATH") },
    { "initrd", 0, 0, G_OPTION_ARG_FILENAME, &args->initrd, N_ ("Its initramfs"), N_ ("PATH") },
    { "cmdline", 0, 0, G_OPTION_ARG_STRING, &args->cmdline, N_ ("Its command line"), N_ ("TEXT") },
    { "gpu", 0, 0, G_OPTION_ARG_STRING_ARRAY, &args->gpus,
      N_ ("Pass this PCI device through (0000:01:00.0)"), N_ ("ADDRESS") },
    { "network", 0, 0, G_OPTION_ARG_STRING, &args->network,
      N_ ("libvirt network (default: the profile's)"), N_ ("NAME") },
    { "no-network", 0, 0, G_OPTION_ARG_NONE, &args->no_network, N_ ("No network interface"), NULL },
    { "graphics", 0, 0, G_OPTION_ARG_STRING, &args->graphics, N_ ("spice, vnc or none"),
      N_ ("KIND") },
    { "tpm", 0, 0, G_OPTION_ARG_NONE, &args->tpm, N_ ("A TPM 2.0 (swtpm)"), NULL },
    { "no-tpm", 0, 0, G_OPTION_ARG_NONE, &args->no_tpm, N_ ("No TPM"), NULL },
    { "virt-type", 0, 0, G_OPTION_ARG_STRING, &args->virt_type,
      N_ ("kvm or qemu (TCG); default: kvm where the host offers it"), N_ ("TYPE") },
    { "agent-socket", 0, 0, G_OPTION_ARG_FILENAME, &args->agent_socket,
      N_ ("Socket of the spirit.0 channel (default: libvirt's)"), N_ ("PATH") },
    { "serial-log", 0, 0, G_OPTION_ARG_FILENAME, &args->serial_log,
      N_ ("Append the serial console to this file"), N_ ("PATH") },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &args->dry_run,
      N_ ("Print the domain XML, define nothing"), NULL },
  };
  const GOptionEntry rest
    = { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args->rest, NULL, NULL };
  const GOptionEntry end = { NULL };
  g_autoptr (GArray) entries = g_array_new (FALSE, TRUE, sizeof (GOptionEntry));
  g_autoptr (GOptionContext) context = g_option_context_new (usage);
  g_autoptr (GError) error = NULL;
  /* parse_strv frees what it takes out; argv is not ours to free */
  g_auto (GStrv) copy = g_strdupv (argv);

  args->balloon_period = -1;
  if (create)
    g_array_append_vals (entries, create_only, G_N_ELEMENTS (create_only));
  tuning_entries (args, entries);
  g_array_append_val (entries, rest);
  g_array_append_val (entries, end);
  g_option_context_add_main_entries (context, (GOptionEntry *)entries->data, GETTEXT_PACKAGE);
  if (!g_option_context_parse_strv (context, &copy, &error))
    {
      usage_error (error->message);
      return FALSE;
    }
  if (args->rest == NULL || g_strv_length (args->rest) != 1)
    {
      usage_error (usage);
      return FALSE;
    }
  if (!g_utf8_validate (args->rest[0], -1, NULL))
    {
      usage_error (_ ("The VM name is not valid UTF-8"));
      return FALSE;
    }
  return TRUE;
}

/* --- vm create ----------------------------------------------------------------------------- */

static int
vm_create (SpiritctlClient *client, int argc, char **argv)
{
  g_auto (CreateArgs) args = { 0 };
  g_autoptr (GVariantBuilder) options = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  g_autoptr (SpiritDBusManager) manager = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  const char *path, *xml;

  if (!parse_args (_ ("vm create NAME --profile PROFILE [OPTION…]"), &args, TRUE, argc, argv))
    return 2;
  if (args.profile == NULL)
    return usage_error (_ ("Which profile? Add --profile linux or --profile windows "
                           "('spiritctl profiles' lists them all)"));
  g_variant_builder_add (options, "{sv}", "profile", g_variant_new_string (args.profile));
  if (!add_tuning (options, &args))
    return 2;
  add_path (options, "disk", args.disk);
  add_path (options, "kernel", args.kernel);
  add_path (options, "initrd", args.initrd);
  add_path (options, "agent-socket", args.agent_socket);
  add_path (options, "serial-log", args.serial_log);
  if (args.cdroms != NULL)
    {
      g_autoptr (GPtrArray) cdroms = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; args.cdroms[i] != NULL; i++)
        g_ptr_array_add (cdroms, absolute_path (args.cdroms[i]));
      g_variant_builder_add (options, "{sv}", "cdrom",
                             g_variant_new_strv ((const char *const *)cdroms->pdata, cdroms->len));
    }
  if (args.cmdline != NULL)
    g_variant_builder_add (options, "{sv}", "cmdline", g_variant_new_string (args.cmdline));
  if (args.gpus != NULL)
    g_variant_builder_add (options, "{sv}", "gpus",
                           g_variant_new_strv ((const char *const *)args.gpus, -1));
  if (args.network != NULL || args.no_network)
    g_variant_builder_add (options, "{sv}", "network",
                           g_variant_new_string (args.no_network ? "" : args.network));
  if (args.graphics != NULL)
    g_variant_builder_add (options, "{sv}", "graphics", g_variant_new_string (args.graphics));
  if (args.tpm || args.no_tpm)
    g_variant_builder_add (options, "{sv}", "tpm", g_variant_new_boolean (args.tpm));
  if (args.virt_type != NULL)
    g_variant_builder_add (options, "{sv}", "virt-type", g_variant_new_string (args.virt_type));

  manager = spiritctl_client_get_manager (client, &error);
  if (manager != NULL)
    reply = g_dbus_proxy_call_sync (
      G_DBUS_PROXY (manager), "DefineVM",
      g_variant_new ("(sa{sv}b)", args.rest[0], options, args.dry_run),
      G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, NULL, &error);
  if (reply == NULL)
    return spiritctl_client_fail (error);
  g_variant_get (reply, "(&o&s)", &path, &xml);
  if (args.dry_run)
    g_print ("%s%s", xml, g_str_has_suffix (xml, "\n") ? "" : "\n");
  else if (client->json)
    g_print ("{\"ObjectPath\": \"%s\"}\n", path);
  else
    g_print (_ ("%s: defined with the %s profile (start it with 'spiritctl vm start %s')\n"),
             args.rest[0], args.profile, args.rest[0]);
  return 0;
}

/* --- vm retune ----------------------------------------------------------------------------- */

static int
vm_retune (SpiritctlClient *client, int argc, char **argv)
{
  g_auto (CreateArgs) args = { 0 };
  g_autoptr (GVariantBuilder) options = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  g_autoptr (SpiritDBusVm) vm = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  if (!parse_args (_ ("vm retune VM [--cpus N] [--memory SIZE] [--pin …] [--hugepages] …"), &args,
                   FALSE, argc, argv))
    return 2;
  if (!add_tuning (options, &args))
    return 2;
  vm = spiritctl_client_get_vm (client, args.rest[0], &error);
  if (vm != NULL)
    reply = spiritctl_client_call_vm (vm, "Retune", g_variant_new ("(a{sv})", options), &error);
  if (reply == NULL)
    return spiritctl_client_fail (error);
  if (client->json)
    {
      const char *xml;
      g_autoptr (JsonNode) node = json_node_alloc ();
      g_autofree char *quoted = NULL;

      g_variant_get (reply, "(&s)", &xml);
      json_node_init_string (node, xml);
      quoted = json_to_string (node, FALSE);
      g_print ("{\"xml\": %s}\n", quoted);
    }
  else if (g_str_equal (spirit_dbus_vm_get_state (vm), "shutoff")
           || g_str_equal (spirit_dbus_vm_get_state (vm), "saved"))
    g_print (_ ("%s: retuned\n"), spirit_dbus_vm_get_name (vm));
  else
    g_print (_ ("%s: retuned; the new tuning applies from its next start\n"),
             spirit_dbus_vm_get_name (vm));
  return 0;
}

/* --- host hugepages ------------------------------------------------------------------------ */

static void
print_pools (SpiritctlClient *client, GVariant *pools)
{
  GVariantIter iter;
  guint64 page_kib, total, free_pages;

  if (client->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_array (builder);
      g_variant_iter_init (&iter, pools);
      while (g_variant_iter_next (&iter, "(ttt)", &page_kib, &total, &free_pages))
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "PageKiB");
          json_builder_add_int_value (builder, (gint64)page_kib);
          json_builder_set_member_name (builder, "Reserved");
          json_builder_add_int_value (builder, (gint64)total);
          json_builder_set_member_name (builder, "Free");
          json_builder_add_int_value (builder, (gint64)free_pages);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      root = json_builder_get_root (builder);
      text = json_to_string (root, TRUE);
      g_print ("%s\n", text);
      return;
    }
  g_print ("%-6s %10s %10s\n", _ ("SIZE"), _ ("RESERVED"), _ ("FREE"));
  g_variant_iter_init (&iter, pools);
  while (g_variant_iter_next (&iter, "(ttt)", &page_kib, &total, &free_pages))
    g_print ("%-6s %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT "\n",
             page_kib == PAGE_1G_KIB ? "1G" : "2M", total, free_pages);
}

static int
host_hugepages (SpiritctlClient *client, int argc, char **argv)
{
  g_autofree char *size = NULL;
  gint64 reserve = 0;
  const GOptionEntry entries[] = { { "reserve", 'r', 0, G_OPTION_ARG_INT64, &reserve,
                                     N_ ("Add this many pages to the pool"), N_ ("N") },
                                   { "size", 's', 0, G_OPTION_ARG_STRING, &size,
                                     N_ ("Page size: 2M (default) or 1G"), N_ ("SIZE") },
                                   { NULL } };
  g_autoptr (GOptionContext) context
    = g_option_context_new (_ ("host hugepages [--reserve N] [--size 2M|1G]"));
  g_autoptr (SpiritDBusManager) manager = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) copy = g_strdupv (argv);
  guint64 bytes = PAGE_2M_KIB * 1024;

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse_strv (context, &copy, &error))
    return usage_error (error->message);
  if (g_strv_length (copy) > 1)
    return usage_error (_ ("Usage: spiritctl host hugepages [--reserve N] [--size 2M|1G]"));
  if (size != NULL && !parse_page_size (size, &bytes))
    return usage_error (_ ("--size is 2M or 1G"));
  if (reserve < 0)
    return usage_error (_ ("--reserve takes a number of pages"));

  manager = spiritctl_client_get_manager (client, &error);
  if (manager != NULL && reserve > 0)
    reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (manager), "ReserveHugePages",
                                    g_variant_new ("(tt)", bytes / 1024, (guint64)reserve),
                                    G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT,
                                    NULL, &error);
  if (manager != NULL && (reserve == 0 || reply != NULL))
    {
      g_clear_pointer (&reply, g_variant_unref);
      reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (manager), "GetHugePages", NULL,
                                      G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
    }
  if (reply == NULL)
    return spiritctl_client_fail (error);
  {
    g_autoptr (GVariant) pools = g_variant_get_child_value (reply, 0);
    print_pools (client, pools);
  }
  return 0;
}

/* --- profiles ------------------------------------------------------------------------------ */

int
spiritctl_profiles_command (SpiritctlClient *client)
{
  g_autoptr (SpiritDBusManager) manager = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) profiles = NULL;
  g_autoptr (GError) error = NULL;
  GVariantIter iter;
  const char *name, *description;

  manager = spiritctl_client_get_manager (client, &error);
  if (manager != NULL)
    reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (manager), "ListProfiles", NULL,
                                    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply == NULL)
    return spiritctl_client_fail (error);
  profiles = g_variant_get_child_value (reply, 0);
  if (client->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_array (builder);
      g_variant_iter_init (&iter, profiles);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &description))
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "Name");
          json_builder_add_string_value (builder, name);
          json_builder_set_member_name (builder, "Description");
          json_builder_add_string_value (builder, description);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      root = json_builder_get_root (builder);
      text = json_to_string (root, TRUE);
      g_print ("%s\n", text);
      return 0;
    }
  g_variant_iter_init (&iter, profiles);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &description))
    g_print ("%-12s %s\n", name, description);
  return 0;
}

/* --- dispatch ------------------------------------------------------------------------------ */

int
spiritctl_create_command (SpiritctlClient *client, int argc, char **argv)
{
  if (g_str_equal (argv[0], "vm") && argc > 1 && g_str_equal (argv[1], "create"))
    return vm_create (client, argc - 1, argv + 1);
  if (g_str_equal (argv[0], "vm") && argc > 1 && g_str_equal (argv[1], "retune"))
    return vm_retune (client, argc - 1, argv + 1);
  if (g_str_equal (argv[0], "host") && argc > 1 && g_str_equal (argv[1], "hugepages"))
    return host_hugepages (client, argc - 1, argv + 1);
  return usage_error (_ ("Unknown host command; use 'spiritctl host hugepages'"));
}
