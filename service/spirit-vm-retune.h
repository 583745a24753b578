/* spirit-vm-retune.h: the libvirt work behind VM.Retune, a row of spirit-vm-ops' table.
 *
 * Reads the persistent definition, lets libspirit_profiles (spirit_vm_plan_retune) check the new
 * tuning against the host and rewrite it, and defines the result. Blocking: a worker's run().
 */
#pragma once

#include "spirit-vm-ops.h"

G_BEGIN_DECLS

/* A transient VM has no persistent definition to retune. */
gboolean spirit_vm_check_retune (SpiritVmCall *call, const SpiritVmInfo *current, GError **error);
/* The options are the invocation's a{sv}; call->result is the stored definition afterwards. */
gboolean spirit_vm_run_retune (SpiritVmCall *call, GError **error);

G_END_DECLS
