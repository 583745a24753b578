/* nexus-gpu-page.c: the GPU page of the HUD, the place of the GPU hand-off.
 *
 * A card (nexus-gpu-card.c) per org.crom.Spirit.GPU object of the service, in the order of their
 * PCI addresses, bound to NexusClient's GPU model: GPUs appear and go with the service's object
 * manager. Without any, a status page says what the page is for.
 */
#define G_LOG_DOMAIN "nexus-gpu-page"

#include "nexus-gpu-page.h"
#include "nexus-gpu-card.h"

struct _NexusGpuPage
{
  AdwBin parent_instance;

  GtkStack *stack;
  GtkListBox *list;
  NexusClient *client;
};

G_DEFINE_FINAL_TYPE (NexusGpuPage, nexus_gpu_page, ADW_TYPE_BIN)

static GtkWidget *
create_card (gpointer item, gpointer user_data)
{
  NexusGpuPage *self = user_data;

  return GTK_WIDGET (
    nexus_gpu_card_new (SPIRIT_DBUS_GPU (item), nexus_client_get_vms (self->client)));
}

static void
update_page (NexusGpuPage *self)
{
  GListModel *gpus = nexus_client_get_gpus (self->client);

  gtk_stack_set_visible_child_name (self->stack,
                                    g_list_model_get_n_items (gpus) > 0 ? "gpus" : "none");
}

void
nexus_gpu_page_set_client (NexusGpuPage *self, NexusClient *client)
{
  GListModel *gpus;

  g_return_if_fail (self->client == NULL);
  self->client = g_object_ref (client);
  gpus = nexus_client_get_gpus (client);
  gtk_list_box_bind_model (self->list, gpus, create_card, self, NULL);
  g_signal_connect_object (gpus, "items-changed", G_CALLBACK (update_page), self,
                           G_CONNECT_SWAPPED);
  update_page (self);
}

/* The card of the GPU at this PCI address, or NULL. */
NexusGpuCard *
nexus_gpu_page_find_card (NexusGpuPage *self, const char *address)
{
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    {
      GtkWidget *card
        = GTK_IS_LIST_BOX_ROW (row) ? gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row)) : NULL;
      if (NEXUS_IS_GPU_CARD (card)
          && g_strcmp0 (
               spirit_dbus_gpu_get_address (nexus_gpu_card_get_gpu (NEXUS_GPU_CARD (card))),
               address)
               == 0)
        return NEXUS_GPU_CARD (card);
    }
  return NULL;
}

static void
nexus_gpu_page_dispose (GObject *object)
{
  NexusGpuPage *self = NEXUS_GPU_PAGE (object);

  if (self->list != NULL)
    gtk_list_box_bind_model (self->list, NULL, NULL, NULL, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (object), NEXUS_TYPE_GPU_PAGE);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (nexus_gpu_page_parent_class)->dispose (object);
}

static void
nexus_gpu_page_class_init (NexusGpuPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = nexus_gpu_page_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/crom/Spirit/Nexus/nexus-gpu-page.ui");
  gtk_widget_class_bind_template_child (widget_class, NexusGpuPage, list);
}

static void
nexus_gpu_page_init (NexusGpuPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* AdwBin's own child: not a bound template child, or it would be unparented twice */
  self->stack = GTK_STACK (adw_bin_get_child (ADW_BIN (self)));
}
