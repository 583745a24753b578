/* spirit-proxy-target-table.h: the table of targets a line may name, as spiritctl and the HUD
 * build it: the aliases of targets.conf (spirit-proxy-aliases.h), then every VM the service
 * knows under its name and as HOST/NAME, each with the OS its agent reported (GuestOS).
 */
#pragma once

#include "spirit-dbus-generated.h"
#include "spirit-proxy-targets.h"

G_BEGIN_DECLS

/* vms: SpiritDBusVm* (proxies), may be empty. Fails only on a bad targets.conf. */
SpiritProxyTargets *spirit_proxy_targets_new_for_vms (GPtrArray *vms, GError **error);

G_END_DECLS
