/* spirit-manager-define.h: the Manager methods that make VMs and look at what they need.
 *
 * DefineVM (and its dry run), ListProfiles, GetHugePages and ReserveHugePages: a request is
 * checked and built by libspirit_profiles (spirit_vm_plan) on the host's worker thread, defined
 * there, and the new VM object is published before the reply.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-auth.h"
#include "spirit-dbus-generated.h"

G_BEGIN_DECLS

/* hosts: the manager's SpiritHost* array, first host first; a reference is kept. */
void spirit_manager_define_connect (SpiritDBusManager *iface, SpiritAuth *auth, GPtrArray *hosts);

G_END_DECLS
