/* spirit-host.h: one named libvirt connection ("local", "lab", …) and the VM objects on it.
 *
 * Each host opens, watches and reconnects its connection on its own, so one host going away
 * marks only its own VMs unavailable.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-auth.h"
#include "spirit-object-tree.h"
#include "spirit-vm.h"

G_BEGIN_DECLS

#define SPIRIT_TYPE_HOST (spirit_host_get_type ())
G_DECLARE_FINAL_TYPE (SpiritHost, spirit_host, SPIRIT, HOST, GObject)

SpiritHost *spirit_host_new (SpiritAuth *auth,
                             SpiritObjectTree *tree,
                             const char *name,
                             const char *uri);
void spirit_host_start (SpiritHost *self);

const char *spirit_host_get_name (SpiritHost *self);
const char *spirit_host_get_uri (SpiritHost *self);
/* TRUE once the connection is open and its VMs listed; notify::connected follows it. */
gboolean spirit_host_is_connected (SpiritHost *self);

/* Appends the SpiritVm objects whose name or UUID is name_or_uuid. */
void spirit_host_find_vms (SpiritHost *self, const char *name_or_uuid, GPtrArray *matches);
/* The VM object at object_path, or NULL. */
SpiritVm *spirit_host_find_vm_by_path (SpiritHost *self, const char *object_path);
/* Appends the names of all VMs (borrowed strings). */
void spirit_host_collect_names (SpiritHost *self, GPtrArray *names);

/* For calls that define domains (Manager.DefineVM): run func on this host's worker threads. */
void spirit_host_run_on_worker (SpiritHost *self, GTask *task, GTaskThreadFunc func);
/* The open connection, or NULL while it is down. */
GVirConnection *spirit_host_get_gvir (SpiritHost *self);
/* Publishes the object of a domain Spirit just defined, unless its event did first; returns it. */
SpiritVm *spirit_host_add_defined (SpiritHost *self, GVirDomain *domain, const SpiritVmInfo *info);

G_END_DECLS
