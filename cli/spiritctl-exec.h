/* spiritctl-exec.h: "spiritctl exec": run a command in a guest (org.crom.Spirit.Proxy). */
#pragma once

#include "spiritctl-client.h"

G_BEGIN_DECLS

/* argv[0] is "exec"; exec's own options are parsed here. Returns the exit status. */
int spiritctl_exec_command (SpiritctlClient *client, int argc, char **argv);

G_END_DECLS
