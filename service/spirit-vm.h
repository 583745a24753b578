/* spirit-vm.h: one virtual machine on the bus, as an org.crom.Spirit.VM object.
 *
 * Owns the exported object and keeps its properties equal to libvirt's state: a refresh reads the
 * domain on a worker thread and applies the result on the main thread.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt-gobject/libvirt-gobject.h>

#include "spirit-auth.h"
#include "spirit-vm-info.h"
#include "spirit-worker.h"

G_BEGIN_DECLS

#define SPIRIT_TYPE_VM (spirit_vm_get_type ())
G_DECLARE_FINAL_TYPE (SpiritVm, spirit_vm, SPIRIT, VM, GObject)

SpiritVm *spirit_vm_new (SpiritAuth *auth,
                        SpiritWorker *worker,
                        const char *host,
                        GVirDomain *domain,
                        const SpiritVmInfo *info);

GDBusInterfaceSkeleton *spirit_vm_get_skeleton (SpiritVm *self);
const char *spirit_vm_get_object_path (SpiritVm *self);
const char *spirit_vm_get_uuid (SpiritVm *self);
const char *spirit_vm_get_name (SpiritVm *self);
const char *spirit_vm_get_host (SpiritVm *self);
/* The libvirt domain, or NULL while its connection is down (the GPU swap uses it). */
GVirDomain *spirit_vm_get_domain (SpiritVm *self);
const char *spirit_vm_get_state (SpiritVm *self);

/* The libvirt domain to act on; NULL marks the VM "unavailable" (its connection is down). */
void spirit_vm_set_domain (SpiritVm *self, GVirDomain *domain);
void spirit_vm_apply_info (SpiritVm *self, const SpiritVmInfo *info);
/* Reads of libvirt state are numbered when they start: a read applies only if no later-started
 * one was applied already. Reserve the number just before reading, on the main thread. */
gint spirit_vm_reserve_seq (SpiritVm *self);
void spirit_vm_apply_fetched (SpiritVm *self, const SpiritVmInfo *info, gint seq);
/* Re-reads the domain from libvirt; coalesces with a refresh already under way. */
void spirit_vm_refresh (SpiritVm *self);
/* Reads the CPU time of a running VM (a worker thread) and updates CpuUsage. */
void spirit_vm_sample_cpu (SpiritVm *self);

/* The guest agents. local: the host's channel sockets are reachable from here (qemu:///system,
 * qemu:///session): Start adds the spirit.0 channel, and a link follows the VM's agent. */
typedef struct _SpiritAgentLink SpiritAgentLink;
void spirit_vm_enable_agent (SpiritVm *self, gboolean local);
SpiritAgentLink *spirit_vm_get_agent_link (SpiritVm *self); /* NULL: not local */
gboolean spirit_vm_has_qemu_ga (SpiritVm *self);
/* For the qemu-ga fallback: the host's workers (the domain: spirit_vm_get_domain, NULL while libvirt is down). */
SpiritWorker *spirit_vm_get_worker (SpiritVm *self);

char *spirit_vm_object_path_for (const char *host, const char *uuid);

G_END_DECLS
