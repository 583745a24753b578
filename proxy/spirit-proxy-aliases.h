/* spirit-proxy-aliases.h: target aliases from configuration ("windows" → "Windows-Spirit").
 *
 * A key file, one group per alias (docs/proxy-syntax.md, "Aliases"):
 *
 *   [windows]
 *   vm=Windows-Spirit
 *   os=windows          # windows or posix; optional
 *
 * Read from /etc/spirit/targets.conf, then $XDG_CONFIG_HOME/spirit/targets.conf, whose
 * aliases win. Aliases are the client's: spiritd never reads them.
 */
#pragma once

#include "spirit-proxy-targets.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;
  char *vm;
  SpiritTargetOs os;
} SpiritProxyAlias;

void spirit_proxy_alias_free (SpiritProxyAlias *alias);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritProxyAlias, spirit_proxy_alias_free)

/* The aliases of one file, in file order. A missing file is an empty list; a bad one an error
 * that names the file and the group. */
GPtrArray *spirit_proxy_aliases_load_file (const char *path, GError **error);

/* The system file, then the user's (overriding by name). Bad files are an error. */
GPtrArray *spirit_proxy_aliases_load_default (GError **error);

/* "windows", "posix", "linux" (= posix); FALSE for anything else. */
gboolean spirit_target_os_from_string (const char *text, SpiritTargetOs *out_os);

G_END_DECLS
