/* spirit-daemon.c: spiritd's main(): options, the bus name, the main loop.
 *
 * On the system bus by default. --session (with --uri test:///default) runs it unprivileged for
 * development and tests; polkit stays on unless --no-polkit is given, which only --session allows.
 * The hosts (libvirt connections) come from spirit.conf (see spirit-config.h) and --uri.
 */
#define G_LOG_DOMAIN "spiritd"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <libvirt-gobject/libvirt-gobject.h>
#include <libxml/parser.h>
#include <locale.h>

#include "spirit-agent-link.h"
#include "spirit-auth.h"
#include "spirit-config.h"
#include "spirit-error.h"
#include "spirit-gpu-service.h"
#include "spirit-manager.h"

#define SPIRIT_BUS_NAME "org.crom.Spirit"

typedef struct
{
  GMainLoop *loop;
  SpiritManager *manager;
  SpiritAuth *auth;
  SpiritConfig *config;
  gboolean use_polkit;
  int exit_code;
  gboolean owned; /* had the name: losing it now means another instance replaced this one */
} SpiritDaemon;

static void
on_bus_acquired (GDBusConnection *bus, const char *name, gpointer user_data)
{
  SpiritDaemon *daemon = user_data;
  g_autoptr (GError) error = NULL;

  daemon->auth = spirit_auth_new (daemon->use_polkit);
  daemon->manager = spirit_manager_new (bus, daemon->auth, daemon->config);
  if (!spirit_manager_export (daemon->manager, &error))
    {
      g_critical ("Could not export the service objects: %s", error->message);
      daemon->exit_code = 1;
      g_main_loop_quit (daemon->loop);
      return;
    }
  spirit_manager_start (daemon->manager);
}

static void
on_name_acquired (GDBusConnection *bus, const char *name, gpointer user_data)
{
  SpiritDaemon *daemon = user_data;

  daemon->owned = TRUE;
  g_message ("Spirit %s is %s", SPIRIT_VERSION, name);
}

static void
on_name_lost (GDBusConnection *bus, const char *name, gpointer user_data)
{
  SpiritDaemon *daemon = user_data;

  if (bus == NULL)
    g_printerr ("spiritd: could not connect to the bus\n");
  else if (daemon->owned)
    g_message ("Replaced by another instance; exiting");
  else
    g_printerr ("spiritd: %s is already owned by another instance (use --replace to take it over)\n", name);
  daemon->exit_code = daemon->owned ? 0 : 1;
  g_main_loop_quit (daemon->loop);
}

static gboolean
on_signal_quit (gpointer user_data)
{
  SpiritDaemon *daemon = user_data;

  g_message ("Exiting on signal");
  g_main_loop_quit (daemon->loop);
  return G_SOURCE_REMOVE;
}

/* libvirt-gobject warns "should not be reached" for lifecycle events newer than it knows (PM
 * suspend, renames, snapshot definitions). Spirit handles those through its own callback, so the
 * warning is noise; it is kept at debug level, everything else passes through unchanged. */
static GLogWriterOutput
spirit_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *domain = NULL;
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
    }
  if ((level & G_LOG_LEVEL_WARNING) && g_strcmp0 (domain, "Libvirt.GObject") == 0 && message &&
      strstr (message, "should not be reached"))
    {
      if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, domain))
        return G_LOG_WRITER_HANDLED;
      level = G_LOG_LEVEL_DEBUG;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

int
main (int argc, char **argv)
{
  SpiritDaemon daemon = { 0 };
  gboolean session = FALSE, no_polkit = FALSE, replace = FALSE, verbose = FALSE, version = FALSE;
  g_autofree char *uri = NULL;
  g_autofree char *config_path = NULL;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  const GOptionEntry entries[] = {
    { "session", 0, 0, G_OPTION_ARG_NONE, &session, N_("Use the session bus (development and tests)"), NULL },
    { "uri", 0, 0, G_OPTION_ARG_STRING, &uri, N_("libvirt connection URI of the host \"local\" (default: qemu:///system)"), "URI" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("Configuration file to use instead of spirit/spirit.conf in the system configuration directory"), N_("FILE") },
    { "no-polkit", 0, 0, G_OPTION_ARG_NONE, &no_polkit, N_("Allow every caller everything (only with --session)"), NULL },
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &replace, N_("Replace a running instance"), NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Print debug messages"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };
  guint owner_id;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("The Spirit virtualization service (org.crom.Spirit)"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("spiritd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("spiritd %s\n", SPIRIT_VERSION);
      return 0;
    }
  if (no_polkit && !session)
    {
      g_printerr ("spiritd: --no-polkit is only allowed with --session\n");
      return 2;
    }
  if (verbose)
    g_log_set_debug_enabled (TRUE);
  spirit_gpu_service_apply_test_knobs (session);
  g_log_set_writer_func (spirit_log_writer, NULL, NULL);

  /* libxml2 must be set up once on the main thread before threads use it: test:// connections
   * parse their XML on the hosts' worker threads, and two doing it first at once made libxml2
   * create its global mutex twice (a leak LeakSanitizer caught with two test-driver hosts). */
  xmlInitParser ();
  if (!gvir_init_object_check (NULL, NULL, &error))
    {
      g_printerr ("spiritd: could not initialize libvirt: %s\n", error->message);
      return 1;
    }
  /* Register the error domain before any reply carries one. */
  (void) SPIRIT_ERROR;

  daemon.loop = g_main_loop_new (NULL, FALSE);
  daemon.config = spirit_config_load (config_path ? config_path : SPIRIT_SYSCONFDIR "/spirit/spirit.conf",
                                      uri, &error);
  if (daemon.config == NULL)
    {
      g_printerr ("spiritd: %s\n", error->message);
      return 1;
    }
  daemon.use_polkit = !no_polkit;
  /* Tests point the agent links at sockets of their own (never on the system bus). */
  if (session && g_getenv ("SPIRIT_TEST_AGENT_SOCKET_DIR") != NULL)
    spirit_agent_link_set_test_socket_dir (g_getenv ("SPIRIT_TEST_AGENT_SOCKET_DIR"));

  g_unix_signal_add (SIGTERM, on_signal_quit, &daemon);
  g_unix_signal_add (SIGINT, on_signal_quit, &daemon);

  owner_id = g_bus_own_name (session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM,
                             SPIRIT_BUS_NAME,
                             G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT |
                               (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                             on_bus_acquired,
                             on_name_acquired,
                             on_name_lost,
                             &daemon,
                             NULL);
  g_main_loop_run (daemon.loop);

  g_bus_unown_name (owner_id);
  g_clear_object (&daemon.manager);
  g_clear_object (&daemon.auth);
  g_main_loop_unref (daemon.loop);
  spirit_config_free (daemon.config);
  return daemon.exit_code;
}
