/* spirit-agent-port.c: reading, queued writing and host (dis)connection of the spirit.0 port.
 *
 * States of a virtio port: connected (read watch on, write watch while the queue is non-empty)
 * and waiting (no fd watch at all, since the port polls as hung-up while no host is there; the
 * platform's host-change notification wakes us). A read of 0 bytes or a hang-up means the host
 * left; the session is told, the queue is dropped, and we wait for the next host.
 */
#define G_LOG_DOMAIN "spirit-agent"

#include "spirit-agent-port.h"
#include "spirit-agent-platform.h"

#include <gio/gio.h>
#include <string.h>

#define READ_CHUNK (64 * 1024)

struct _SpiritAgentPort
{
  int in_fd;
  int out_fd;
  gboolean virtio; /* reconnects; FALSE: stdio, EOF is final */
  gboolean connected;

  guint read_watch;
  guint write_watch;
  guint host_watch;

  GQueue queue; /* GBytes frames */
  gsize queued; /* bytes not yet written */
  gsize head_offset;
  gboolean above_low;

  SpiritAgentPortCallbacks cb;
  gpointer user_data;
  guint8 buf[READ_CHUNK];
  guint8 coalesce[32 * 1024]; /* a virtio port takes at most 32 KiB per write */
};

static gboolean on_readable (int fd, GIOCondition condition, gpointer data);
static gboolean on_writable (int fd, GIOCondition condition, gpointer data);

static SpiritAgentPort *
port_new (int in_fd, int out_fd, gboolean virtio)
{
  SpiritAgentPort *port = g_new0 (SpiritAgentPort, 1);

  port->in_fd = in_fd;
  port->out_fd = out_fd;
  port->virtio = virtio;
  g_queue_init (&port->queue);
  return port;
}

SpiritAgentPort *
spirit_agent_port_open (const char *path, GError **error)
{
  int fd;

  if (!spirit_platform_port_open (path, &fd, error))
    return NULL;
  return port_new (fd, fd, TRUE);
}

SpiritAgentPort *
spirit_agent_port_new_stdio (int in_fd, int out_fd)
{
  spirit_platform_set_nonblocking (in_fd);
  spirit_platform_set_nonblocking (out_fd);
  return port_new (in_fd, out_fd, FALSE);
}

static void
clear_watch (guint *id)
{
  if (*id != 0)
    g_source_remove (*id);
  *id = 0;
}

void
spirit_agent_port_discard_queue (SpiritAgentPort *port)
{
  g_queue_clear_full (&port->queue, (GDestroyNotify)g_bytes_unref);
  port->queued = 0;
  port->head_offset = 0;
  clear_watch (&port->write_watch);
}

void
spirit_agent_port_free (SpiritAgentPort *port)
{
  if (port == NULL)
    return;
  clear_watch (&port->read_watch);
  clear_watch (&port->host_watch);
  spirit_agent_port_discard_queue (port);
  if (port->in_fd != port->out_fd)
    spirit_platform_close (port->out_fd);
  spirit_platform_close (port->in_fd);
  g_free (port);
}

static void
set_connected (SpiritAgentPort *port)
{
  port->connected = TRUE;
  port->read_watch
    = spirit_platform_watch_fd (port->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, port);
  g_debug ("host connected");
  port->cb.connected (port->user_data);
}

static void
set_disconnected (SpiritAgentPort *port)
{
  if (!port->connected)
    return;
  port->connected = FALSE;
  clear_watch (&port->read_watch);
  spirit_agent_port_discard_queue (port);
  g_debug ("host disconnected");
  port->cb.disconnected (port->user_data);
  /* It may already be back: the notification for that could have come before we stopped. */
  if (port->virtio && spirit_platform_port_host_connected (port->in_fd))
    set_connected (port);
}

static gboolean
on_host_changed (gpointer data)
{
  SpiritAgentPort *port = data;

  if (!port->connected && spirit_platform_port_host_connected (port->in_fd))
    set_connected (port);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer data)
{
  SpiritAgentPort *port = data;
  g_autoptr (GError) error = NULL;
  gssize n = spirit_platform_read (port->in_fd, port->buf, sizeof port->buf, &error);

  if (n > 0)
    {
      port->cb.data (port->buf, n, port->user_data);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n < 0)
    g_message ("port: %s", error->message);
  /* EOF: the host left. The watch is removed by set_disconnected(). */
  port->read_watch = 0;
  set_disconnected (port);
  return G_SOURCE_REMOVE;
}

static void
maybe_drained (SpiritAgentPort *port)
{
  if (port->above_low && port->queued < SPIRIT_PORT_LOW_WATER)
    {
      port->above_low = FALSE;
      port->cb.drained (port->user_data);
    }
}

/* Marks n bytes of the queue as written. */
static void
advance (SpiritAgentPort *port, gsize n)
{
  port->queued -= n;
  while (n > 0)
    {
      GBytes *head = g_queue_peek_head (&port->queue);
      gsize left = g_bytes_get_size (head) - port->head_offset;

      if (n < left)
        {
          port->head_offset += n;
          return;
        }
      n -= left;
      g_bytes_unref (g_queue_pop_head (&port->queue));
      port->head_offset = 0;
    }
}

/* The next bytes to write: the head frame as is, or, when it is small, it and the frames after
 * it copied together, because every write() to a virtio port is a buffer on the virtqueue and a
 * trip through QEMU: four small frames (EOF, EOF, exit, credit) cost one trip, not four. */
static const guint8 *
next_chunk (SpiritAgentPort *port, gsize *len)
{
  GList *l = port->queue.head;
  gsize size;
  const guint8 *p = g_bytes_get_data (l->data, &size);

  *len = size - port->head_offset;
  if (*len >= sizeof port->coalesce || l->next == NULL)
    return p + port->head_offset;
  memcpy (port->coalesce, p + port->head_offset, *len);
  for (l = l->next; l != NULL; l = l->next)
    {
      p = g_bytes_get_data (l->data, &size);
      if (*len + size > sizeof port->coalesce)
        break;
      memcpy (port->coalesce + *len, p, size);
      *len += size;
    }
  return port->coalesce;
}

static gboolean
on_writable (int fd, GIOCondition condition, gpointer data)
{
  SpiritAgentPort *port = data;

  while (!g_queue_is_empty (&port->queue))
    {
      g_autoptr (GError) error = NULL;
      gsize len;
      const guint8 *p = next_chunk (port, &len);
      gssize n = spirit_platform_write (port->out_fd, p, len, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (condition & (G_IO_HUP | G_IO_ERR))
            {
              /* A hung-up port never becomes writable; the read side sees the hang-up too. */
              port->write_watch = 0;
              maybe_drained (port);
              return G_SOURCE_REMOVE;
            }
          break;
        }
      if (n < 0)
        {
          g_message ("port: %s", error->message);
          port->write_watch = 0;
          set_disconnected (port);
          return G_SOURCE_REMOVE;
        }
      advance (port, n);
    }
  maybe_drained (port);
  if (g_queue_is_empty (&port->queue))
    {
      port->write_watch = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

void
spirit_agent_port_send (SpiritAgentPort *port, GBytes *frame)
{
  if (!port->connected)
    return;
  g_queue_push_tail (&port->queue, g_bytes_ref (frame));
  port->queued += g_bytes_get_size (frame);
  if (port->queued >= SPIRIT_PORT_HIGH_WATER)
    port->above_low = TRUE;
  if (port->write_watch == 0)
    port->write_watch
      = spirit_platform_watch_fd (port->out_fd, G_IO_OUT | G_IO_HUP | G_IO_ERR, on_writable, port);
}

gboolean
spirit_agent_port_can_send_bulk (SpiritAgentPort *port)
{
  if (port->queued >= SPIRIT_PORT_HIGH_WATER)
    port->above_low = TRUE;
  return port->connected && port->queued < SPIRIT_PORT_HIGH_WATER;
}

gsize
spirit_agent_port_get_queued (SpiritAgentPort *port)
{
  return port->queued;
}

gboolean
spirit_agent_port_is_connected (SpiritAgentPort *port)
{
  return port->connected;
}

void
spirit_agent_port_start (SpiritAgentPort *port,
                         const SpiritAgentPortCallbacks *callbacks,
                         gpointer user_data)
{
  port->cb = *callbacks;
  port->user_data = user_data;
  if (port->virtio)
    port->host_watch = spirit_platform_port_watch_host (port->in_fd, on_host_changed, port);
  /* Assume a host and read: a virtio port without one answers EOF at once, and we wait. */
  set_connected (port);
}
