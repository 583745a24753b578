/* spirit-proxy.h: org.crom.Spirit.Proxy on /org/crom/Spirit: commands in guests.
 *
 * Exec() authorizes (org.crom.Spirit.vm.exec), checks the VM is running, and starts a job on the
 * VM's agent; Cancel() signals a job of the same caller; JobExited goes to that caller only.
 * Jobs of a caller that leaves the bus are killed.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-auth.h"
#include "spirit-vm.h"

G_BEGIN_DECLS

typedef SpiritVm *(*SpiritProxyLookupVm) (const char *object_path, gpointer user_data);

typedef struct _SpiritProxy SpiritProxy;

SpiritProxy *spirit_proxy_new (SpiritAuth *auth, SpiritProxyLookupVm lookup, gpointer lookup_data);
void spirit_proxy_free (SpiritProxy *proxy);
GDBusInterfaceSkeleton *spirit_proxy_get_skeleton (SpiritProxy *proxy);

G_END_DECLS
