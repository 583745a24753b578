/* spirit-proxy-targets.h: the names an @target may use, and the OS behind each.
 *
 * The caller (spiritctl, the HUD) fills a table from the configuration and the VM list: each
 * VM under its own name, and each alias ("windows" → "Windows-Spirit"). The parser resolves
 * `@windows` through it, reads a Windows target's words with the Windows backslash rule, and
 * lists the table's names when a target is unknown. "spirit" (the host) and "docker" are built
 * in and cannot be added.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SPIRIT_TARGET_OS_UNKNOWN, /* read with the POSIX rules */
  SPIRIT_TARGET_OS_POSIX,
  SPIRIT_TARGET_OS_WINDOWS, /* backslashes in its words are kept */
} SpiritTargetOs;

typedef struct _SpiritProxyTargets SpiritProxyTargets;

SpiritProxyTargets *spirit_proxy_targets_new (void);
SpiritProxyTargets *spirit_proxy_targets_ref (SpiritProxyTargets *self);
void spirit_proxy_targets_unref (SpiritProxyTargets *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritProxyTargets, spirit_proxy_targets_unref)

/* name: what follows '@' (a VM name or an alias); vm: the VM it stands for. */
gboolean spirit_proxy_targets_add (
  SpiritProxyTargets *self, const char *name, const char *vm, SpiritTargetOs os, GError **error);

/* An exact match first, then a case-insensitive one if it is unique. */
gboolean spirit_proxy_targets_lookup (SpiritProxyTargets *self,
                                      const char *name,
                                      const char **out_vm,
                                      SpiritTargetOs *out_os);

/* "spirit", "docker", then the added names in order: for completion. */
GStrv spirit_proxy_targets_list_names (SpiritProxyTargets *self);

/* "@spirit, @docker, @linux, @windows": for error messages. self may be NULL. */
char *spirit_proxy_targets_describe (SpiritProxyTargets *self);

/* Letters, digits, and - _ . + / (for HOST/NAME), at most 255 bytes. */
gboolean spirit_proxy_target_name_char_is_valid (gunichar c);
gboolean spirit_proxy_target_name_is_valid (const char *name);

G_END_DECLS
