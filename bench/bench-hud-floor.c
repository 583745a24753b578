/* bench-hud-floor.c: the floor under bench-hud.py's numbers — an AdwApplicationWindow with a
 * header bar and a label, and nothing else. What GTK 4 and libadwaita cost on this machine before
 * the HUD draws anything of its own. Logs its first frame like the HUD does. */
#define G_LOG_DOMAIN "nexus-window"

#include <adwaita.h>

static void
on_after_paint (GdkFrameClock *clock, gpointer user_data)
{
  g_debug ("first frame at %" G_GINT64_FORMAT " µs", g_get_monotonic_time ());
  g_signal_handlers_disconnect_by_func (clock, on_after_paint, user_data);
}

static void
on_map (GtkWidget *window, gpointer user_data)
{
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint", G_CALLBACK (on_after_paint),
                    NULL);
}

static void
on_activate (GtkApplication *app, gpointer user_data)
{
  GtkWidget *window = adw_application_window_new (app);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), gtk_label_new ("floor"));
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  gtk_window_set_default_size (GTK_WINDOW (window), 980, 620);
  g_signal_connect (window, "map", G_CALLBACK (on_map), NULL);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autoptr (AdwApplication) app = adw_application_new ("org.crom.Spirit.Nexus.BenchFloor",
                                                        G_APPLICATION_DEFAULT_FLAGS);

  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
