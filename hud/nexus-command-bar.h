/* nexus-command-bar.h: the @ command bar at the bottom of the HUD. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define NEXUS_TYPE_COMMAND_BAR (nexus_command_bar_get_type ())
G_DECLARE_FINAL_TYPE (NexusCommandBar, nexus_command_bar, NEXUS, COMMAND_BAR, AdwBin)

G_END_DECLS
