/* nexus-application.h: the Nexus HUD application (org.crom.Spirit.Nexus). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define NEXUS_APPLICATION_ID "org.crom.Spirit.Nexus"

#define NEXUS_TYPE_APPLICATION (nexus_application_get_type ())
G_DECLARE_FINAL_TYPE (NexusApplication, nexus_application, NEXUS, APPLICATION, AdwApplication)

NexusApplication *nexus_application_new (void);

/* The shortcuts of the window's actions, also listed in nexus-shortcuts-window.ui. */
typedef struct
{
  const char *action;
  const char *accels[3];
} NexusAccel;

const NexusAccel *nexus_application_get_accels (gsize *n_accels);

G_END_DECLS
