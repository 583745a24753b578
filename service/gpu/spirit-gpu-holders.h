/* spirit-gpu-holders.h: the processes that hold a GPU's device nodes open, and ending them.
 *
 * Every /proc/PID/fd entry and /proc/PID/maps mapping is compared with the nodes: by device
 * number for character devices, by path otherwise (a test tree's nodes are plain files). /proc is
 * always the real one. The calling process itself is never reported.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  int pid;
  char *comm;
  char *node; /* the kernel's /dev path */
} SpiritHolder;

void spirit_holder_free (SpiritHolder *holder);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritHolder, spirit_holder_free)

GPtrArray *spirit_gpu_find_holders (GPtrArray *nodes);
char *spirit_gpu_describe_holders (GPtrArray *holders);
gboolean spirit_gpu_end_holders (GPtrArray *holders,
                                 guint timeout_ms,
                                 GCancellable *cancellable,
                                 GError **error);

G_END_DECLS
