/* spirit-agent-port.h: the agent's end of the spirit.0 channel, as a bounded frame queue.
 *
 * Reads are handed up as raw bytes (the session owns the decoder). Writes are whole frames,
 * queued and written when the port is writable. The queue is what carries back-pressure from the
 * channel to the children: producers of bulk data ask can_send_bulk() before reading a child's
 * pipe, and are told (drained) when the queue has room again.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bulk data stops above the high mark and resumes below the low one. Control messages (exit,
 * errors, credits) are always queued: they are small and bounded by the number of jobs. */
#define SPIRIT_PORT_HIGH_WATER (1024 * 1024)
#define SPIRIT_PORT_LOW_WATER (256 * 1024)

typedef struct _SpiritAgentPort SpiritAgentPort;

typedef struct
{
  void (*connected) (gpointer user_data);    /* a host is there: a new byte stream starts */
  void (*disconnected) (gpointer user_data); /* the host went away (EOF, hang-up, write error) */
  void (*data) (const guint8 *data, gsize len, gpointer user_data);
  void (*drained) (gpointer user_data); /* the queue fell below the low mark */
} SpiritAgentPortCallbacks;

/* A virtio-serial port: survives the host disconnecting and reconnecting, any number of times. */
SpiritAgentPort *spirit_agent_port_open (const char *path, GError **error);
/* A pair of pipes or a socket (--stdio, for tests): EOF is final. */
SpiritAgentPort *spirit_agent_port_new_stdio (int in_fd, int out_fd);
void spirit_agent_port_free (SpiritAgentPort *port);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritAgentPort, spirit_agent_port_free)

void spirit_agent_port_start (SpiritAgentPort *port,
                              const SpiritAgentPortCallbacks *callbacks,
                              gpointer user_data);

void spirit_agent_port_send (SpiritAgentPort *port, GBytes *frame);
gboolean spirit_agent_port_can_send_bulk (SpiritAgentPort *port);
gsize spirit_agent_port_get_queued (SpiritAgentPort *port);
/* Drops every queued frame (the session they belonged to is over). */
void spirit_agent_port_discard_queue (SpiritAgentPort *port);
gboolean spirit_agent_port_is_connected (SpiritAgentPort *port);

G_END_DECLS
