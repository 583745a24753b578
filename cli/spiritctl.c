/* spiritctl.c: the command line client of the Spirit service.
 *
 * Also installed as "spirit", the spelling of the project's original spec ("spirit vm list").
 */
#define G_LOG_DOMAIN "spiritctl"

#include <glib/gi18n.h>
#include <locale.h>

#include "spiritctl-client.h"
#include "spiritctl-create.h"
#include "spiritctl-exec.h"
#include "spiritctl-gpu.h"
#include "spiritctl-line.h"
#include "spiritctl-vm.h"

static const char *description =
  N_("Commands:\n"
     "  status                          Show the service, its libvirt connection and VM count\n"
     "  vm list [--host HOST]           List VMs (of every host, or of one)\n"
     "  vm info VM                      Show everything about a VM\n"
     "  vm start VM                     Boot a VM, or resume it from its saved state\n"
     "  vm stop VM [--timeout SECONDS]  Shut a VM down gracefully (fails if it does not, never forces)\n"
     "  vm force-stop VM                Turn a VM off at once\n"
     "  vm reboot VM                    Reboot a VM\n"
     "  vm pause VM | vm resume VM      Freeze or continue a VM's CPUs\n"
     "  vm save VM                      Save a VM's memory to disk and stop it\n"
     "  vm discard-save VM              Delete the saved memory image\n"
     "  vm autostart VM on|off          Start a VM when the host boots\n"
     "  vm memory VM SIZE               Set a VM's memory (512M, 2G; live through its balloon)\n"
     "  vm snapshot create VM [NAME]    Take a snapshot (a name is made up if none is given)\n"
     "  vm snapshot revert VM NAME      Return to a snapshot\n"
     "  vm snapshot delete VM NAME      Delete a snapshot\n"
     "  vm snapshot list VM             List snapshots\n"
     "  vm watch                        Print VM state changes as they happen\n"
     "  vm create NAME --profile PROFILE [--memory SIZE] [--cpus N] [--disk PATH | --kernel PATH\n"
     "      [--initrd PATH] [--cmdline TEXT]] [--hugepages] [--pin auto|LIST] [--gpu ADDRESS]\n"
     "      [--dry-run] …                Define a VM from a profile ('vm create --help' lists all)\n"
     "  vm retune VM [--cpus N] [--memory SIZE] [--pin auto|LIST|none] [--hugepages] …\n"
     "                                  Change a VM's tuning (from its next start)\n"
     "  profiles                        List the VM profiles\n"
     "  host hugepages [--reserve N] [--size 2M|1G]  Show or grow the huge page pools\n"
     "  @TARGET COMMAND [ARGS…]         Run a command in a VM (@linux ls -la), a container\n"
     "                                  (@docker:web ps) or on the host (@spirit); operators\n"
     "                                  are separate words: @linux uname -r '>' @spirit /tmp/k\n"
     "  @VM --pause|--resume|--start|--stop|--snapshot save [NAME]\n"
     "  run LINE                        Run one line of the @target language\n"
     "  shell                           Type @target lines at a prompt (history, completion)\n"
     "  gpu status                      Show the GPUs: state, owner, drivers, IOMMU group\n"
     "  gpu passthrough VM [--force]    Give the GPU to a VM (stops the HUD, starts the VM)\n"
     "  gpu reclaim [--force]           Take the GPU back from its VM (restarts the HUD)\n"
     "  exec [OPTION…] VM -- COMMAND…   Run a command in a VM (see 'spiritctl exec --help')\n"
     "\n"
     "VM is a name, a UUID, or HOST/NAME when several hosts have a VM of that name.\n"
     "The exit status is 0 on success, 1 when the service refused (its message is\n"
     "printed), 2 for a usage error.");

int
main (int argc, char **argv)
{
  gboolean session = FALSE, json = FALSE, version = FALSE;
  g_autofree char *address = NULL;
  g_autofree char *host = NULL;
  int timeout = 0;
  gboolean force = FALSE;
  g_autofree char *gpu = NULL;
  g_auto (GStrv) args = NULL;
  const GOptionEntry entries[] = {
    { "session", 0, 0, G_OPTION_ARG_NONE, &session, N_("Talk to a development instance on the session bus"), NULL },
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, N_("Talk to the instance on this D-Bus address (or $SPIRIT_BUS_ADDRESS)"), N_("ADDRESS") },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, N_("Print JSON for scripts"), NULL },
    { "host", 'H', 0, G_OPTION_ARG_STRING, &host, N_("\"vm list\": only the VMs of this host"), N_("HOST") },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, N_("Seconds \"vm stop\" waits for the guest (default 120)"), N_("SECONDS") },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, N_("\"gpu passthrough\": past graphical sessions and processes using the GPU; \"gpu reclaim\": turn the VM off"), NULL },
    { "gpu", 0, 0, G_OPTION_ARG_STRING, &gpu, N_("\"gpu\" commands: the GPU at this PCI address"), N_("ADDRESS") },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  SpiritctlClient client = { 0 };
  SpiritctlVmOptions vm_options = { 0 };
  g_autofree char *at_line = NULL;
  SpiritctlGpuOptions gpu_options = { 0 };
  guint nargs;
  int status;
  /* "vm create", "vm retune" and "host" parse their own options: cut them off first. */
  int split = spiritctl_create_split (&argc, argv);
  g_auto (GStrv) sub_args = split > 0 ? g_strdupv (argv + split) : NULL;
  int exec_at = 0; /* "exec" takes options of its own: parse only what comes before it here */
  g_auto (GStrv) exec_args = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* "spiritctl @linux ls -la": everything from the @target on is the line's, options too. */
  for (int i = 1; i < argc; i++)
    {
      if (argv[i][0] == '@' && argv[i][1] != '\0')
        {
          at_line = spiritctl_line_from_words (argc - i, argv + i);
          argc = i;
          break;
        }
      if (g_str_equal (argv[i], "--") || argv[i][0] != '-')
        break;
    }
  for (int i = 1; i < argc && !g_str_equal (argv[i], "--"); i++)
    if (g_str_equal (argv[i], "exec"))
      {
        exec_at = i;
        exec_args = g_strdupv (argv + i);
        argc = i;
        break;
      }

  context = g_option_context_new (_("COMMAND [ARGS…]"));
  g_option_context_set_summary (context, _("Control the Spirit virtualization service"));
  g_option_context_set_description (context, _(description));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("spiritctl: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("spiritctl %s\n", SPIRIT_VERSION);
      return 0;
    }
  nargs = args ? g_strv_length (args) : 0;
  if (at_line != NULL || (nargs > 0 && spiritctl_line_is_command (args[0])))
    return spiritctl_line_main (session, address, at_line, nargs, args);
  if (nargs == 0 && sub_args == NULL && exec_at == 0)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s", help);
      return 2;
    }
  /* Arguments are taken as raw bytes so a bad one gets a clear message, not a conversion error. */
  for (guint i = 0; i < nargs; i++)
    if (!g_utf8_validate (args[i], -1, NULL))
      {
        g_printerr (_("spiritctl: argument %u is not valid UTF-8\n"), i + 1);
        return 2;
      }
  if (timeout < 0)
    {
      g_printerr ("spiritctl: %s\n", _("--timeout must not be negative"));
      return 2;
    }
  vm_options.timeout = (guint) timeout;
  vm_options.host = host;

  if (!spiritctl_client_connect (&client, session, address, &error))
    {
      g_printerr ("spiritctl: %s\n", error->message);
      return 1;
    }
  client.json = json;

  if (exec_at > 0)
    status = spiritctl_exec_command (&client, g_strv_length (exec_args), exec_args);
  else if (sub_args != NULL)
    status = spiritctl_create_command (&client, (int) g_strv_length (sub_args), sub_args);
  else if (g_str_equal (args[0], "profiles"))
    status = spiritctl_profiles_command (&client);
  else if (g_str_equal (args[0], "vm"))
    status = spiritctl_vm_command (&client, &vm_options, (int) nargs - 1, args + 1);
  else if (g_str_equal (args[0], "gpu"))
    {
      gpu_options.force = force;
      gpu_options.gpu = gpu;
      status = spiritctl_gpu_command (&client, &gpu_options, (int) nargs - 1, args + 1);
    }
  else if (g_str_equal (args[0], "status"))
    status = spiritctl_status_command (&client);
  else
    {
      g_printerr (_("spiritctl: unknown command '%s'; try 'spiritctl --help'\n"), args[0]);
      status = 2;
    }
  spiritctl_client_clear (&client);
  return status;
}
