/* spiritctl-vm.h: the "vm" command family of spiritctl. */
#pragma once

#include "spiritctl-client.h"

G_BEGIN_DECLS

typedef struct
{
  guint timeout;    /* vm stop --timeout */
  const char *host; /* vm list --host: only this host's VMs */
} SpiritctlVmOptions;

int spiritctl_vm_command (SpiritctlClient *client,
                          const SpiritctlVmOptions *options,
                          int argc,
                          char **argv);
gboolean spiritctl_parse_size_kib (const char *text, guint64 *kib);
int spiritctl_status_command (SpiritctlClient *client);

G_END_DECLS
