/* nexus-window.c: the HUD's main window.
 *
 * Shows what the NexusClient knows: a status page while there is no bus or no service, the list
 * of VMs otherwise. "win.<op>" actions run an operation on the selected VM (they carry the
 * keyboard shortcuts, see nexus-application.c); rows run theirs through nexus_window_run_vm_op(),
 * so both paths share the confirmation of Force Off and the toasts for results and errors.
 */
#define G_LOG_DOMAIN "nexus-window"

#include "nexus-window.h"
#include "nexus-command-bar.h"
#include "nexus-gpu-page.h"
#include "nexus-vm-row.h"

#include <glib/gi18n.h>

struct _NexusWindow
{
  AdwApplicationWindow parent_instance;

  NexusClient *client;
  GtkSingleSelection *selection;
  GSignalGroup *selected_signals;
  GCancellable *cancellable;

  /* start-up timing for bench/bench-hud.py, logged once with G_MESSAGES_DEBUG=nexus-window */
  GdkFrameClock *frame_clock;
  gulong after_paint_id;
  gboolean logged_first_frame;
  gboolean logged_list_frame;

  AdwToastOverlay *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewSwitcherBar *switcher_bar;
  guint reveal_bar_source;
  AdwViewStack *view_stack;
  GtkStack *machines_stack;
  GtkSpinner *connecting_spinner;
  AdwStatusPage *no_bus_page;
  AdwStatusPage *empty_page;
  GtkListView *vms_view;
  GtkRevealer *libvirt_revealer;
  GtkLabel *connection_label;
  NexusCommandBar *command_bar;
  NexusGpuPage *gpu_page;
};

G_DEFINE_FINAL_TYPE (NexusWindow, nexus_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* "win.<action>" for every operation, in NexusVmOp order. */
static char *win_action_names[NEXUS_VM_N_OPS];

static void
add_toast (NexusWindow *self, const char *message, AdwToastPriority priority)
{
  /* An AdwToast title is Pango markup; service messages are plain text. */
  g_autofree char *markup = g_markup_escape_text (message, -1);
  AdwToast *toast = adw_toast_new (markup);

  adw_toast_set_priority (toast, priority);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* Errors do not wait behind earlier news: a high-priority toast replaces the one shown. */
static void
show_error (NexusWindow *self, const char *message)
{
  add_toast (self, message, ADW_TOAST_PRIORITY_HIGH);
}

void
nexus_window_show_toast (NexusWindow *self, const char *message)
{
  g_return_if_fail (NEXUS_IS_WINDOW (self));
  add_toast (self, message, ADW_TOAST_PRIORITY_NORMAL);
}

/* --- operations ---------------------------------------------------------------------------- */

static void
on_op_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NexusVm *vm = NEXUS_VM (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *created = nexus_vm_run_finish (vm, result, &error);
  NexusWindow *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = NEXUS_WINDOW (user_data);
  if (created == NULL)
    {
      show_error (self, error->message);
      return;
    }
  if (created[0] != '\0')
    {
      g_autofree char *message
        = g_strdup_printf (_ ("Took snapshot “%s” of %s"), created, nexus_vm_get_name (vm));
      nexus_window_show_toast (self, message);
    }
}

static void
start_op (NexusWindow *self, NexusVm *vm, NexusVmOp op)
{
  g_debug ("%s on %s", nexus_vm_op_get_method (op), nexus_vm_get_name (vm));
  nexus_vm_run_async (vm, op, self->cancellable, on_op_done, self);
}

static void
on_force_off_response (AdwMessageDialog *dialog, const char *response, NexusWindow *self)
{
  NexusVm *vm = g_object_get_data (G_OBJECT (dialog), "nexus-vm");

  if (g_str_equal (response, "force-off"))
    start_op (self, vm, NEXUS_VM_OP_FORCE_STOP);
}

/* Forcing a VM off loses whatever its guest had not written: ask first. */
static void
confirm_force_off (NexusWindow *self, NexusVm *vm)
{
  g_autofree char *heading = g_strdup_printf (_ ("Force Off %s?"), nexus_vm_get_name (vm));
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (
    GTK_WINDOW (self), heading,
    _ ("This cuts the machine’s power at once, like pulling the plug. Anything its guest has not "
       "saved is lost.")));

  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), "force-off", _ ("_Force Off"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "force-off", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "nexus-vm", g_object_ref (vm), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_force_off_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Runs an operation as the user asked for it. It is not checked against the state here: a state
 * that changed since the button was drawn is the service's to refuse, and its message is shown. */
void
nexus_window_run_vm_op (NexusWindow *self, NexusVm *vm, NexusVmOp op)
{
  g_return_if_fail (NEXUS_IS_WINDOW (self));
  g_return_if_fail (NEXUS_IS_VM (vm));
  g_return_if_fail (op < NEXUS_VM_N_OPS);

  if (op == NEXUS_VM_OP_FORCE_STOP)
    confirm_force_off (self, vm);
  else
    start_op (self, vm, op);
}

static NexusVm *
get_selected_vm (NexusWindow *self)
{
  return gtk_single_selection_get_selected_item (self->selection);
}

static void
refresh_actions (NexusWindow *self)
{
  NexusVm *vm = get_selected_vm (self);

  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), win_action_names[op],
                                   vm != NULL && nexus_vm_can_run (vm, op));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.start-service",
                                 nexus_client_get_status (self->client) == NEXUS_CLIENT_NO_SERVICE);
}

static void
activate_selected_op (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NexusWindow *self = NEXUS_WINDOW (widget);
  NexusVm *vm = get_selected_vm (self);
  NexusVmOp op;

  if (vm != NULL && nexus_vm_op_from_action_name (action_name, &op))
    nexus_window_run_vm_op (self, vm, op);
}

static void
activate_show_page (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NexusWindow *self = NEXUS_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, g_variant_get_string (parameter, NULL));
}

/* Built on first use rather than with the window (as GtkApplication does with gtk/help-overlay.ui):
 * it is the largest widget tree of the HUD and most start-ups never show it. Once set as the help
 * overlay, its entries show the keys their actions have in the application. */
static void
activate_show_shortcuts (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GtkApplicationWindow *window = GTK_APPLICATION_WINDOW (widget);
  GtkShortcutsWindow *shortcuts = gtk_application_window_get_help_overlay (window);

  if (shortcuts == NULL)
    {
      g_autoptr (GtkBuilder) builder
        = gtk_builder_new_from_resource ("/org/crom/Spirit/Nexus/nexus-shortcuts-window.ui");

      shortcuts = GTK_SHORTCUTS_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));
      gtk_application_window_set_help_overlay (window, shortcuts);
    }
  gtk_window_present (GTK_WINDOW (shortcuts));
}

static void
on_service_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;

  if (nexus_client_start_service_finish (NEXUS_CLIENT (source), result, &error))
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  message = g_strdup_printf (_ ("Could not start the Spirit service: %s"), error->message);
  show_error (NEXUS_WINDOW (user_data), message);
}

static void
activate_start_service (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NexusWindow *self = NEXUS_WINDOW (widget);

  nexus_client_start_service_async (self->client, self->cancellable, on_service_started, self);
}

/* --- what the client knows ------------------------------------------------------------------ */

static const char *
page_for_status (NexusWindow *self)
{
  switch (nexus_client_get_status (self->client))
    {
    case NEXUS_CLIENT_NO_BUS:
      return "no-bus";
    case NEXUS_CLIENT_NO_SERVICE:
      return "no-service";
    case NEXUS_CLIENT_READY:
      if (g_list_model_get_n_items (nexus_client_get_vms (self->client)) > 0)
        return "list";
      /* spiritd is up but has not listed libvirt's domains yet: not the same as having none */
      return nexus_client_get_libvirt_down (self->client) ? "connecting" : "empty";
    case NEXUS_CLIENT_CONNECTING:
    case NEXUS_CLIENT_LOADING:
    default:
      return "connecting";
    }
}

static void
update_status (NexusWindow *self)
{
  const char *page = page_for_status (self);
  const char *uri = nexus_client_get_uri (self->client);
  const char *version = nexus_client_get_version (self->client);
  NexusClientStatus status = nexus_client_get_status (self->client);
  gboolean ready = status == NEXUS_CLIENT_READY;
  g_autofree char *no_bus = NULL;
  g_autofree char *empty = NULL;
  g_autofree char *connection = NULL;

  if (status == NEXUS_CLIENT_NO_BUS)
    {
      no_bus = g_strdup_printf (_ ("%s. Nexus keeps trying."),
                                nexus_client_get_error_message (self->client));
      adw_status_page_set_description (self->no_bus_page, no_bus);
    }
  if (uri != NULL)
    empty = g_strdup_printf (_ ("Spirit is running, and libvirt has no machines at %s."), uri);
  adw_status_page_set_description (self->empty_page, empty);

  gtk_stack_set_visible_child_name (self->machines_stack, page);
  gtk_spinner_set_spinning (self->connecting_spinner, g_str_equal (page, "connecting"));

  /* Which service and libvirt this is, at the end of the bottom bar. */
  if (ready && uri != NULL)
    {
      connection = g_strdup_printf (_ ("Spirit %s · %s"), version ? version : "?", uri);
      gtk_label_set_label (self->connection_label, uri);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->connection_label), connection);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->connection_label), connection != NULL);
  gtk_revealer_set_reveal_child (self->libvirt_revealer,
                                 ready && nexus_client_get_libvirt_down (self->client));
  refresh_actions (self);
}

static void
on_selection_changed (NexusWindow *self)
{
  g_signal_group_set_target (self->selected_signals, get_selected_vm (self));
  refresh_actions (self);
}

static void
setup_row (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  gtk_list_item_set_child (item, nexus_vm_row_new ());
}

static void
bind_row (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  nexus_vm_row_set_vm (NEXUS_VM_ROW (gtk_list_item_get_child (item)),
                       gtk_list_item_get_item (item));
}

static void
unbind_row (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer user_data)
{
  nexus_vm_row_set_vm (NEXUS_VM_ROW (gtk_list_item_get_child (item)), NULL);
}

/* --- adaptive layout ------------------------------------------------------------------------ */

static gboolean
reveal_switcher_bar (gpointer user_data)
{
  NexusWindow *self = NEXUS_WINDOW (user_data);

  self->reveal_bar_source = 0;
  adw_view_switcher_bar_set_reveal (
    self->switcher_bar, adw_view_switcher_title_get_title_visible (self->switcher_title));
  return G_SOURCE_REMOVE;
}

/* When the header is too narrow for the switcher it shows the title, and the switcher moves to a
 * bar at the bottom. The header decides that while it is being allocated; revealing the bar right
 * then would resize the window in the middle of its own allocation (GTK 4.8 then allocates the
 * bar's box at a height of -1), so the bar follows on the next main loop turn. */
static void
on_title_visible (NexusWindow *self)
{
  if (self->reveal_bar_source == 0)
    self->reveal_bar_source = g_idle_add (reveal_switcher_bar, self);
}

/* --- start-up timing ---------------------------------------------------------------------- */

static void
stop_frame_timing (NexusWindow *self)
{
  if (self->frame_clock == NULL)
    return;
  g_clear_signal_handler (&self->after_paint_id, self->frame_clock);
  g_clear_object (&self->frame_clock);
}

static void
on_after_paint (GdkFrameClock *clock, NexusWindow *self)
{
  if (!self->logged_first_frame)
    {
      g_debug ("first frame at %" G_GINT64_FORMAT " µs", g_get_monotonic_time ());
      self->logged_first_frame = TRUE;
    }
  if (!self->logged_list_frame
      && g_strcmp0 (gtk_stack_get_visible_child_name (self->machines_stack), "list") == 0)
    {
      g_debug ("first frame with machines at %" G_GINT64_FORMAT " µs", g_get_monotonic_time ());
      self->logged_list_frame = TRUE;
    }
  if (self->logged_first_frame && self->logged_list_frame)
    stop_frame_timing (self);
}

static void
nexus_window_map (GtkWidget *widget)
{
  NexusWindow *self = NEXUS_WINDOW (widget);

  GTK_WIDGET_CLASS (nexus_window_parent_class)->map (widget);
  if (self->frame_clock == NULL && !(self->logged_first_frame && self->logged_list_frame))
    {
      self->frame_clock = g_object_ref (gtk_widget_get_frame_clock (widget));
      self->after_paint_id
        = g_signal_connect (self->frame_clock, "after-paint", G_CALLBACK (on_after_paint), self);
    }
}

static void
nexus_window_unmap (GtkWidget *widget)
{
  stop_frame_timing (NEXUS_WINDOW (widget));
  GTK_WIDGET_CLASS (nexus_window_parent_class)->unmap (widget);
}

/* --- GObject ------------------------------------------------------------------------------- */

static int
compare_host_then_name (gconstpointer a, gconstpointer b, gpointer user_data)
{
  int by_host = g_utf8_collate (nexus_vm_get_host (NEXUS_VM ((gpointer)a)),
                                nexus_vm_get_host (NEXUS_VM ((gpointer)b)));

  if (by_host != 0)
    return by_host;
  return g_utf8_collate (nexus_vm_get_name (NEXUS_VM ((gpointer)a)),
                         nexus_vm_get_name (NEXUS_VM ((gpointer)b)));
}

/* Rows name their host only when the list holds more than one. */
static void
update_show_host (GListModel *vms, guint position, guint removed, guint added, gpointer user_data)
{
  guint n = g_list_model_get_n_items (vms);
  gboolean several = FALSE;
  g_autofree char *first = NULL;

  for (guint i = 0; i < n && !several; i++)
    {
      g_autoptr (NexusVm) vm = g_list_model_get_item (vms, i);
      if (first == NULL)
        first = g_strdup (nexus_vm_get_host (vm));
      else if (!g_str_equal (first, nexus_vm_get_host (vm)))
        several = TRUE;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (NexusVm) vm = g_list_model_get_item (vms, i);
      nexus_vm_set_show_host (vm, several);
    }
}

static void
nexus_window_constructed (GObject *object)
{
  NexusWindow *self = NEXUS_WINDOW (object);
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkSortListModel *sorted;
  GListModel *vms;

  G_OBJECT_CLASS (nexus_window_parent_class)->constructed (object);
  g_return_if_fail (NEXUS_IS_CLIENT (self->client));

  vms = nexus_client_get_vms (self->client);
  nexus_command_bar_set_client (self->command_bar, self->client);
  nexus_gpu_page_set_client (self->gpu_page, self->client);
  /* Grouped by host: sorted by host, then name; rows name their host when there are several. */
  sorted = gtk_sort_list_model_new (
    g_object_ref (vms), GTK_SORTER (gtk_custom_sorter_new (compare_host_then_name, NULL, NULL)));
  g_signal_connect (sorted, "items-changed", G_CALLBACK (update_show_host), NULL);
  self->selection = gtk_single_selection_new (G_LIST_MODEL (sorted));
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row), NULL);
  gtk_list_view_set_factory (self->vms_view, factory);
  gtk_list_view_set_model (self->vms_view, GTK_SELECTION_MODEL (self->selection));

  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (on_selection_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (vms, "items-changed", G_CALLBACK (update_status), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->client, "notify", G_CALLBACK (update_status), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->switcher_title, "notify::title-visible",
                           G_CALLBACK (on_title_visible), self, G_CONNECT_SWAPPED);
  on_selection_changed (self);
  update_status (self);
}

static void
nexus_window_dispose (GObject *object)
{
  NexusWindow *self = NEXUS_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->reveal_bar_source, g_source_remove);
  stop_frame_timing (self);
  if (self->selected_signals != NULL)
    g_signal_group_set_target (self->selected_signals, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), NEXUS_TYPE_WINDOW);
  g_clear_object (&self->selection);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (nexus_window_parent_class)->dispose (object);
}

static void
nexus_window_finalize (GObject *object)
{
  NexusWindow *self = NEXUS_WINDOW (object);

  g_clear_object (&self->selected_signals);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (nexus_window_parent_class)->finalize (object);
}

static void
nexus_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NexusWindow *self = NEXUS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  NexusWindow *self = NEXUS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_window_class_init (NexusWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = nexus_window_constructed;
  object_class->dispose = nexus_window_dispose;
  object_class->finalize = nexus_window_finalize;
  object_class->get_property = nexus_window_get_property;
  object_class->set_property = nexus_window_set_property;
  widget_class->map = nexus_window_map;
  widget_class->unmap = nexus_window_unmap;

  properties[PROP_CLIENT]
    = g_param_spec_object ("client", NULL, NULL, NEXUS_TYPE_CLIENT,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (NEXUS_TYPE_COMMAND_BAR);
  g_type_ensure (NEXUS_TYPE_GPU_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/crom/Spirit/Nexus/nexus-window.ui");
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, switcher_bar);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, machines_stack);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, connecting_spinner);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, no_bus_page);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, vms_view);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, libvirt_revealer);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, connection_label);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, command_bar);
  gtk_widget_class_bind_template_child (widget_class, NexusWindow, gpu_page);

  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    {
      win_action_names[op] = g_strconcat ("win.", nexus_vm_op_get_action_name (op), NULL);
      gtk_widget_class_install_action (widget_class, win_action_names[op], NULL,
                                       activate_selected_op);
    }
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", activate_show_page);
  gtk_widget_class_install_action (widget_class, "win.start-service", NULL, activate_start_service);
  gtk_widget_class_install_action (widget_class, "win.show-shortcuts", NULL,
                                   activate_show_shortcuts);
}

static void
nexus_window_init (NexusWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->selected_signals = g_signal_group_new (NEXUS_TYPE_VM);
  g_signal_group_connect_swapped (self->selected_signals, "changed", G_CALLBACK (refresh_actions),
                                  self);
}

NexusWindow *
nexus_window_new (GtkApplication *application, NexusClient *client)
{
  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (NEXUS_IS_CLIENT (client), NULL);

  return g_object_new (NEXUS_TYPE_WINDOW, "application", application, "client", client, NULL);
}

NexusGpuPage *
nexus_window_get_gpu_page (NexusWindow *self)
{
  return self->gpu_page;
}

NexusCommandBar *
nexus_window_get_command_bar (NexusWindow *self)
{
  return self->command_bar;
}

NexusClient *
nexus_window_get_client (NexusWindow *self)
{
  g_return_val_if_fail (NEXUS_IS_WINDOW (self), NULL);
  return self->client;
}
