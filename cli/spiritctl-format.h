/* spiritctl-format.h: how spiritctl prints VMs: an aligned table for people, JSON for scripts. */
#pragma once

#include <gio/gio.h>

#include "spirit-dbus-generated.h"

G_BEGIN_DECLS

/* Sorted by name; the list holds SpiritDBusVm*. */
void spiritctl_print_vm_table (GPtrArray *vms);
void spiritctl_print_vm_details (SpiritDBusVm *vm);
void spiritctl_print_snapshots (SpiritDBusVm *vm);

/* JSON: every property of the interface, names as on the bus. */
void spiritctl_print_vms_json (GPtrArray *vms);
void spiritctl_print_vm_json (SpiritDBusVm *vm);
char *spiritctl_vm_to_json_line (SpiritDBusVm *vm, const char *event);

char *spiritctl_format_memory (guint64 kib);

G_END_DECLS
