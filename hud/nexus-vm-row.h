/* nexus-vm-row.h: the row of one VM in the machines list. */
#pragma once

#include <gtk/gtk.h>

#include "nexus-vm.h"

G_BEGIN_DECLS

#define NEXUS_TYPE_VM_ROW (nexus_vm_row_get_type ())
G_DECLARE_FINAL_TYPE (NexusVmRow, nexus_vm_row, NEXUS, VM_ROW, GtkWidget)

GtkWidget *nexus_vm_row_new (void);
NexusVm *nexus_vm_row_get_vm (NexusVmRow *self);
void nexus_vm_row_set_vm (NexusVmRow *self, NexusVm *vm);

G_END_DECLS
