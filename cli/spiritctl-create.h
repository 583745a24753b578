/* spiritctl-create.h: "vm create", "vm retune", "profiles" and "host hugepages".
 *
 * "vm create" and "vm retune" take options of their own (--memory, --cpus, …), which the main
 * option parser must not see: spiritctl_create_split() cuts them off argv before it runs.
 */
#pragma once

#include "spiritctl-client.h"

G_BEGIN_DECLS

/* Finds "vm create", "vm retune" or "host" in argv; returns its index and shortens *argc to it,
 * or returns 0 when there is none. */
int spiritctl_create_split (int *argc, char **argv);
/* argv starts at "vm" or "host", as spiritctl_create_split() found it. */
int spiritctl_create_command (SpiritctlClient *client, int argc, char **argv);
int spiritctl_profiles_command (SpiritctlClient *client);

G_END_DECLS
