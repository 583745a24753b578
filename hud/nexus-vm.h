/* nexus-vm.h: one virtual machine as the HUD sees it.
 *
 * A NexusVm wraps the generated org.crom.Spirit.VM proxy of one object. It knows which operations
 * the current State allows (the same table as spiritd's spirit-vm-ops.c, checked against it by
 * tests/hud/test-hud-ops.c), runs them asynchronously, and tells its users when anything they show
 * may have changed.
 */
#pragma once

#include <gio/gio.h>

#include "nexus-cpu-history.h"
#include "spirit-dbus-generated.h"

G_BEGIN_DECLS

typedef enum
{
  NEXUS_VM_OP_START,
  NEXUS_VM_OP_SHUTDOWN,
  NEXUS_VM_OP_FORCE_STOP,
  NEXUS_VM_OP_REBOOT,
  NEXUS_VM_OP_PAUSE,
  NEXUS_VM_OP_RESUME,
  NEXUS_VM_OP_SAVE_STATE,
  NEXUS_VM_OP_SNAPSHOT,
  NEXUS_VM_N_OPS
} NexusVmOp;

#define NEXUS_TYPE_VM (nexus_vm_get_type ())
G_DECLARE_FINAL_TYPE (NexusVm, nexus_vm, NEXUS, VM, GObject)

NexusVm *nexus_vm_new (SpiritDBusVm *proxy);

SpiritDBusVm *nexus_vm_get_proxy (NexusVm *self);
const char *nexus_vm_get_object_path (NexusVm *self);
const char *nexus_vm_get_name (NexusVm *self);
const char *nexus_vm_get_host (NexusVm *self);
/* Set by the window when the list holds VMs of more than one host: rows then name theirs. */
gboolean nexus_vm_get_show_host (NexusVm *self);
void nexus_vm_set_show_host (NexusVm *self, gboolean show_host);
const char *nexus_vm_get_state (NexusVm *self);
gboolean nexus_vm_get_busy (NexusVm *self);
gboolean nexus_vm_can_run (NexusVm *self, NexusVmOp op);
/* The last minute of CpuUsage while the VM runs; empty when it does not. */
const NexusCpuHistory *nexus_vm_get_cpu_history (NexusVm *self);

void nexus_vm_run_async (NexusVm *self,
                         NexusVmOp op,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data);
char *nexus_vm_run_finish (NexusVm *self, GAsyncResult *result, GError **error);

/* The operation table, also used by the window (shortcuts) and the tests. */
const char *nexus_vm_op_get_action_name (NexusVmOp op);
gboolean nexus_vm_op_from_action_name (const char *action_name, NexusVmOp *op);
const char *nexus_vm_op_get_method (NexusVmOp op);
gboolean nexus_vm_op_valid_in_state (NexusVmOp op, const char *state);
const char *nexus_vm_state_get_label (const char *state);

G_END_DECLS
