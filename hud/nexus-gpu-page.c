/* nexus-gpu-page.c: the GPU page of the HUD, the place of the GPU hand-off.
 *
 * spiritd has no GPU interface yet (it is the subject of the GPU issue), so this page says so and
 * shows nothing else: no GPU, owner or progress is invented. When org.crom.Spirit.GPU lands, its
 * objects (below /org/crom/Spirit/gpu/ in the same object manager as the VMs) become a model in
 * NexusClient, and this page a GtkFlowBox of cards bound to it: owner and state, "Give to <VM>"
 * and "Reclaim", and a progress bar that follows the hand-off's own progress property.
 */
#define G_LOG_DOMAIN "nexus-gpu-page"

#include "nexus-gpu-page.h"

struct _NexusGpuPage
{
  AdwBin parent_instance;
};

G_DEFINE_FINAL_TYPE (NexusGpuPage, nexus_gpu_page, ADW_TYPE_BIN)

static void
nexus_gpu_page_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), NEXUS_TYPE_GPU_PAGE);
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
}

static void
nexus_gpu_page_init (NexusGpuPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
