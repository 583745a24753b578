/* nexus-application.c: the Nexus HUD application (org.crom.Spirit.Nexus).
 *
 * Parses the bus options (as spiritctl: the system bus, or --session, --address ADDRESS,
 * $SPIRIT_BUS_ADDRESS), makes one NexusClient for all windows, sets the dark style, the
 * keyboard shortcuts and the About window. AdwApplication picks style.css up from the resource
 * base path /org/crom/Spirit/Nexus.
 */
#define G_LOG_DOMAIN "nexus-application"

#include "nexus-application.h"
#include "nexus-client.h"
#include "nexus-window.h"

#include <glib/gi18n.h>

struct _NexusApplication
{
  AdwApplication parent_instance;

  gboolean session;
  char *address;
  NexusClient *client;
};

G_DEFINE_FINAL_TYPE (NexusApplication, nexus_application, ADW_TYPE_APPLICATION)

static const NexusAccel accels[] = {
  { "win.start", { "<Control>Return", NULL } },
  { "win.shutdown", { "<Control><Shift>x", NULL } },
  { "win.force-stop", { "<Control><Shift>Delete", NULL } },
  { "win.reboot", { "<Control><Shift>r", NULL } },
  { "win.pause", { "<Control>p", NULL } },
  { "win.resume", { "<Control>r", NULL } },
  { "win.save-state", { "<Control>s", NULL } },
  { "win.snapshot", { "<Control>t", NULL } },
  { "win.show-page::machines", { "<Alt>1", NULL } },
  { "win.show-page::gpu", { "<Alt>2", NULL } },
  { "win.show-shortcuts", { "<Control>question", NULL } },
  { "window.close", { "<Control>w", NULL } },
  { "app.quit", { "<Control>q", NULL } },
};

const NexusAccel *
nexus_application_get_accels (gsize *n_accels)
{
  *n_accels = G_N_ELEMENTS (accels);
  return accels;
}

static NexusClient *
get_client (NexusApplication *self)
{
  if (self->client == NULL)
    {
      const char *address = self->address ? self->address : g_getenv ("SPIRIT_BUS_ADDRESS");

      self->client
        = nexus_client_new (self->session ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, address);
      nexus_client_start (self->client);
    }
  return self->client;
}

static void
nexus_application_activate (GApplication *application)
{
  NexusApplication *self = NEXUS_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (nexus_window_new (GTK_APPLICATION (self), get_client (self)));
  gtk_window_present (window);
}

static void
activate_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
activate_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkApplication *application = GTK_APPLICATION (user_data);
  AdwAboutWindow *about = ADW_ABOUT_WINDOW (adw_about_window_new ());
  const char *developers[] = { _ ("The Spirit developers"), NULL };

  gtk_window_set_transient_for (GTK_WINDOW (about),
                                gtk_application_get_active_window (application));
  adw_about_window_set_application_name (about, _ ("Nexus HUD"));
  adw_about_window_set_application_icon (about, NEXUS_APPLICATION_ID);
  adw_about_window_set_version (about, SPIRIT_VERSION);
  adw_about_window_set_comments (
    about, _ ("The desktop front end of Spirit: virtual machines, the GPU and commands."));
  adw_about_window_set_developer_name (about, developers[0]);
  adw_about_window_set_developers (about, developers);
  adw_about_window_set_website (about, "https://github.com/crom/spirit");
  adw_about_window_set_issue_url (about, "https://github.com/crom/spirit/issues");
  adw_about_window_set_license_type (about, GTK_LICENSE_GPL_3_0);
  adw_about_window_set_translator_credits (about, _ ("translator-credits"));
  gtk_window_present (GTK_WINDOW (about));
}

static void
nexus_application_startup (GApplication *application)
{
  static const GActionEntry app_actions[] = {
    { "quit", activate_quit, NULL, NULL, NULL, { 0 } },
    { "about", activate_about, NULL, NULL, NULL, { 0 } },
  };

  G_APPLICATION_CLASS (nexus_application_parent_class)->startup (application);

  /* A HUD is dark, unless the desktop asks for light explicitly. */
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      ADW_COLOR_SCHEME_PREFER_DARK);
  gtk_window_set_default_icon_name (NEXUS_APPLICATION_ID);

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  for (gsize i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (application), accels[i].action,
                                           accels[i].accels);
}

static gint
nexus_application_handle_local_options (GApplication *application, GVariantDict *options)
{
  NexusApplication *self = NEXUS_APPLICATION (application);

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("nexus-hud %s\n", SPIRIT_VERSION);
      return 0;
    }
  self->session = g_variant_dict_contains (options, "session");
  g_variant_dict_lookup (options, "address", "s", &self->address);
  return -1;
}

static void
nexus_application_dispose (GObject *object)
{
  NexusApplication *self = NEXUS_APPLICATION (object);

  g_clear_object (&self->client);
  G_OBJECT_CLASS (nexus_application_parent_class)->dispose (object);
}

static void
nexus_application_finalize (GObject *object)
{
  NexusApplication *self = NEXUS_APPLICATION (object);

  g_free (self->address);
  G_OBJECT_CLASS (nexus_application_parent_class)->finalize (object);
}

static void
nexus_application_class_init (NexusApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = nexus_application_dispose;
  object_class->finalize = nexus_application_finalize;
  application_class->activate = nexus_application_activate;
  application_class->startup = nexus_application_startup;
  application_class->handle_local_options = nexus_application_handle_local_options;
}

static void
nexus_application_init (NexusApplication *self)
{
  const GOptionEntry entries[]
    = { { "session", 0, 0, G_OPTION_ARG_NONE, NULL,
          N_ ("Talk to a development instance of Spirit on the session bus"), NULL },
        { "address", 0, 0, G_OPTION_ARG_STRING, NULL,
          N_ ("Talk to the Spirit instance on this D-Bus address (or $SPIRIT_BUS_ADDRESS)"),
          N_ ("ADDRESS") },
        { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Print the version and exit"), NULL },
        { NULL } };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

NexusApplication *
nexus_application_new (void)
{
  return g_object_new (NEXUS_TYPE_APPLICATION, "application-id", NEXUS_APPLICATION_ID, "flags",
                       G_APPLICATION_DEFAULT_FLAGS, NULL);
}
