/* nexus-cpu-graph.c: a VM's CPU usage over the last minute (see nexus-cpu-graph.h).
 *
 * The samples are NEXUS_CPU_SAMPLE_S apart, newest at the right edge, so a graph that is not yet
 * full grows from the right as a minute's graph scrolls. Drawn with the widget's CSS colour
 * (style.css: .nexus-cpu-graph), an area under a line, on a faint baseline.
 *
 * It asks for no width at all, not even a natural one: it is meant to expand into what its row
 * leaves (the row's name and state come first), uses at most GRAPH_WIDTH of that from its start,
 * and draws nothing in less than GRAPH_MIN_WIDTH.
 */
#define G_LOG_DOMAIN "nexus-cpu-graph"

#include "nexus-cpu-graph.h"

struct _NexusCpuGraph
{
  GtkWidget parent_instance;

  NexusCpuHistory history;
};

G_DEFINE_FINAL_TYPE (NexusCpuGraph, nexus_cpu_graph, GTK_TYPE_WIDGET)

#define GRAPH_WIDTH 64
#define GRAPH_MIN_WIDTH 32
#define GRAPH_HEIGHT 16

static void
nexus_cpu_graph_measure (GtkWidget *widget,
                         GtkOrientation orientation,
                         int for_size,
                         int *minimum,
                         int *natural,
                         int *minimum_baseline,
                         int *natural_baseline)
{
  *minimum = *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 0 : GRAPH_HEIGHT;
}

static void
get_color (GtkWidget *widget, GdkRGBA *color)
{
#if GTK_CHECK_VERSION(4, 10, 0)
  gtk_widget_get_color (widget, color);
#else
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), color);
#endif
}

/* Adds a line through the samples to the current path, oldest first. */
static void
trace_samples (cairo_t *cr, const NexusCpuHistory *history, double first_x, double step, int height)
{
  for (guint i = 0; i < nexus_cpu_history_get_length (history); i++)
    cairo_line_to (cr, first_x + step * i,
                   height - 1 - (height - 2) * nexus_cpu_history_get (history, i) / 100);
}

static void
nexus_cpu_graph_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  NexusCpuGraph *self = NEXUS_CPU_GRAPH (widget);
  int width = MIN (gtk_widget_get_width (widget), GRAPH_WIDTH);
  int height = gtk_widget_get_height (widget);
  guint n = nexus_cpu_history_get_length (&self->history);
  double step = (double)width / (NEXUS_CPU_HISTORY_LEN - 1);
  double first_x = width - step * (n > 0 ? n - 1 : 0);
  GdkRGBA color;
  cairo_t *cr;

  if (width < GRAPH_MIN_WIDTH || height <= 0)
    return;
  get_color (widget, &color);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  cairo_set_source_rgba (cr, color.red, color.green, color.blue, color.alpha * 0.2);
  cairo_rectangle (cr, 0, height - 1, width, 1);
  cairo_fill (cr);
  if (n > 0)
    {
      cairo_move_to (cr, first_x, height);
      trace_samples (cr, &self->history, first_x, step, height);
      cairo_line_to (cr, width, height);
      cairo_close_path (cr);
      cairo_set_source_rgba (cr, color.red, color.green, color.blue, color.alpha * 0.3);
      cairo_fill (cr);
      trace_samples (cr, &self->history, first_x, step, height);
      cairo_set_source_rgba (cr, color.red, color.green, color.blue, color.alpha);
      cairo_set_line_width (cr, 1.5);
      cairo_stroke (cr);
    }
  cairo_destroy (cr);
}

static void
nexus_cpu_graph_class_init (NexusCpuGraphClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  widget_class->measure = nexus_cpu_graph_measure;
  widget_class->snapshot = nexus_cpu_graph_snapshot;
  gtk_widget_class_set_css_name (widget_class, "cpugraph");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
nexus_cpu_graph_init (NexusCpuGraph *self)
{
  gtk_widget_add_css_class (GTK_WIDGET (self), "nexus-cpu-graph");
}

GtkWidget *
nexus_cpu_graph_new (void)
{
  return g_object_new (NEXUS_TYPE_CPU_GRAPH, NULL);
}

void
nexus_cpu_graph_set_history (NexusCpuGraph *self, const NexusCpuHistory *history)
{
  g_return_if_fail (NEXUS_IS_CPU_GRAPH (self));

  self->history = *history;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const NexusCpuHistory *
nexus_cpu_graph_get_history (NexusCpuGraph *self)
{
  g_return_val_if_fail (NEXUS_IS_CPU_GRAPH (self), NULL);
  return &self->history;
}
