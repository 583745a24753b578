/* test-hud.c: the Nexus HUD in a real window, against a real spiritd.
 *
 * Each process starts its own Xvfb (it picks a free display itself, -displayfd) and its own
 * dbus-daemon, runs spiritd on it over libvirt's test driver, and then drives the HUD's own
 * widgets in-process: the HUD is linked as a static library, the very code nexus-hud runs.
 * Assertions are on widget state (labels, sensitivity, what is mapped) and on spiritd's D-Bus
 * properties, seen through a separate connection, never on pixels. Screenshots are saved as
 * artifacts to $NEXUS_HUD_ARTIFACTS.
 *
 * Nothing sleeps: every wait iterates the main context until a condition holds, with a deadline.
 * meson registers one test per case (-p /hud/…), so they run in parallel and alone.
 */
#define G_LOG_DOMAIN "test-hud"

#include <adwaita.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "nexus-application.h"
#include "nexus-client.h"
#include "nexus-cpu-graph.h"
#include "nexus-gpu-page.h"
#include "nexus-vm-row.h"
#include "nexus-window.h"

#define DEADLINE_S 30

static GSubprocess *xvfb;
static GSubprocess *bus_daemon;
static char *bus_address;
static char *work_dir;

/* --- waiting ----------------------------------------------------------------------------- */

typedef gboolean (*Condition) (gpointer data);

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Dispatches events until cond(data) holds; fails the test after DEADLINE_S seconds. */
static void
wait_until (Condition cond, gpointer data, const char *what)
{
  gboolean expired = FALSE;
  guint deadline = g_timeout_add_seconds (DEADLINE_S, on_deadline, &expired);

  while (!cond (data))
    {
      if (expired)
        g_error ("timed out after %d s waiting for %s", DEADLINE_S, what);
      g_main_context_iteration (NULL, TRUE);
    }
  if (!expired)
    g_source_remove (deadline);
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *)data;
}

/* --- the private display and bus --------------------------------------------------------- */

/* Children die with the test, also when it is killed on a timeout. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocessLauncher *
new_launcher (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return launcher;
}

typedef struct
{
  GString *text;
  gboolean done;
} PipeRead;

static gboolean
on_pipe_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  PipeRead *read_state = user_data;
  char buffer[256];
  gssize n = read (fd, buffer, sizeof buffer);

  if (n > 0)
    g_string_append_len (read_state->text, buffer, n);
  if (n <= 0 || strchr (read_state->text->str, '\n') != NULL)
    {
      read_state->done = TRUE;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* Spawns argv with the write end of a pipe as fd 3 and returns the first line the program writes
 * there: the display number (Xvfb -displayfd) or the bus address (dbus-daemon --print-address),
 * which both print once they accept connections. */
static GSubprocess *
spawn_and_read_line (const char *const *argv, char **line)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = NULL;
  PipeRead read_state = { g_string_new (NULL), FALSE };
  int fds[2];
  guint watch;

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_clear_object (&launcher); /* closes our copy of the write end: EOF if the child dies */

  watch = g_unix_fd_add (fds[0], G_IO_IN | G_IO_HUP | G_IO_ERR, on_pipe_readable, &read_state);
  wait_until (is_true, &read_state.done, argv[0]);
  if (!read_state.done)
    g_source_remove (watch);
  close (fds[0]);
  g_strchomp (read_state.text->str);
  if (read_state.text->len == 0)
    g_error ("%s exited without saying where it listens", argv[0]);
  *line = g_string_free (read_state.text, FALSE);
  return g_steal_pointer (&process);
}

static void
start_display_and_bus (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *display = NULL;
  g_autofree char *display_env = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  const char *xvfb_argv[] = { "Xvfb",         "-displayfd", "3",   "-screen",  "0",
                              "1280x1024x24", "-nolisten",  "tcp", "-noreset", NULL };

  work_dir = g_dir_make_tmp ("nexus-hud-test-XXXXXX", &error);
  g_assert_no_error (error);

  xvfb = spawn_and_read_line (xvfb_argv, &display);
  display_env = g_strconcat (":", display, NULL);
  g_setenv ("DISPLAY", display_env, TRUE);
  g_setenv ("GDK_BACKEND", "x11", TRUE);
  g_unsetenv ("WAYLAND_DISPLAY");

  /* A bus with no service files: nothing on it is activatable, so "not running" means it. */
  config = g_strdup_printf ("<busconfig><type>session</type>"
                            "<listen>unix:dir=%s</listen><auth>EXTERNAL</auth>"
                            "<policy context=\"default\"><allow send_destination=\"*\"/>"
                            "<allow receive_sender=\"*\"/><allow own=\"*\"/></policy></busconfig>",
                            work_dir);
  config_path = g_build_filename (work_dir, "bus.conf", NULL);
  g_assert_true (g_file_set_contents (config_path, config, -1, &error));
  {
    g_autofree char *config_arg = g_strconcat ("--config-file=", config_path, NULL);
    const char *bus_argv[]
      = { "dbus-daemon", config_arg, "--nofork", "--nopidfile", "--print-address=3", NULL };
    bus_daemon = spawn_and_read_line (bus_argv, &bus_address);
  }
  /* spiritd --session and the HUD (SPIRIT_BUS_ADDRESS, as spiritctl) both use this bus; GTK's
   * own session-bus users (portals, settings) find nothing there and fall back. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  g_setenv ("SPIRIT_BUS_ADDRESS", bus_address, TRUE);
}

static void
stop_display_and_bus (void)
{
  g_subprocess_send_signal (bus_daemon, SIGTERM);
  g_subprocess_wait (bus_daemon, NULL, NULL);
  g_subprocess_send_signal (xvfb, SIGTERM);
  g_subprocess_wait (xvfb, NULL, NULL);
  g_clear_object (&bus_daemon);
  g_clear_object (&xvfb);
  g_clear_pointer (&bus_address, g_free);
  /* the bus socket is removed by dbus-daemon; what is left is bus.conf */
  {
    g_autofree char *config_path = g_build_filename (work_dir, "bus.conf", NULL);
    g_unlink (config_path);
    g_rmdir (work_dir);
  }
  g_clear_pointer (&work_dir, g_free);
}

/* --- spiritd ----------------------------------------------------------------------------- */

typedef struct
{
  GSubprocess *spiritd;
  char *log_path;
  GDBusConnection *bus;        /* the test's own connection: the view from outside the HUD */
  GDBusObjectManager *objects; /* spiritd's objects as that connection sees them */
  NexusApplication *app;
  NexusWindow *window;
} Fixture;

static gboolean
service_owned (gpointer data)
{
  Fixture *f = data;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
    f->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
    g_variant_new ("(s)", NEXUS_BUS_NAME), G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
    NULL);
  gboolean owned = FALSE;

  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  if (!owned && g_subprocess_get_if_exited (f->spiritd))
    g_error ("spiritd exited early; its log is %s", f->log_path);
  return owned;
}

static void
on_name_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer data)
{
  *(gboolean *)data = TRUE;
}

static void
wait_for_name (Fixture *f, const char *name)
{
  gboolean appeared = FALSE;
  guint watch = g_bus_watch_name_on_connection (f->bus, name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                on_name_appeared, NULL, &appeared, NULL);

  wait_until (is_true, &appeared, name);
  g_bus_unwatch_name (watch);
}

static gboolean
manager_connected (gpointer manager)
{
  return spirit_dbus_manager_get_connected (manager);
}

/* spiritd with "--uri test://xml", or with "--config PATH" when xml ends in .conf */
static void
start_spiritd (Fixture *f, const char *xml)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GError) error = NULL;
  gboolean config = g_str_has_suffix (xml, ".conf");
  g_autofree char *uri = config ? g_strdup (xml) : g_strconcat ("test://", xml, NULL);
  const char *spiritd = g_getenv ("SPIRITD");
  g_autoptr (SpiritDBusManager) manager = NULL;

  g_assert_nonnull (spiritd);
  g_clear_object (&f->spiritd);
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_set_stdout_file_path (launcher, f->log_path);
  f->spiritd = g_subprocess_launcher_spawn (launcher, &error, spiritd, "--session", "--no-polkit",
                                            config ? "--config" : "--uri", uri, "-v", NULL);
  g_assert_no_error (error);

  wait_for_name (f, NEXUS_BUS_NAME);
  g_assert_true (service_owned (f));

  /* spiritd owns its name before its libvirt connection is open: wait for Connected, as
   * tests/integration/spirittest.py does */
  manager = spirit_dbus_manager_proxy_new_sync (f->bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                NEXUS_BUS_NAME, NEXUS_OBJECT_ROOT, NULL, &error);
  g_assert_no_error (error);
  wait_until (manager_connected, manager, "spiritd's Manager.Connected");

  g_clear_object (&f->objects);
  f->objects = spirit_object_manager_client_new_sync (
    f->bus, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START, NEXUS_BUS_NAME, NEXUS_OBJECT_ROOT,
    NULL, &error);
  g_assert_no_error (error);
}

static void
on_spiritd_exited (GObject *source, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *)data = TRUE;
}

/* SIGTERM, and spiritd must exit cleanly (0), also under ASan. */
static void
stop_spiritd (Fixture *f)
{
  gboolean exited = FALSE;

  if (f->spiritd == NULL)
    return;
  g_subprocess_send_signal (f->spiritd, SIGTERM);
  g_subprocess_wait_async (f->spiritd, NULL, on_spiritd_exited, &exited);
  wait_until (is_true, &exited, "spiritd to exit after SIGTERM");
  if (!g_subprocess_get_if_exited (f->spiritd) || g_subprocess_get_exit_status (f->spiritd) != 0)
    g_error ("spiritd did not exit cleanly; its log is %s", f->log_path);
  g_clear_object (&f->spiritd);
  g_clear_object (&f->objects);
}

/* The VM's State as spiritd publishes it, through the test's own connection. */
static SpiritDBusVm *
service_vm (Fixture *f, const char *name)
{
  GList *objects = g_dbus_object_manager_get_objects (f->objects);
  SpiritDBusVm *found = NULL;

  for (GList *l = objects; l != NULL && found == NULL; l = l->next)
    {
      g_autoptr (SpiritDBusVm) vm = spirit_object_get_dbus_vm (SPIRIT_OBJECT (l->data));
      if (vm != NULL && g_strcmp0 (spirit_dbus_vm_get_name (vm), name) == 0)
        found = g_steal_pointer (&vm);
    }
  g_list_free_full (objects, g_object_unref);
  g_assert_nonnull (found);
  return found;
}

typedef struct
{
  SpiritDBusVm *vm;
  const char *state;
} ServiceState;

static gboolean
service_state_is (gpointer data)
{
  ServiceState *s = data;
  return g_strcmp0 (spirit_dbus_vm_get_state (s->vm), s->state) == 0;
}

static void
wait_service_state (Fixture *f, const char *name, const char *state)
{
  g_autoptr (SpiritDBusVm) vm = service_vm (f, name);
  ServiceState s = { vm, state };
  g_autofree char *what = g_strdup_printf ("spiritd to report %s %s", name, state);

  wait_until (service_state_is, &s, what);
}

static void
spiritctl (const char *command, const char *vm)
{
  g_autoptr (GSubprocessLauncher) launcher = new_launcher (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) process = NULL;
  const char *path = g_getenv ("SPIRITCTL");
  gboolean exited = FALSE;

  g_assert_nonnull (path);
  process = g_subprocess_launcher_spawn (launcher, &error, path, "vm", command, vm, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (process, NULL, on_spiritd_exited, &exited);
  wait_until (is_true, &exited, "spiritctl to exit");
  g_assert_true (g_subprocess_get_successful (process));
}

/* --- the HUD's widgets ------------------------------------------------------------------- */

typedef gboolean (*WidgetMatch) (GtkWidget *widget, gconstpointer data);

static void
collect_widgets (GtkWidget *widget, WidgetMatch match, gconstpointer data, GPtrArray *found)
{
  if (match (widget, data))
    g_ptr_array_add (found, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_widgets (child, match, data, found);
}

static GPtrArray *
find_widgets (gpointer root, WidgetMatch match, gconstpointer data)
{
  GPtrArray *found = g_ptr_array_new ();

  collect_widgets (GTK_WIDGET (root), match, data, found);
  return found;
}

static gboolean
is_row_of (GtkWidget *widget, gconstpointer name)
{
  NexusVm *vm;

  if (!NEXUS_IS_VM_ROW (widget))
    return FALSE;
  vm = nexus_vm_row_get_vm (NEXUS_VM_ROW (widget));
  return vm != NULL && g_str_equal (nexus_vm_get_name (vm), name) && gtk_widget_get_mapped (widget);
}

/* The mapped row showing the VM called name, or NULL. */
static NexusVmRow *
find_row (Fixture *f, const char *name)
{
  g_autoptr (GPtrArray) rows = find_widgets (f->window, is_row_of, name);

  g_assert_cmpuint (rows->len, <=, 1);
  return rows->len == 1 ? NEXUS_VM_ROW (rows->pdata[0]) : NULL;
}

static gboolean
has_css_class (GtkWidget *widget, gconstpointer css_class)
{
  return gtk_widget_has_css_class (widget, css_class);
}

/* What the row's state label says. */
static const char *
row_state_text (NexusVmRow *row)
{
  g_autoptr (GPtrArray) labels = find_widgets (row, has_css_class, "nexus-state");

  g_assert_cmpuint (labels->len, ==, 1);
  return gtk_label_get_text (GTK_LABEL (labels->pdata[0]));
}

typedef gboolean (*RowCheck) (NexusVmRow *row, const char *text);

typedef struct
{
  Fixture *f;
  const char *name;
  RowCheck check;
  const char *text;
} RowWait;

static gboolean
row_passes (gpointer data)
{
  RowWait *w = data;
  NexusVmRow *row = find_row (w->f, w->name);

  return row != NULL && w->check (row, w->text);
}

/* Waits until the row of NAME exists and CHECK (row, TEXT) holds. */
static void
wait_row (Fixture *f, const char *name, RowCheck check, const char *text, const char *what)
{
  RowWait w = { f, name, check, text };
  g_autofree char *description = g_strdup_printf ("the row of %s to %s \"%s\"", name, what, text);

  wait_until (row_passes, &w, description);
}

static gboolean
row_state_is (NexusVmRow *row, const char *state_text)
{
  return g_strcmp0 (row_state_text (row), state_text) == 0;
}

static void
wait_row_shows (Fixture *f, const char *name, const char *state_text)
{
  wait_row (f, name, row_state_is, state_text, "show");
}

static gboolean
is_button_for (GtkWidget *widget, gconstpointer action)
{
  return GTK_IS_BUTTON (widget)
         && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0;
}

/* Every button of the row bound to action (its wide and narrow forms) has this sensitivity. */
static void
assert_action_sensitive (NexusVmRow *row, const char *action, gboolean sensitive)
{
  g_autoptr (GPtrArray) buttons = find_widgets (row, is_button_for, action);

  g_assert_cmpuint (buttons->len, >=, 1);
  for (guint i = 0; i < buttons->len; i++)
    if (gtk_widget_get_sensitive (buttons->pdata[i]) != sensitive)
      g_error ("%s of %s is %s", action, nexus_vm_get_name (nexus_vm_row_get_vm (row)),
               sensitive ? "insensitive" : "sensitive");
}

/* Clicks the row's button for action, as a user would: the one that is on screen. */
static void
click (NexusVmRow *row, const char *action)
{
  g_autoptr (GPtrArray) buttons = find_widgets (row, is_button_for, action);

  for (guint i = 0; i < buttons->len; i++)
    if (gtk_widget_get_mapped (buttons->pdata[i]))
      {
        g_assert_true (gtk_widget_is_sensitive (buttons->pdata[i]));
        gtk_widget_activate (buttons->pdata[i]);
        return;
      }
  g_error ("no button for %s on screen", action);
}

static gboolean
is_status_page_titled (GtkWidget *widget, gconstpointer title)
{
  return ADW_IS_STATUS_PAGE (widget)
         && g_strcmp0 (adw_status_page_get_title (ADW_STATUS_PAGE (widget)), title) == 0;
}

/* Whether the status page with this title is what the user sees. */
static gboolean
status_page_mapped (Fixture *f, const char *title)
{
  g_autoptr (GPtrArray) pages = find_widgets (f->window, is_status_page_titled, title);

  g_assert_cmpuint (pages->len, ==, 1);
  return gtk_widget_get_mapped (pages->pdata[0]);
}

static gboolean
is_list_view (GtkWidget *widget, gconstpointer data)
{
  return GTK_IS_LIST_VIEW (widget);
}

static GtkListView *
vm_list (Fixture *f)
{
  g_autoptr (GPtrArray) views = find_widgets (f->window, is_list_view, NULL);

  g_assert_cmpuint (views->len, ==, 1);
  return views->pdata[0];
}

static gboolean
is_label_containing (GtkWidget *widget, gconstpointer text)
{
  return GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget)
         && strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL;
}

typedef struct
{
  Fixture *f;
  const char *text;
} ToastWait;

static gboolean
toast_shown (gpointer data)
{
  ToastWait *w = data;
  g_autoptr (GPtrArray) labels = find_widgets (w->f->window, is_label_containing, w->text);

  return labels->len > 0;
}

/* Waits for a toast saying text, and returns the whole of what it says. */
static char *
wait_toast (Fixture *f, const char *text)
{
  ToastWait w = { f, text };
  g_autoptr (GPtrArray) labels = NULL;
  g_autofree char *what = g_strdup_printf ("a toast saying “%s”", text);

  wait_until (toast_shown, &w, what);
  labels = find_widgets (f->window, is_label_containing, text);
  return g_strdup (gtk_label_get_text (GTK_LABEL (labels->pdata[0])));
}

typedef struct
{
  GType type;
  GtkWindow *found;
} ToplevelWait;

/* Whether a window of the given type is on screen (a dialog, the shortcuts window). */
static gboolean
toplevel_shown (gpointer data)
{
  ToplevelWait *w = data;
  GListModel *toplevels = gtk_window_get_toplevels ();
  guint n = g_list_model_get_n_items (toplevels);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GtkWidget) window = g_list_model_get_item (toplevels, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (window, w->type) && gtk_widget_get_mapped (window))
        {
          w->found = GTK_WINDOW (window);
          return TRUE;
        }
    }
  return FALSE;
}

/* --- screenshots ------------------------------------------------------------------------- */

static void
on_invalidated (GdkPaintable *paintable, gpointer data)
{
  *(gboolean *)data = TRUE;
}

/* Renders the window, as it paints itself next, into $NEXUS_HUD_ARTIFACTS/name (the way GTK's
 * own reftests take their snapshots). */
static char *
save_window_screenshot (GtkWidget *window, const char *name)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (window);
  g_autoptr (GdkPaintable) image = NULL;
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  const char *dir = g_getenv ("NEXUS_HUD_ARTIFACTS");
  gboolean drawn = FALSE;
  int width, height;
  char *path;

  g_signal_connect (paintable, "invalidate-contents", G_CALLBACK (on_invalidated), &drawn);
  gtk_widget_queue_draw (window);
  wait_until (is_true, &drawn, "the window to paint");
  image = gdk_paintable_get_current_image (paintable);
  width = gdk_paintable_get_intrinsic_width (image);
  height = gdk_paintable_get_intrinsic_height (image);
  gdk_paintable_snapshot (image, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  path = g_build_filename (dir ? dir : ".", name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
  return path;
}

static char *
save_screenshot (Fixture *f, const char *name)
{
  return save_window_screenshot (GTK_WIDGET (f->window), name);
}

/* --- fixture ----------------------------------------------------------------------------- */

static gboolean
widget_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (GTK_WIDGET (widget));
}

static void
start_hud (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  f->app = nexus_application_new ();
  /* in-process and alone: no name on the session bus */
  g_application_set_flags (G_APPLICATION (f->app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (f->app), NULL, &error));
  g_assert_no_error (error);
  /* transitions and toasts appear at once, so screenshots show the end state */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  g_application_activate (G_APPLICATION (f->app));
  f->window = NEXUS_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (f->app)));
  g_assert_nonnull (f->window);
  wait_until (widget_mapped, f->window, "the window to be mapped");
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *dir = g_getenv ("NEXUS_HUD_ARTIFACTS");
  g_autofree char *base = g_path_get_basename (g_test_get_path ());

  f->log_path = g_strdup_printf ("%s/spiritd-%s.log", dir ? dir : ".", base);
  f->bus = g_dbus_connection_new_for_address_sync (
    bus_address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->window != NULL)
    gtk_window_destroy (GTK_WINDOW (f->window));
  f->window = NULL;
  g_clear_object (&f->app);
  stop_spiritd (f);
  g_dbus_connection_close_sync (f->bus, NULL, NULL);
  g_clear_object (&f->bus);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_free (f->log_path);
}

static const char *
test_driver_xml (void)
{
  const char *xml = g_getenv ("NEXUS_TEST_DRIVER_XML");

  g_assert_nonnull (xml);
  return xml;
}

static gboolean
is_mapped_row (GtkWidget *widget, gconstpointer data)
{
  return NEXUS_IS_VM_ROW (widget) && gtk_widget_get_mapped (widget)
         && nexus_vm_row_get_vm (NEXUS_VM_ROW (widget)) != NULL;
}

static int
compare_row_y (gconstpointer a, gconstpointer b)
{
  GtkWidget *ra = *(GtkWidget **)a, *rb = *(GtkWidget **)b;
  graphene_point_t pa, pb;

  g_assert_true (gtk_widget_compute_point (ra, gtk_widget_get_parent (gtk_widget_get_parent (ra)),
                                           &GRAPHENE_POINT_INIT (0, 0), &pa));
  g_assert_true (gtk_widget_compute_point (rb, gtk_widget_get_parent (gtk_widget_get_parent (rb)),
                                           &GRAPHENE_POINT_INIT (0, 0), &pb));
  return pa.y < pb.y ? -1 : pa.y > pb.y;
}

/* "host/name" of every row from top to bottom, the host only where the row shows it. */
static char *
rows_from_top (Fixture *f)
{
  g_autoptr (GPtrArray) rows = find_widgets (f->window, is_mapped_row, NULL);
  g_autoptr (GString) out = g_string_new (NULL);

  g_ptr_array_sort (rows, compare_row_y);
  for (guint i = 0; i < rows->len; i++)
    {
      NexusVm *vm = nexus_vm_row_get_vm (rows->pdata[i]);
      g_autoptr (GPtrArray) hosts = find_widgets (rows->pdata[i], has_css_class, "nexus-host");

      g_assert_cmpuint (hosts->len, ==, 1);
      if (i > 0)
        g_string_append_c (out, ' ');
      if (gtk_widget_get_visible (hosts->pdata[0]))
        g_string_append_printf (out, "%s/", gtk_label_get_text (GTK_LABEL (hosts->pdata[0])));
      g_string_append (out, nexus_vm_get_name (vm));
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
rows_are (gpointer data)
{
  gpointer *args = data;
  g_autofree char *rows = rows_from_top (args[0]);

  return g_str_equal (rows, args[1]);
}

static GtkWidget *
find_label_containing (gpointer root, const char *text)
{
  g_autoptr (GPtrArray) labels = find_widgets (root, is_label_containing, text);

  return labels->len > 0 ? labels->pdata[0] : NULL;
}

static gboolean
widget_sensitive (gpointer widget)
{
  return gtk_widget_is_sensitive (GTK_WIDGET (widget));
}

/* --- the cases --------------------------------------------------------------------------- */

static gboolean
row_has_label (NexusVmRow *row, const char *text)
{
  return find_label_containing (row, text) != NULL;
}

static void
wait_row_label (Fixture *f, const char *name, const char *text)
{
  wait_row (f, name, row_has_label, text, "say");
}

static gboolean
is_cpu_graph (GtkWidget *widget, gconstpointer unused)
{
  return NEXUS_IS_CPU_GRAPH (widget);
}

/* The row's CPU graph, shown or not. */
static NexusCpuGraph *
row_cpu_graph (NexusVmRow *row)
{
  g_autoptr (GPtrArray) graphs = find_widgets (row, is_cpu_graph, NULL);

  g_assert_cmpuint (graphs->len, ==, 1);
  return NEXUS_CPU_GRAPH (graphs->pdata[0]);
}

/* The graph is shown and holds at least N samples (text). */
static gboolean
row_graph_has_samples (NexusVmRow *row, const char *text)
{
  NexusCpuGraph *graph = row_cpu_graph (row);

  return gtk_widget_get_visible (GTK_WIDGET (graph))
         && nexus_cpu_history_get_length (nexus_cpu_graph_get_history (graph))
              >= (guint)atoi (text);
}

/* ... and the last two samples are 50 %. */
static gboolean
row_graph_has_samples_at_50 (NexusVmRow *row, const char *text)
{
  const NexusCpuHistory *history = nexus_cpu_graph_get_history (row_cpu_graph (row));
  guint n = nexus_cpu_history_get_length (history);

  return row_graph_has_samples (row, text) && n >= 2 && nexus_cpu_history_get (history, n - 1) == 50
         && nexus_cpu_history_get (history, n - 2) == 50;
}

/* A running VM's row says what its agent reported once spiritd reaches the agent (a fake one on
 * the socket spiritd --session reads, tests/integration/fakeagent.py), and "no agent" when it
 * goes away, without a HUD restart. */
static void
test_agent (Fixture *f, gconstpointer data)
{
  g_autofree char *sockets = g_build_filename (work_dir, "agents", NULL);
  g_autofree char *path = g_build_filename (sockets, "alpha.sock", NULL);
  g_autofree char *ready = NULL;
  const char *argv[] = { "/usr/bin/python3",
                         g_getenv ("FAKE_AGENT"),
                         path,
                         "--kernel",
                         "6.6.6-hud",
                         "--ready-fd",
                         "3",
                         NULL };
  g_autoptr (GSubprocess) agent = NULL;
  g_autoptr (GError) error = NULL;
  NexusVmRow *alpha;

  g_assert_nonnull (argv[1]);
  g_assert_cmpint (g_mkdir_with_parents (sockets, 0700), ==, 0);
  agent = spawn_and_read_line (argv, &ready);
  g_assert_cmpstr (ready, ==, "listening");

  g_setenv ("SPIRIT_TEST_AGENT_SOCKET_DIR", sockets, TRUE);
  start_spiritd (f, test_driver_xml ());
  g_unsetenv ("SPIRIT_TEST_AGENT_SOCKET_DIR");
  start_hud (f);

  wait_row_shows (f, "alpha", "Running");
  wait_row_label (f, "alpha", "agent: linux 6.6.6-hud");
  alpha = find_row (f, "alpha");
  g_assert_null (find_label_containing (alpha, "no agent"));
  /* gamma is paused and has no socket: it says so, and nothing else changed */
  wait_row_label (f, "gamma", "no agent");

  /* the agent goes away: the row follows */
  g_subprocess_send_signal (agent, SIGTERM);
  g_subprocess_wait (agent, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (agent));
  g_assert_cmpint (g_subprocess_get_exit_status (agent), ==, 0);
  wait_row_label (f, "alpha", "no agent");
  g_assert_null (find_label_containing (find_row (f, "alpha"), "6.6.6-hud"));
}

/* The HUD lists the VMs with their states and offers exactly the operations each state allows;
 * a VM paused from outside (spiritctl) shows paused without any user action. */
static void
test_listing (Fixture *f, gconstpointer data)
{
  NexusVmRow *alpha, *beta, *gamma;
  g_autofree char *shot = NULL;

  start_spiritd (f, test_driver_xml ());
  start_hud (f);

  wait_row_shows (f, "alpha", "Running");
  wait_row_shows (f, "beta", "Shut Off");
  wait_row_shows (f, "gamma", "Paused");
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (vm_list (f))));
  g_assert_cmpuint (
    g_list_model_get_n_items (nexus_client_get_vms (nexus_window_get_client (f->window))), ==, 3);

  /* a running VM shows how busy its vCPUs are: the test driver's CPU time is its wall clock,
   * so alpha's 2 vCPUs are at 50 % once spiritd has read it twice (every 2 s) */
  wait_row_label (f, "alpha", "CPU 50%");
  g_assert_null (find_label_containing (find_row (f, "gamma"), "· CPU "));
  /* and the last minute of it, which the HUD samples every 2 s while a VM runs: a graph on
   * alpha's card only */
  wait_row (f, "alpha", row_graph_has_samples_at_50, "3", "graph at least this many samples");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (row_cpu_graph (find_row (f, "beta")))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (row_cpu_graph (find_row (f, "gamma")))));
  g_assert_cmpuint (nexus_cpu_history_get_length (
                      nexus_vm_get_cpu_history (nexus_vm_row_get_vm (find_row (f, "gamma")))),
                    ==, 0);
  {
    const char *tooltip
      = gtk_widget_get_tooltip_text (GTK_WIDGET (row_cpu_graph (find_row (f, "alpha"))));
    g_assert_nonnull (strstr (tooltip, "50% now"));
  }
  alpha = find_row (f, "alpha");
  /* a running VM tells whether its agent answers (the test driver's have none) */
  g_assert_nonnull (find_label_containing (alpha, "no agent"));
  g_assert_null (find_label_containing (find_row (f, "beta"), "no agent"));
  assert_action_sensitive (alpha, "vm.start", FALSE);
  assert_action_sensitive (alpha, "vm.pause", TRUE);
  assert_action_sensitive (alpha, "vm.resume", FALSE);
  assert_action_sensitive (alpha, "vm.shutdown", TRUE);
  beta = find_row (f, "beta");
  assert_action_sensitive (beta, "vm.start", TRUE);
  assert_action_sensitive (beta, "vm.pause", FALSE);
  assert_action_sensitive (beta, "vm.resume", FALSE);
  assert_action_sensitive (beta, "vm.shutdown", FALSE);
  gamma = find_row (f, "gamma");
  assert_action_sensitive (gamma, "vm.start", FALSE);
  assert_action_sensitive (gamma, "vm.pause", FALSE);
  assert_action_sensitive (gamma, "vm.resume", TRUE);
  assert_action_sensitive (gamma, "vm.shutdown", FALSE);

  /* from outside: spiritd announces it, the row follows with nobody touching the HUD */
  spiritctl ("pause", "alpha");
  wait_service_state (f, "alpha", "paused");
  wait_row_shows (f, "alpha", "Paused");
  alpha = find_row (f, "alpha");
  assert_action_sensitive (alpha, "vm.pause", FALSE);
  assert_action_sensitive (alpha, "vm.resume", TRUE);
  /* a paused VM's graph goes, and its samples with it */
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (row_cpu_graph (alpha))));
  g_assert_cmpuint (
    nexus_cpu_history_get_length (nexus_vm_get_cpu_history (nexus_vm_row_get_vm (alpha))), ==, 0);

  {
    gpointer args[2] = { f, "alpha beta gamma" }; /* one host: sorted by name, no host named */
    wait_until (rows_are, args, args[1]);
  }
  shot = save_screenshot (f, "hud-listing.png");
  g_assert_true (g_file_test (shot, G_FILE_TEST_IS_REGULAR));
}

static guint
n_snapshots (Fixture *f, const char *name)
{
  g_autoptr (SpiritDBusVm) vm = service_vm (f, name);
  const char *const *snapshots = spirit_dbus_vm_get_snapshots (vm);

  return snapshots ? g_strv_length ((char **)snapshots) : 0;
}

/* Buttons, menu actions and shortcuts change the VM in libvirt; errors come back as toasts with
 * spiritd's message. */
static void
test_actions (Fixture *f, gconstpointer data)
{
  ToplevelWait dialog = { ADW_TYPE_MESSAGE_DIALOG, NULL };
  g_autofree char *snapshot_toast = NULL;
  g_autofree char *error_toast = NULL;

  start_spiritd (f, test_driver_xml ());
  start_hud (f);
  wait_row_shows (f, "beta", "Shut Off");

  /* a click on a row's button */
  click (find_row (f, "beta"), "vm.start");
  wait_service_state (f, "beta", "running");
  wait_row_shows (f, "beta", "Running");

  click (find_row (f, "alpha"), "vm.pause");
  wait_service_state (f, "alpha", "paused");
  wait_row_shows (f, "alpha", "Paused");

  /* the keyboard path: the shortcut's action on the selected machine */
  g_assert_nonnull (find_row (f, "gamma"));
  gtk_selection_model_select_item (gtk_list_view_get_model (vm_list (f)), 2, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.resume", NULL));
  wait_service_state (f, "gamma", "running");
  wait_row_shows (f, "gamma", "Running");

  /* the row's menu: a snapshot, named by spiritd, announced in a toast */
  g_assert_cmpuint (n_snapshots (f, "alpha"), ==, 0);
  g_assert_true (
    gtk_widget_activate_action (GTK_WIDGET (find_row (f, "alpha")), "vm.snapshot", NULL));
  snapshot_toast = wait_toast (f, "Took snapshot");
  g_assert_cmpuint (n_snapshots (f, "alpha"), ==, 1);
  g_assert_nonnull (strstr (snapshot_toast, "of alpha"));

  /* Force Off asks first */
  g_assert_true (
    gtk_widget_activate_action (GTK_WIDGET (find_row (f, "beta")), "vm.force-stop", NULL));
  wait_until (toplevel_shown, &dialog, "the Force Off confirmation");
  g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog.found)), ==,
                   "cancel");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog.found), "force-off");
  wait_service_state (f, "beta", "shutoff");
  wait_row_shows (f, "beta", "Shut Off");

  /* a state that changed under the user: spiritd refuses and its message is the toast */
  nexus_window_run_vm_op (f->window, nexus_vm_row_get_vm (find_row (f, "beta")),
                          NEXUS_VM_OP_RESUME);
  error_toast = wait_toast (f, "Cannot resume");
  g_assert_cmpstr (error_toast, ==, "Cannot resume 'beta': it is shutoff (it must be paused)");

  g_free (save_screenshot (f, "hud-actions.png"));
}

static gboolean
hud_shows_no_service (gpointer data)
{
  Fixture *f = data;
  return status_page_mapped (f, "Spirit Is Not Running")
         && !gtk_widget_get_mapped (GTK_WIDGET (vm_list (f)))
         && g_list_model_get_n_items (nexus_client_get_vms (nexus_window_get_client (f->window)))
              == 0;
}

/* No service at start, then the service, then a restart: the HUD follows without a restart. */
static void
test_restart (Fixture *f, gconstpointer data)
{
  g_autofree char *toast = NULL;

  start_hud (f);
  wait_until (hud_shows_no_service, f, "the HUD to say the service is not running");
  g_free (save_screenshot (f, "hud-no-service.png"));

  /* nothing on this bus can start spiritd: the button says why, with the bus's own message */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.start-service", NULL));
  toast = wait_toast (f, "Could not start the Spirit service");
  g_assert_nonnull (strstr (toast, NEXUS_BUS_NAME));

  start_spiritd (f, test_driver_xml ());
  wait_row_shows (f, "alpha", "Running");
  wait_row_shows (f, "beta", "Shut Off");
  wait_row_shows (f, "gamma", "Paused");

  stop_spiritd (f);
  wait_until (hud_shows_no_service, f, "the HUD to notice spiritd stopped");

  start_spiritd (f, test_driver_xml ());
  wait_row_shows (f, "alpha", "Running");
  wait_row_shows (f, "beta", "Shut Off");
  wait_row_shows (f, "gamma", "Paused");
  g_assert_false (status_page_mapped (f, "Spirit Is Not Running"));

  /* the new instance's objects are live too, not a stale copy */
  spiritctl ("start", "beta");
  wait_row_shows (f, "beta", "Running");
  g_free (save_screenshot (f, "hud-restarted.png"));
}

static gboolean
is_shortcut (GtkWidget *widget, gconstpointer data)
{
  return GTK_IS_SHORTCUTS_SHORTCUT (widget);
}

/* Every operation has a shortcut, no two actions share one, and the shortcuts window lists them. */
static void
test_keyboard (Fixture *f, gconstpointer data)
{
  GtkApplication *app;
  ToplevelWait shortcuts = { GTK_TYPE_SHORTCUTS_WINDOW, NULL };
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const NexusAccel *accels;
  gsize n_accels;

  start_spiritd (f, test_driver_xml ());
  start_hud (f);
  wait_row_shows (f, "alpha", "Running");
  app = GTK_APPLICATION (f->app);

  /* the shortcuts window, opened as Ctrl+? opens it */
  {
    g_auto (GStrv) actions = gtk_application_get_actions_for_accel (app, "<Control>question");
    g_assert_cmpstr (actions[0], ==, "win.show-shortcuts");
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), actions[0], NULL));
  }
  wait_until (toplevel_shown, &shortcuts, "the shortcuts window to be shown");
  g_free (save_window_screenshot (GTK_WIDGET (shortcuts.found), "hud-shortcuts.png"));
  entries = find_widgets (shortcuts.found, is_shortcut, NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      g_autofree char *action = NULL;
      g_autofree char *keys = NULL;
      g_object_get (entries->pdata[i], "action-name", &action, "accelerator", &keys, NULL);
      /* every entry shows keys: its own, or those of its action in the application */
      if (keys == NULL || keys[0] == '\0')
        g_error ("the shortcuts window shows no keys for %s", action ? action : "an entry");
      if (action != NULL)
        g_hash_table_add (listed, g_steal_pointer (&action));
    }

  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    {
      g_autofree char *action = g_strconcat ("win.", nexus_vm_op_get_action_name (op), NULL);
      g_auto (GStrv) keys = gtk_application_get_accels_for_action (app, action);

      if (keys[0] == NULL)
        g_error ("%s has no keyboard shortcut", action);
      if (!g_hash_table_contains (listed, action))
        g_error ("%s is missing from the shortcuts window", action);
    }
  accels = nexus_application_get_accels (&n_accels);
  for (gsize i = 0; i < n_accels; i++)
    for (guint k = 0; accels[i].accels[k] != NULL; k++)
      {
        g_auto (GStrv) actions = gtk_application_get_actions_for_accel (app, accels[i].accels[k]);
        g_assert_cmpuint (g_strv_length (actions), ==, 1);
      }

  /* Tab, from the list, walks through the rows' buttons and their ⋮ menus (Up and Down move
   * between rows; Tab leaves the list after the last one) */
  {
    g_autoptr (GHashTable) reached = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr (GHashTable) menus = g_hash_table_new (NULL, NULL);

    gtk_widget_grab_focus (GTK_WIDGET (vm_list (f)));
    for (guint i = 0; i < 12; i++)
      {
        GtkWidget *focus;

        g_assert_true (gtk_widget_child_focus (GTK_WIDGET (f->window), GTK_DIR_TAB_FORWARD));
        focus = gtk_root_get_focus (GTK_ROOT (f->window));
        if (focus == NULL || gtk_widget_get_ancestor (focus, NEXUS_TYPE_VM_ROW) == NULL)
          continue;
        if (gtk_widget_get_ancestor (focus, GTK_TYPE_MENU_BUTTON) != NULL)
          g_hash_table_add (menus, gtk_widget_get_ancestor (focus, GTK_TYPE_MENU_BUTTON));
        else if (GTK_IS_ACTIONABLE (focus))
          g_hash_table_add (reached,
                            (gpointer)gtk_actionable_get_action_name (GTK_ACTIONABLE (focus)));
      }
    for (guint i = 0; i < 4; i++)
      {
        const char *action
          = (const char *[]){ "vm.start", "vm.pause", "vm.resume", "vm.shutdown" }[i];
        if (!g_hash_table_contains (reached, action))
          g_error ("Tab never reached a %s button", action);
      }
    g_assert_cmpuint (g_hash_table_size (menus), ==, 3); /* one per row */
  }

  /* a shortcut acts on the selected machine: select alpha, "press" Ctrl+P */
  gtk_selection_model_select_item (gtk_list_view_get_model (vm_list (f)), 0, TRUE);
  {
    g_auto (GStrv) actions = gtk_application_get_actions_for_accel (app, "<Control>p");
    g_assert_cmpstr (actions[0], ==, "win.pause");
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), actions[0], NULL));
  }
  wait_service_state (f, "alpha", "paused");
  wait_row_shows (f, "alpha", "Paused");
}

/* --- a scripted service ----------------------------------------------------------------- */

/* org.crom.Spirit served from the test itself with the generated skeletons, for what libvirt's
 * test driver cannot do from outside spiritd: a VM defined or undefined while the HUD watches,
 * and a lost libvirt connection. */
typedef struct
{
  GDBusObjectManagerServer *objects;
  SpiritDBusManager *manager;
  guint owner_id;
  gboolean owned;
} FakeService;

static void
on_fake_name_acquired (GDBusConnection *bus, const char *name, gpointer data)
{
  ((FakeService *)data)->owned = TRUE;
}

static SpiritDBusVm *
fake_add_vm (FakeService *fake, const char *uuid, const char *name, const char *state)
{
  g_autofree char *path = g_strdup_printf (NEXUS_OBJECT_ROOT "/vm/local/%s", uuid);
  g_autoptr (SpiritObjectSkeleton) object = spirit_object_skeleton_new (path);
  SpiritDBusVm *vm = spirit_dbus_vm_skeleton_new ();

  g_object_set (vm, "name", name, "uuid", uuid, "host", "local", "state", state, "vcpus", 2,
                "memory-ki-b", (guint64)1048576, "max-memory-ki-b", (guint64)1048576, "id",
                g_str_equal (state, "running") ? 1 : -1, NULL);
  spirit_object_skeleton_set_dbus_vm (object, vm);
  g_dbus_object_manager_server_export (fake->objects, G_DBUS_OBJECT_SKELETON (object));
  return vm;
}

static void
fake_start (Fixture *f, FakeService *fake)
{
  g_autoptr (GError) error = NULL;

  fake->manager = spirit_dbus_manager_skeleton_new ();
  g_object_set (fake->manager, "version", "0.0-test", "uri", "test:///fake", "connected", TRUE,
                NULL);
  g_assert_true (g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (fake->manager),
                                                   f->bus, NEXUS_OBJECT_ROOT, &error));
  g_assert_no_error (error);
  fake->objects = g_dbus_object_manager_server_new (NEXUS_OBJECT_ROOT);
  g_dbus_object_manager_server_set_connection (fake->objects, f->bus);
  fake->owner_id = g_bus_own_name_on_connection (
    f->bus, NEXUS_BUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE, on_fake_name_acquired, NULL, fake, NULL);
}

static void
fake_stop (FakeService *fake)
{
  g_bus_unown_name (fake->owner_id);
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (fake->manager));
  g_clear_object (&fake->manager);
  g_clear_object (&fake->objects);
}

static gboolean
row_gone (gpointer data)
{
  RowWait *w = data;
  return find_row (w->f, w->name) == NULL;
}

static gboolean
is_revealer_with_warning (GtkWidget *widget, gconstpointer data)
{
  return GTK_IS_REVEALER (widget) && gtk_revealer_get_child_revealed (GTK_REVEALER (widget))
         && gtk_revealer_get_child (GTK_REVEALER (widget)) != NULL
         && gtk_widget_has_css_class (gtk_revealer_get_child (GTK_REVEALER (widget)),
                                      "nexus-banner");
}

static gboolean
libvirt_banner_shown (gpointer data)
{
  g_autoptr (GPtrArray) banners
    = find_widgets (((Fixture *)data)->window, is_revealer_with_warning, NULL);
  return banners->len == 1;
}

/* VMs defined and undefined while the HUD runs, a state change, and libvirt going away, from a
 * scripted org.crom.Spirit: the list follows InterfacesAdded/Removed and PropertiesChanged. */
static void
test_objects (Fixture *f, gconstpointer data)
{
  FakeService fake = { 0 };
  g_autoptr (SpiritDBusVm) one = NULL;
  g_autoptr (SpiritDBusVm) two = NULL;
  RowWait gone = { f, "one", NULL, NULL };

  fake_start (f, &fake);
  wait_until (is_true, &fake.owned, "the scripted service to own its name");
  one = fake_add_vm (&fake, "11111111_0000_4000_8000_000000000001", "one", "running");
  start_hud (f);
  wait_row_shows (f, "one", "Running");

  /* defined while the HUD runs */
  two = fake_add_vm (&fake, "22222222_0000_4000_8000_000000000002", "two", "shutoff");
  wait_row_shows (f, "two", "Shut Off");
  assert_action_sensitive (find_row (f, "two"), "vm.start", TRUE);

  /* a state change the HUD did not cause */
  spirit_dbus_vm_set_state (two, "crashed");
  wait_row_shows (f, "two", "Crashed");
  assert_action_sensitive (find_row (f, "two"), "vm.start", TRUE);
  assert_action_sensitive (find_row (f, "two"), "vm.shutdown", FALSE);

  /* undefined while the HUD runs */
  g_assert_true (g_dbus_object_manager_server_unexport (
    fake.objects, NEXUS_OBJECT_ROOT "/vm/local/11111111_0000_4000_8000_000000000001"));
  wait_until (row_gone, &gone, "the row of one to go away");
  g_assert_nonnull (find_row (f, "two"));

  /* libvirt lost: VMs unavailable, every operation insensitive, a banner says why */
  spirit_dbus_vm_set_state (two, "unavailable");
  spirit_dbus_manager_set_connected (fake.manager, FALSE);
  wait_row_shows (f, "two", "Unavailable");
  wait_until (libvirt_banner_shown, f, "the libvirt banner");
  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    {
      g_autofree char *action = g_strconcat ("vm.", nexus_vm_op_get_action_name (op), NULL);
      g_autoptr (GPtrArray) buttons = find_widgets (find_row (f, "two"), is_button_for, action);
      for (guint i = 0; i < buttons->len; i++)
        g_assert_false (gtk_widget_get_sensitive (buttons->pdata[i]));
    }
  g_free (save_screenshot (f, "hud-libvirt-down.png"));

  fake_stop (&fake);
  wait_until (hud_shows_no_service, f, "the HUD to notice the service left");
}

/* The row's button for action that is on screen: with its label ("Start") when the window is
 * wide, an icon when it is narrower, none when it is narrow (the ⋮ menu has them all). */
static GtkButton *
shown_button (NexusVmRow *row, const char *action)
{
  g_autoptr (GPtrArray) buttons = find_widgets (row, is_button_for, action);

  for (guint i = 0; i < buttons->len; i++)
    if (gtk_widget_get_mapped (buttons->pdata[i]))
      return buttons->pdata[i];
  return NULL;
}

static gboolean
is_revealed_switcher_bar (GtkWidget *widget, gconstpointer data)
{
  return GTK_IS_REVEALER (widget)
         && ADW_IS_VIEW_SWITCHER_BAR (gtk_widget_get_ancestor (widget, ADW_TYPE_VIEW_SWITCHER_BAR))
         && gtk_revealer_get_child_revealed (GTK_REVEALER (widget));
}

static gboolean
narrow_layout (gpointer data)
{
  Fixture *f = data;
  NexusVmRow *row = find_row (f, "Windows-Spirit");
  g_autoptr (GPtrArray) bars = find_widgets (f->window, is_revealed_switcher_bar, NULL);

  return row != NULL && shown_button (row, "vm.pause") == NULL
         && gtk_widget_get_width (GTK_WIDGET (f->window)) <= 400 && bars->len == 1;
}

/* The screenshot in docs/: the spec's machines in the states a desktop sees. */
static void
test_demo (Fixture *f, gconstpointer data)
{
  const char *xml = g_getenv ("NEXUS_DEMO_XML");
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritDBusVm) farm = NULL;

  g_assert_nonnull (xml);
  start_spiritd (f, xml);
  spiritctl ("pause", "Linux-Spirit");
  spiritctl ("save", "Docker-Host");
  farm = service_vm (f, "Build-Farm");
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (GVariant) reply = g_dbus_proxy_call_sync (
        G_DBUS_PROXY (farm), "CreateSnapshot", g_variant_new ("(s)", i ? "nightly" : "clean"),
        G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      g_assert_no_error (error);
    }

  start_hud (f);
  wait_row_shows (f, "Windows-Spirit", "Running");
  wait_row_shows (f, "Linux-Spirit", "Paused");
  wait_row_shows (f, "Docker-Host", "Saved");
  wait_row_shows (f, "Build-Farm", "Running");
  wait_row_shows (f, "Retro-Games", "Shut Off");
  /* the test driver's CPU time is its wall clock: one vCPU's worth out of 8, and out of 6 */
  wait_row_label (f, "Windows-Spirit", "CPU 13%");
  wait_row_label (f, "Build-Farm", "CPU 17%");
  g_assert_cmpstr (gtk_button_get_label (shown_button (find_row (f, "Windows-Spirit"), "vm.pause")),
                   ==, "Pause");
  /* a few seconds of the CPU graphs (a sample every 2 s) for the picture */
  wait_row (f, "Build-Farm", row_graph_has_samples, "4", "graph at least this many samples");
  g_free (save_screenshot (f, "nexus-hud.png"));

  /* narrow (a tiled or phone-sized window): the ⋮ menu only, the page switcher at the bottom */
  gtk_window_set_default_size (GTK_WINDOW (f->window), 400, 640);
  wait_until (narrow_layout, f, "the narrow layout");
  g_free (save_screenshot (f, "nexus-hud-narrow.png"));
}

static gboolean
command_bar_idle (gpointer bar)
{
  return !nexus_command_bar_get_running (NEXUS_COMMAND_BAR (bar));
}

/* Runs a line in the bar and waits for its end; returns its output. */
static char *
run_in_bar (NexusCommandBar *bar, const char *line)
{
  g_assert_true (nexus_command_bar_run (bar, line));
  g_assert_true (nexus_command_bar_get_running (bar));
  wait_until (command_bar_idle, bar, line);
  return nexus_command_bar_get_output (bar);
}

/* The @ command bar: a line runs through the same runner as spiritctl; output streams into the
 * pane (stderr too), the exit status shows, a control changes the VM in libvirt, a syntax error
 * points at its column, Tab completes targets, Up recalls the last line. */
static void
test_command_bar (Fixture *f, gconstpointer data)
{
  NexusCommandBar *bar;
  GtkEntry *entry;
  g_autofree char *out = NULL;
  g_autofree char *err_out = NULL;

  start_spiritd (f, test_driver_xml ());
  start_hud (f);
  wait_row_shows (f, "alpha", "Running");
  bar = nexus_window_get_command_bar (f->window);
  entry = nexus_command_bar_get_entry (bar);

  out = run_in_bar (bar, "@spirit printf 'hello %s\\n' hud | @spirit tr a-z A-Z");
  g_assert_cmpstr (out, ==, "HELLO HUD\n");
  g_assert_cmpint (nexus_command_bar_get_status (bar), ==, 0);
  g_assert_nonnull (strstr (nexus_command_bar_get_status_text (bar), "exit status 0"));

  err_out = run_in_bar (bar, "@spirit sh -c 'echo to-err >&2; exit 3'");
  g_assert_cmpstr (err_out, ==, "to-err\n");
  g_assert_cmpint (nexus_command_bar_get_status (bar), ==, 3);
  g_assert_nonnull (strstr (nexus_command_bar_get_status_text (bar), "exit status 3"));

  /* typed and activated, like a user: a control pauses the VM in libvirt */
  gtk_editable_set_text (GTK_EDITABLE (entry), "@alpha --pause");
  g_signal_emit_by_name (entry, "activate");
  wait_until (command_bar_idle, bar, "the control");
  wait_service_state (f, "alpha", "paused");
  wait_row_shows (f, "alpha", "Paused");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "");

  /* Up recalls it */
  {
    GtkEventController *keys = NULL;
    g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (entry));
    gboolean handled = FALSE;

    for (guint i = 0; i < g_list_model_get_n_items (controllers) && keys == NULL; i++)
      {
        g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);
        if (GTK_IS_EVENT_CONTROLLER_KEY (c))
          keys = c;
      }
    g_assert_nonnull (keys);
    g_signal_emit_by_name (keys, "key-pressed", GDK_KEY_Up, 0, 0, &handled);
    g_assert_true (handled);
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "@alpha --pause");
  }

  /* a syntax error: not run, the message names the column, the cursor goes there */
  g_assert_false (nexus_command_bar_run (bar, "@alpha ls; rm x"));
  g_assert_nonnull (strstr (nexus_command_bar_get_status_text (bar), "column 10"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (entry), "error"));

  /* Tab completes a target from the VM list */
  gtk_editable_set_text (GTK_EDITABLE (entry), "@gam");
  gtk_editable_set_position (GTK_EDITABLE (entry), -1);
  g_assert_true (nexus_command_bar_complete (bar));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "@gamma ");

  /* for the docs: a guest-like line's output in the pane */
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
  g_free (run_in_bar (bar, "@spirit printf 'alpha  paused\\nbeta   shut off\\ngamma  paused\\n'"));
  g_free (save_screenshot (f, "hud-command-bar.png"));
}

/* Several hosts (a spirit.conf with two test-driver connections): the list is grouped by host,
 * sorted by host then name, and every row names its host; one host: no host shown. */
static void
test_hosts (Fixture *f, gconstpointer data)
{
  const char *xml = test_driver_xml ();
  g_autofree char *dir = g_path_get_dirname (xml);
  g_autofree char *lab = g_build_filename (dir, "test-driver-lab.xml", NULL);
  g_autofree char *conf = g_build_filename (work_dir, "hosts.conf", NULL);
  g_autofree char *text
    = g_strdup_printf ("[host local]\nuri=test://%s\n\n[host lab]\nuri=test://%s\n", xml, lab);
  gpointer args[2] = { f, NULL };
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (conf, text, -1, &error));
  start_spiritd (f, conf);
  start_hud (f);
  args[1] = "lab/alpha lab/delta local/alpha local/beta local/gamma";
  wait_until (rows_are, args, args[1]);
  g_free (save_screenshot (f, "hud-hosts.png"));
}

/* --- the GPU page -------------------------------------------------------------------------- */

typedef struct
{
  GSubprocess *kernel; /* fake-gpu-kernel: plays the kernel for spiritd's sysfs writes */
  GSubprocess *logind; /* python-dbusmock's logind, for the swap's inhibitor and seat check */
  char *root;
  char *state_dir;
} GpuWorld;

/* The fake kernel's sysfs, a logind on the test's bus (as the system bus), and the settings that
 * point spiritd at them; they hold until gpu_world_stop(). */
static void
gpu_world_start (Fixture *f, GpuWorld *w)
{
  g_autoptr (GSubprocessLauncher) launcher
    = new_launcher (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GSubprocessLauncher) mock_launcher = new_launcher (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  const char *kernel = g_getenv ("FAKE_GPU_KERNEL");

  g_assert_nonnull (kernel);
  w->kernel = g_subprocess_launcher_spawn (launcher, &error, kernel, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (w->kernel));
  w->root = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (w->root != NULL && w->root[0] == '/');
  w->state_dir = g_dir_make_tmp ("nexus-gpu-state-XXXXXX", &error);
  g_assert_no_error (error);

  g_subprocess_launcher_setenv (mock_launcher, "DBUS_SYSTEM_BUS_ADDRESS", bus_address, TRUE);
  w->logind = g_subprocess_launcher_spawn (mock_launcher, &error, "/usr/bin/python3", "-m",
                                           "dbusmock", "--system", "--template", "logind", NULL);
  g_assert_no_error (error);
  wait_for_name (f, "org.freedesktop.login1");

  /* spiritd reads these (with --session only) */
  g_setenv ("SPIRIT_SYSFS_ROOT", w->root, TRUE);
  g_setenv ("SPIRIT_STATE_DIR", w->state_dir, TRUE);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", bus_address, TRUE);
}

static void
gpu_world_stop (GpuWorld *w)
{
  g_autoptr (GError) error = NULL;

  g_unsetenv ("SPIRIT_SYSFS_ROOT");
  g_unsetenv ("SPIRIT_STATE_DIR");
  g_unsetenv ("DBUS_SYSTEM_BUS_ADDRESS");
  g_subprocess_send_signal (w->logind, SIGTERM);
  g_subprocess_wait (w->logind, NULL, NULL);
  g_output_stream_close (g_subprocess_get_stdin_pipe (w->kernel), NULL, NULL);
  g_subprocess_wait (w->kernel, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&w->logind);
  g_clear_object (&w->kernel);
  g_assert_true (g_spawn_sync (NULL, (char *[]){ "rm", "-rf", w->state_dir, NULL }, NULL,
                               G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, &error));
  g_free (w->state_dir);
  g_free (w->root);
}

typedef struct
{
  Fixture *f;
  const char *address;
  NexusGpuCard *card;
} CardWait;

static gboolean
card_shown (gpointer data)
{
  CardWait *c = data;

  c->card = nexus_gpu_page_find_card (nexus_window_get_gpu_page (c->f->window), c->address);
  return c->card != NULL && gtk_widget_get_mapped (GTK_WIDGET (c->card));
}

static const char *
card_state_text (NexusGpuCard *card)
{
  g_autoptr (GPtrArray) labels = find_widgets (card, has_css_class, "nexus-state");

  g_assert_cmpuint (labels->len, ==, 1);
  return gtk_label_get_text (GTK_LABEL (labels->pdata[0]));
}

static gboolean
card_says (gpointer data)
{
  gpointer *args = data;

  return g_str_equal (card_state_text (args[0]), args[1]);
}

static gboolean
is_button_labelled (GtkWidget *widget, gconstpointer label)
{
  return GTK_IS_BUTTON (widget)
         && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0;
}

static GtkWidget *
card_button (NexusGpuCard *card, const char *label)
{
  g_autoptr (GPtrArray) buttons = find_widgets (card, is_button_labelled, label);

  g_assert_cmpuint (buttons->len, ==, 1);
  return buttons->pdata[0];
}

static gboolean
is_of_type (GtkWidget *widget, gconstpointer type)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, GPOINTER_TO_SIZE (type));
}

static void
on_progress_text (GtkProgressBar *bar, GParamSpec *pspec, GPtrArray *seen)
{
  const char *text = gtk_progress_bar_get_text (bar);

  if (text != NULL)
    g_ptr_array_add (seen, g_strdup (text));
}

/* A GPU card per GPU of the service (here the fake kernel's: an NVIDIA GPU and its HDMI audio in
 * one IOMMU group, and an Intel iGPU): Give hands it to a shut-off VM with the progress bar
 * following the service's Progress signal, the card then names its VM; Reclaim brings it back. */
static void
test_gpu (Fixture *f, gconstpointer data)
{
  GpuWorld world = { 0 };
  CardWait wait = { f, "0000:01:00.0", NULL };
  g_autoptr (GPtrArray) bars = NULL;
  g_autoptr (GPtrArray) dropdowns = NULL;
  g_autoptr (GPtrArray) progress = g_ptr_array_new_with_free_func (g_free);
  GListModel *vms;
  gpointer says[2];
  guint beta = GTK_INVALID_LIST_POSITION;

  gpu_world_start (f, &world);
  start_spiritd (f, test_driver_xml ());
  start_hud (f);
  wait_row_shows (f, "beta", "Shut Off");
  adw_view_stack_set_visible_child_name (
    ADW_VIEW_STACK (gtk_widget_get_ancestor (GTK_WIDGET (nexus_window_get_gpu_page (f->window)),
                                             ADW_TYPE_VIEW_STACK)),
    "gpu");
  wait_until (card_shown, &wait, "the GPU's card");
  says[0] = wait.card;
  says[1] = "On the Host";
  wait_until (card_says, says, "the card to say the GPU is on the host");
  g_assert_true (gtk_widget_is_sensitive (card_button (wait.card, "_Give")));
  g_assert_false (gtk_widget_is_sensitive (card_button (wait.card, "_Reclaim")));

  /* choose beta (shut off) and give it the GPU */
  vms = nexus_client_get_vms (nexus_window_get_client (f->window));
  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr (NexusVm) vm = g_list_model_get_item (vms, i);
      if (g_str_equal (nexus_vm_get_name (vm), "beta"))
        beta = i;
    }
  dropdowns = find_widgets (wait.card, is_of_type, GSIZE_TO_POINTER (GTK_TYPE_DROP_DOWN));
  g_assert_cmpuint (dropdowns->len, ==, 1);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdowns->pdata[0]), beta);
  bars = find_widgets (wait.card, is_of_type, GSIZE_TO_POINTER (GTK_TYPE_PROGRESS_BAR));
  g_assert_cmpuint (bars->len, ==, 1);
  g_signal_connect (bars->pdata[0], "notify::text", G_CALLBACK (on_progress_text), progress);
  gtk_widget_activate (card_button (wait.card, "_Give"));

  says[1] = "In beta";
  wait_until (card_says, says, "the card to say the GPU is in beta");
  wait_service_state (f, "beta", "running");
  g_assert_cmpuint (progress->len, >=, 5);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (progress, 0), "Step 1 of "));
  /* the state changes before Passthrough's reply arrives: Reclaim waits for both */
  wait_until (widget_sensitive, card_button (wait.card, "_Reclaim"), "Reclaim to be offered");
  g_assert_false (gtk_widget_is_sensitive (card_button (wait.card, "_Give")));
  g_free (save_screenshot (f, "hud-gpu.png"));

  /* the VM must be off to reclaim without force: shut it down from outside, spiritd reclaims */
  spiritctl ("force-stop", "beta");
  says[1] = "On the Host";
  wait_until (card_says, says, "the GPU back on the host");
  g_assert_true (gtk_widget_is_sensitive (card_button (wait.card, "_Give")));

  gtk_window_destroy (GTK_WINDOW (f->window));
  f->window = NULL;
  stop_spiritd (f);
  gpu_world_stop (&world);
}

/* The overview in docs/: the spec's machines in different states, a GPU given to one of them,
 * and a command's output in the bar's pane, on both pages. */
static void
test_overview (Fixture *f, gconstpointer data)
{
  GpuWorld world = { 0 };
  CardWait wait = { f, "0000:01:00.0", NULL };
  gpointer says[2];
  NexusCommandBar *bar;
  g_autofree char *out = NULL;

  gpu_world_start (f, &world);
  start_spiritd (f, g_getenv ("NEXUS_DEMO_XML"));
  spiritctl ("pause", "Linux-Spirit");
  spiritctl ("save", "Docker-Host");
  start_hud (f);
  wait_row_shows (f, "Retro-Games", "Shut Off");
  wait_row_shows (f, "Linux-Spirit", "Paused");

  /* the GPU to Retro-Games, through the GPU card */
  adw_view_stack_set_visible_child_name (
    ADW_VIEW_STACK (gtk_widget_get_ancestor (GTK_WIDGET (nexus_window_get_gpu_page (f->window)),
                                             ADW_TYPE_VIEW_STACK)),
    "gpu");
  wait_until (card_shown, &wait, "the GPU's card");
  nexus_gpu_card_give (wait.card, "Retro-Games");
  says[0] = wait.card;
  says[1] = "In Retro-Games";
  wait_until (card_says, says, "the card to say the GPU is in Retro-Games");

  bar = nexus_window_get_command_bar (f->window);
  out = run_in_bar (bar,
                    "@spirit printf 'Retro-Games has the GPU: %s\\n' 0000:01:00.0 | @spirit cat");
  g_assert_cmpstr (out, ==, "Retro-Games has the GPU: 0000:01:00.0\n");
  g_free (save_screenshot (f, "nexus-hud-gpu.png"));

  adw_view_stack_set_visible_child_name (
    ADW_VIEW_STACK (gtk_widget_get_ancestor (GTK_WIDGET (nexus_window_get_gpu_page (f->window)),
                                             ADW_TYPE_VIEW_STACK)),
    "machines");
  wait_row_shows (f, "Retro-Games", "Running");
  /* the test driver's CPU time is its wall clock: 1 vCPU busy of 6, 1 of 1, once spiritd has
   * read it twice since the VM started */
  wait_row_label (f, "Build-Farm", "CPU 17%");
  wait_row_label (f, "Retro-Games", "CPU 100%");
  wait_row (f, "Retro-Games", row_graph_has_samples, "4", "graph at least this many samples");
  g_free (save_screenshot (f, "nexus-hud-overview.png"));

  gtk_window_destroy (GTK_WINDOW (f->window));
  f->window = NULL;
  stop_spiritd (f);
  gpu_world_stop (&world);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  start_display_and_bus ();

  g_test_add ("/hud/listing", Fixture, NULL, fixture_setup, test_listing, fixture_teardown);
  g_test_add ("/hud/agent", Fixture, NULL, fixture_setup, test_agent, fixture_teardown);
  g_test_add ("/hud/actions", Fixture, NULL, fixture_setup, test_actions, fixture_teardown);
  g_test_add ("/hud/command-bar", Fixture, NULL, fixture_setup, test_command_bar, fixture_teardown);
  g_test_add ("/hud/hosts", Fixture, NULL, fixture_setup, test_hosts, fixture_teardown);
  g_test_add ("/hud/gpu", Fixture, NULL, fixture_setup, test_gpu, fixture_teardown);
  g_test_add ("/hud/overview", Fixture, NULL, fixture_setup, test_overview, fixture_teardown);
  g_test_add ("/hud/restart", Fixture, NULL, fixture_setup, test_restart, fixture_teardown);
  g_test_add ("/hud/keyboard", Fixture, NULL, fixture_setup, test_keyboard, fixture_teardown);
  g_test_add ("/hud/demo", Fixture, NULL, fixture_setup, test_demo, fixture_teardown);
  g_test_add ("/hud/objects", Fixture, NULL, fixture_setup, test_objects, fixture_teardown);
  status = g_test_run ();

  stop_display_and_bus ();
  return status;
}
