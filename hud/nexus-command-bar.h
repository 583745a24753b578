/* nexus-command-bar.h: the @ command bar at the bottom of the HUD. */
#pragma once

#include <adwaita.h>

#include "nexus-client.h"

G_BEGIN_DECLS

#define NEXUS_TYPE_COMMAND_BAR (nexus_command_bar_get_type ())
G_DECLARE_FINAL_TYPE (NexusCommandBar, nexus_command_bar, NEXUS, COMMAND_BAR, AdwBin)

/* Where the VMs (for targets) and the service's bus come from. */
void nexus_command_bar_set_client (NexusCommandBar *self, NexusClient *client);

/* Runs a line as if typed and activated; FALSE if it did not start (a syntax error, shown with
 * its column, or a line still running). The "running" property follows it. */
gboolean nexus_command_bar_run (NexusCommandBar *self, const char *text);

/* Tab: completes the @target before the cursor. FALSE when there is none to complete. */
gboolean nexus_command_bar_complete (NexusCommandBar *self);

gboolean nexus_command_bar_get_running (NexusCommandBar *self);
int nexus_command_bar_get_status (NexusCommandBar *self);
const char *nexus_command_bar_get_status_text (NexusCommandBar *self);
char *nexus_command_bar_get_output (NexusCommandBar *self);
GtkEntry *nexus_command_bar_get_entry (NexusCommandBar *self);

G_END_DECLS
