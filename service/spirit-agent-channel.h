/* spirit-agent-channel.h: the guest agents' virtio-serial channels in a domain's XML.
 *
 * Spirit gives every VM it starts on a local host the channel
 *   <channel type='unix'><source mode='bind'/><target type='virtio' name='spirit.0'/></channel>
 * with no path: libvirt then picks the socket in its own per-domain channel directory (owned and
 * labelled for that domain's QEMU, whoever starts it), and spiritd reads the live XML to find it.
 * Blocking libvirt calls: worker threads only.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

#define SPIRIT_AGENT_CHANNEL_NAME "spirit.0"
#define SPIRIT_QEMU_GA_CHANNEL_NAME "org.qemu.guest_agent.0"

typedef struct
{
  char *spirit_socket;  /* the live spirit.0 unix socket path, or NULL */
  gboolean has_qemu_ga; /* an org.qemu.guest_agent.0 channel exists */
} SpiritAgentChannels;

void spirit_agent_channels_clear (SpiritAgentChannels *channels);

/* Parses a domain XML (live: with the paths libvirt assigned). */
gboolean spirit_agent_channels_parse (const char *xml, SpiritAgentChannels *out, GError **error);

/* Reads the running domain's XML. */
gboolean
spirit_agent_channels_read_live (virDomainPtr domain, SpiritAgentChannels *out, GError **error);

/* Adds the spirit.0 channel to the persistent definition if it has none. *added tells whether it
 * did. A transient domain is left alone (its definition goes away with it). */
gboolean spirit_agent_channel_ensure (virDomainPtr domain, gboolean *added, GError **error);

/* Whether the libvirt URI is one whose channel sockets this process can reach. */
gboolean spirit_agent_channel_uri_is_local (const char *uri);

G_END_DECLS
