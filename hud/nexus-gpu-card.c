/* nexus-gpu-card.c: one GPU on the HUD's GPU page (org.crom.Spirit.GPU, see its XML).
 *
 * The card follows the GPU object's properties: its name, address and driver, its state and
 * owner, and why it cannot be passed through when it cannot. "Give" calls Passthrough with the
 * machine chosen in the drop-down, "Reclaim" calls Reclaim; both are sensitive only in the
 * states the service accepts them in. During a hand-off the progress bar follows the service's
 * Progress signal (step N of M, and what the step does). Errors are toasts with the service's
 * message, which names the step that failed.
 */
#define G_LOG_DOMAIN "nexus-gpu-card"

#include "nexus-gpu-card.h"
#include "nexus-vm.h"
#include "nexus-window.h"

#include <glib/gi18n.h>

struct _NexusGpuCard
{
  GtkWidget parent_instance;

  GtkWidget *box;
  GtkLabel *name_label;
  GtkLabel *state_label;
  GtkLabel *details_label;
  GtkDropDown *vm_dropdown;
  GtkButton *give_button;
  GtkButton *reclaim_button;
  GtkLabel *problem_label;
  GtkProgressBar *progress_bar;

  SpiritDBusGpu *gpu;
  GCancellable *cancellable;
  guint calls; /* ours in flight */
};

G_DEFINE_FINAL_TYPE (NexusGpuCard, nexus_gpu_card, GTK_TYPE_WIDGET)

static const char *
state_label (const char *state)
{
  if (g_strcmp0 (state, "host") == 0)
    return _ ("On the Host");
  if (g_strcmp0 (state, "to-vm") == 0)
    return _ ("Moving to Machine");
  if (g_strcmp0 (state, "vm") == 0)
    return _ ("In a Machine");
  if (g_strcmp0 (state, "to-host") == 0)
    return _ ("Returning");
  if (g_strcmp0 (state, "failed") == 0)
    return _ ("Failed");
  return state ? state : "";
}

static void
nexus_gpu_card_refresh (NexusGpuCard *self)
{
  const char *state = spirit_dbus_gpu_get_state (self->gpu);
  const char *owner = spirit_dbus_gpu_get_owner_name (self->gpu);
  const char *driver = spirit_dbus_gpu_get_driver (self->gpu);
  const char *problem = spirit_dbus_gpu_get_viability_problem (self->gpu);
  gboolean on_host = g_strcmp0 (state, "host") == 0;
  gboolean moving = g_strcmp0 (state, "to-vm") == 0 || g_strcmp0 (state, "to-host") == 0;
  gboolean viable = spirit_dbus_gpu_get_viable (self->gpu);
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *details = NULL;
  g_autofree char *state_class = NULL;
  gint group = spirit_dbus_gpu_get_iommu_group (self->gpu);

  gtk_label_set_label (self->name_label, spirit_dbus_gpu_get_name (self->gpu));
  if (g_strcmp0 (state, "vm") == 0 && owner != NULL && owner[0] != '\0')
    {
      g_autofree char *text = g_strdup_printf (_ ("In %s"), owner);
      gtk_label_set_label (self->state_label, text);
    }
  else
    gtk_label_set_label (self->state_label, state_label (state));
  for (const char *const *c
       = (const char *const[]){ "state-running", "state-paused", "state-crashed", NULL };
       *c; c++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), *c);
  state_class = g_strdup (on_host                            ? "state-running"
                          : g_strcmp0 (state, "failed") == 0 ? "state-crashed"
                                                             : "state-paused");
  gtk_widget_add_css_class (GTK_WIDGET (self->state_label), state_class);

  g_ptr_array_add (parts, g_strdup (spirit_dbus_gpu_get_address (self->gpu)));
  g_ptr_array_add (parts, driver && driver[0] ? g_strdup (driver) : g_strdup (_ ("no driver")));
  if (group >= 0)
    g_ptr_array_add (parts, g_strdup_printf (_ ("IOMMU group %d"), group));
  if (spirit_dbus_gpu_get_boot_vga (self->gpu))
    g_ptr_array_add (parts, g_strdup (_ ("boot display")));
  g_ptr_array_add (parts, NULL);
  details = g_strjoinv (" · ", (char **)parts->pdata);
  gtk_label_set_label (self->details_label, details);

  gtk_label_set_label (self->problem_label, problem ? problem : "");
  gtk_widget_set_visible (GTK_WIDGET (self->problem_label), !viable && problem && problem[0]);

  gtk_widget_set_sensitive (GTK_WIDGET (self->give_button),
                            on_host && viable && self->calls == 0
                              && gtk_drop_down_get_selected_item (self->vm_dropdown) != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->vm_dropdown), on_host && viable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->reclaim_button),
                            (g_strcmp0 (state, "vm") == 0 || g_strcmp0 (state, "failed") == 0)
                              && self->calls == 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), moving);
}

static void
on_progress (
  NexusGpuCard *self, const char *step, const char *description, guint index, guint total)
{
  g_autofree char *text = g_strdup_printf (_ ("Step %u of %u: %s"), index, total, description);

  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  gtk_progress_bar_set_fraction (self->progress_bar, total ? (double)index / total : 0);
  gtk_progress_bar_set_text (self->progress_bar, text);
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NexusGpuCard) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  GtkRoot *root;

  self->calls--;
  if (reply == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_dbus_error_strip_remote_error (error);
      root = gtk_widget_get_root (GTK_WIDGET (self));
      if (NEXUS_IS_WINDOW (root))
        nexus_window_show_toast (NEXUS_WINDOW (root), error->message);
      g_message ("GPU hand-off: %s", error->message);
    }
  if (self->gpu != NULL)
    nexus_gpu_card_refresh (self);
}

/* The hand-off takes as long as it takes (a unit's stop, a VM's start): no client timeout, and
 * polkit may ask for a password. */
static void
call (NexusGpuCard *self, const char *method, GVariant *args)
{
  self->calls++;
  g_dbus_proxy_call (G_DBUS_PROXY (self->gpu), method, args,
                     G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, self->cancellable,
                     on_call_done, g_object_ref (self));
  nexus_gpu_card_refresh (self);
}

void
nexus_gpu_card_give (NexusGpuCard *self, const char *vm_name)
{
  call (self, "Passthrough", g_variant_new ("(sb)", vm_name, FALSE));
}

static void
on_give_clicked (NexusGpuCard *self)
{
  NexusVm *vm = gtk_drop_down_get_selected_item (self->vm_dropdown);

  if (vm != NULL)
    nexus_gpu_card_give (self, nexus_vm_get_name (vm));
}

static void
on_reclaim_clicked (NexusGpuCard *self)
{
  call (self, "Reclaim", g_variant_new ("(b)", FALSE));
}

static void
on_gpu_properties_changed (NexusGpuCard *self)
{
  nexus_gpu_card_refresh (self);
}

/* ---- construction --------------------------------------------------------------------------- */

NexusGpuCard *
nexus_gpu_card_new (SpiritDBusGpu *gpu, GListModel *vms)
{
  NexusGpuCard *self = g_object_new (NEXUS_TYPE_GPU_CARD, NULL);
  g_autoptr (GtkExpression) name = gtk_property_expression_new (NEXUS_TYPE_VM, NULL, "name");

  self->gpu = g_object_ref (gpu);
  gtk_drop_down_set_expression (self->vm_dropdown, name);
  gtk_drop_down_set_model (self->vm_dropdown, vms);
  g_signal_connect_object (gpu, "g-properties-changed", G_CALLBACK (on_gpu_properties_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (gpu, "progress", G_CALLBACK (on_progress), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->vm_dropdown, "notify::selected",
                           G_CALLBACK (nexus_gpu_card_refresh), self, G_CONNECT_SWAPPED);
  nexus_gpu_card_refresh (self);
  return self;
}

SpiritDBusGpu *
nexus_gpu_card_get_gpu (NexusGpuCard *self)
{
  return self->gpu;
}

static void
nexus_gpu_card_dispose (GObject *object)
{
  NexusGpuCard *self = NEXUS_GPU_CARD (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->gpu);
  gtk_widget_dispose_template (GTK_WIDGET (self), NEXUS_TYPE_GPU_CARD);
  G_OBJECT_CLASS (nexus_gpu_card_parent_class)->dispose (object);
}

static void
nexus_gpu_card_finalize (GObject *object)
{
  g_clear_object (&NEXUS_GPU_CARD (object)->cancellable);
  G_OBJECT_CLASS (nexus_gpu_card_parent_class)->finalize (object);
}

static void
nexus_gpu_card_class_init (NexusGpuCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = nexus_gpu_card_dispose;
  object_class->finalize = nexus_gpu_card_finalize;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/crom/Spirit/Nexus/nexus-gpu-card.ui");
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, box);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, name_label);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, state_label);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, details_label);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, vm_dropdown);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, give_button);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, reclaim_button);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, problem_label);
  gtk_widget_class_bind_template_child (widget_class, NexusGpuCard, progress_bar);
  gtk_widget_class_bind_template_callback (widget_class, on_give_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_reclaim_clicked);
}

static void
nexus_gpu_card_init (NexusGpuCard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}
