/* spirit-vm-info.h: a snapshot of everything a client needs to draw one VM.
 *
 * Fetched with blocking libvirt calls on a worker thread, then applied to the D-Bus object on the
 * main thread: the main loop never waits for libvirtd.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

typedef struct
{
  char *name;
  char *uuid;
  char *title;
  const char *state;  /* static, see spirit_vm_state_name() */
  const char *reason; /* static, see spirit_vm_state_reason_name() */
  int id;
  guint vcpus;
  guint64 memory_kib;
  guint64 max_memory_kib;
  gboolean persistent;
  gboolean autostart;
  gboolean has_saved_state;
  GStrv snapshots;
  char *current_snapshot;
  GVariant *memory_stats; /* a{st}, never NULL: the balloon's statistics while running */
} SpiritVmInfo;

SpiritVmInfo *spirit_vm_info_fetch (virDomainPtr domain, GError **error);
void spirit_vm_info_free (SpiritVmInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritVmInfo, spirit_vm_info_free)

const char *spirit_vm_state_name (int state, gboolean has_saved_state);
const char *spirit_vm_state_reason_name (int state, int reason);
/* "available", "actual_balloon", … for a VIR_DOMAIN_MEMORY_STAT_* tag; NULL if unknown. */
const char *spirit_vm_memory_stat_name (int tag);

G_END_DECLS
