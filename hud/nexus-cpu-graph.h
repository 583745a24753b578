/* nexus-cpu-graph.h: a small graph of a VM's CPU usage over the last minute, for its card. */
#pragma once

#include <gtk/gtk.h>

#include "nexus-cpu-history.h"

G_BEGIN_DECLS

#define NEXUS_TYPE_CPU_GRAPH (nexus_cpu_graph_get_type ())
G_DECLARE_FINAL_TYPE (NexusCpuGraph, nexus_cpu_graph, NEXUS, CPU_GRAPH, GtkWidget)

GtkWidget *nexus_cpu_graph_new (void);
/* Copies the samples and redraws: the newest at the right edge, 0–100 % bottom to top. */
void nexus_cpu_graph_set_history (NexusCpuGraph *self, const NexusCpuHistory *history);
const NexusCpuHistory *nexus_cpu_graph_get_history (NexusCpuGraph *self);

G_END_DECLS
