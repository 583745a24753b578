/* spirit-vm-ops.h: what each org.crom.Spirit.VM method does to libvirt.
 *
 * One table row per method: the states it applies to, an argument check run on the main thread,
 * and the blocking libvirt work run on a worker thread. spirit-vm.c drives every row the same way:
 * authorize, check, run, refresh, reply.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt-gobject/libvirt-gobject.h>

#include "spirit-vm-info.h"

G_BEGIN_DECLS

/* Longest snapshot name accepted; libvirt itself has no limit worth relying on. */
#define SPIRIT_SNAPSHOT_NAME_MAX 200
#define SPIRIT_SHUTDOWN_DEFAULT_TIMEOUT 120
#define SPIRIT_SHUTDOWN_MAX_TIMEOUT 3600
#define SPIRIT_MEMORY_MIN_KIB (64 * 1024)

typedef struct _SpiritVmCall SpiritVmCall;
typedef struct _SpiritVmOp SpiritVmOp;

struct _SpiritVmCall
{
  const SpiritVmOp *op;
  GDBusMethodInvocation *invocation;
  GVirDomain *domain;  /* the domain to act on, owned */
  char *vm_name;       /* for messages */
  char *name_arg;      /* snapshot name */
  guint timeout_arg;   /* Shutdown's timeout, seconds */
  gboolean bool_arg;   /* SetAutostart's value */
  guint64 size_arg;    /* SetMemory's KiB */
  char *result;        /* CreateSnapshot's created name */
  SpiritVmInfo *info;  /* state read back after the operation */
  gint seq;           /* order of the read-back among all reads of this VM */
  gboolean add_agent_channel; /* Start: add the spirit.0 channel to the definition first */
};

struct _SpiritVmOp
{
  const char *method;
  const char *verb;                  /* "resume", for "Cannot resume 'vm': it is shutoff" */
  const char *const *valid_states;   /* NULL: any state */
  gboolean (*check) (SpiritVmCall *call, const SpiritVmInfo *current, GError **error);
  gboolean (*run) (SpiritVmCall *call, GError **error);
  gboolean wait_until_off;           /* reply only once the VM is shut off (Shutdown) */
};

const SpiritVmOp *spirit_vm_op_lookup (const char *method);
gboolean spirit_vm_op_check_state (const SpiritVmOp *op,
                                   const char *vm_name,
                                   const char *state,
                                   GError **error);
gboolean spirit_snapshot_name_validate (const char *name, gboolean allow_empty, GError **error);
char *spirit_snapshot_name_generate (GDateTime *now);

void spirit_vm_call_free (SpiritVmCall *call);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritVmCall, spirit_vm_call_free)

G_END_DECLS
