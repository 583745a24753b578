/* spirit-config.h: spiritd's configuration file, /etc/spirit/spirit.conf (a GKeyFile).
 *
 *   [host local]
 *   uri=qemu:///system
 *
 *   [host lab]
 *   uri=qemu+ssh://admin@lab.example/system
 *
 * Each [host NAME] group is one libvirt connection. Without any, there is one host, "local",
 * on --uri or qemu:///system. --uri always sets the URI of "local".
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SPIRIT_LOCAL_HOST "local"
#define SPIRIT_DEFAULT_URI "qemu:///system"
#define SPIRIT_HOST_NAME_MAX 64

typedef struct
{
  char *name;
  char *uri;
} SpiritHostSpec;

typedef struct
{
  GPtrArray *hosts; /* SpiritHostSpec*, in file order */
} SpiritConfig;

/* path may not exist (then only the defaults apply); uri_override may be NULL. */
SpiritConfig *spirit_config_load (const char *path, const char *uri_override, GError **error);
SpiritConfig *spirit_config_load_from_data (const char *data, const char *uri_override, GError **error);
void spirit_config_free (SpiritConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritConfig, spirit_config_free)

gboolean spirit_host_name_is_valid (const char *name);

G_END_DECLS
