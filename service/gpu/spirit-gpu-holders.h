/* spirit-gpu-holders.h: the processes that hold a GPU's device nodes open, and ending them.
 *
 * Every /proc/PID/fd entry, and with_mappings every /proc/PID/maps mapping, is compared with the
 * nodes: by device number for character devices, by path otherwise (a test tree's nodes are plain
 * files). Mappings matter for framebuffers and DRM buffers, which stay mapped after a close();
 * they are the costly part (the kernel formats every mapping of every process), and a vfio group
 * is only ever held through a file descriptor. /proc is always the real one. The calling process
 * itself is never reported; nor are kernel threads, which hold no files.
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

GPtrArray *spirit_gpu_find_holders (GPtrArray *nodes, gboolean with_mappings);
char *spirit_gpu_describe_holders (GPtrArray *holders);
gboolean spirit_gpu_end_holders (GPtrArray *holders,
                                 guint timeout_ms,
                                 GCancellable *cancellable,
                                 GError **error);

G_END_DECLS
