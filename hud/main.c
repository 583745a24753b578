/* main.c: nexus-hud, the GTK front end of the Spirit virtualization service. */
#define G_LOG_DOMAIN "nexus-hud"

#include <glib/gi18n.h>
#include <locale.h>

#include "nexus-application.h"

int
main (int argc, char **argv)
{
  g_autoptr (NexusApplication) application = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  application = nexus_application_new ();
  return g_application_run (G_APPLICATION (application), argc, argv);
}
