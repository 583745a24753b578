/* nexus-command-bar.c: the @ command bar at the bottom of the HUD.
 *
 * "@windows dir C:\Users" runs a command in a VM through its guest agent. spiritd has no Proxy
 * interface for that yet (the agent issue), so the bar is here, insensitive, and says why; it
 * never pretends to run anything. When the interface lands, the entry parses "@target command",
 * completes targets from the VM model, starts a job (/org/crom/Spirit/job/…) and shows its output
 * above the bar.
 */
#define G_LOG_DOMAIN "nexus-command-bar"

#include "nexus-command-bar.h"

struct _NexusCommandBar
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (NexusCommandBar, nexus_command_bar, ADW_TYPE_BIN)

static void
nexus_command_bar_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), NEXUS_TYPE_COMMAND_BAR);
  G_OBJECT_CLASS (nexus_command_bar_parent_class)->dispose (object);
}

static void
nexus_command_bar_class_init (NexusCommandBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = nexus_command_bar_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/crom/Spirit/Nexus/nexus-command-bar.ui");
}

static void
nexus_command_bar_init (NexusCommandBar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
