/* spirit-exec-fd.c: reading and writing a caller's fd without blocking the main loop. */
#define G_LOG_DOMAIN "spirit-exec-fd"

#include "spirit-exec-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* What poll() readiness guarantees for a pipe without O_NONBLOCK (PIPE_BUF). */
#define POLLED_CHUNK 4096

typedef enum
{
  FD_NONBLOCKING, /* our own non-blocking description (a reopened pipe) */
  FD_SOCKET,      /* MSG_DONTWAIT */
  FD_FILE,        /* a regular file: never blocks */
  FD_POLLED,      /* poll() first, then a small operation */
} FdKind;

struct _SpiritExecFd
{
  int fd;
  FdKind kind;
  gboolean for_writing;
};

SpiritExecFd *
spirit_exec_fd_new (int fd, gboolean for_writing)
{
  SpiritExecFd *efd = g_new0 (SpiritExecFd, 1);
  struct stat st;

  efd->fd = fd;
  efd->for_writing = for_writing;
  efd->kind = FD_POLLED;
  if (fstat (fd, &st) < 0)
    return efd;
  if (S_ISSOCK (st.st_mode))
    efd->kind = FD_SOCKET;
  else if (S_ISREG (st.st_mode))
    efd->kind = FD_FILE;
  else if (S_ISFIFO (st.st_mode))
    {
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", fd);
      int own = open (proc, (for_writing ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);

      if (own >= 0)
        {
          close (fd);
          efd->fd = own;
          efd->kind = FD_NONBLOCKING;
        }
    }
  return efd;
}

void
spirit_exec_fd_free (SpiritExecFd *efd)
{
  if (efd == NULL)
    return;
  if (efd->fd >= 0)
    close (efd->fd);
  g_free (efd);
}

static gboolean
fd_ready (int fd, short events)
{
  struct pollfd pfd = { fd, events, 0 };

  return poll (&pfd, 1, 0) > 0;
}

gssize
spirit_exec_fd_read (SpiritExecFd *efd, void *buf, gsize len)
{
  gssize n;

  switch (efd->kind)
    {
    case FD_SOCKET:
      n = recv (efd->fd, buf, len, MSG_DONTWAIT);
      break;
    case FD_POLLED:
      if (!fd_ready (efd->fd, POLLIN))
        return -EAGAIN;
      n = read (efd->fd, buf, MIN (len, (gsize)POLLED_CHUNK));
      break;
    default:
      n = read (efd->fd, buf, len);
      break;
    }
  if (n < 0)
    return errno == EINTR || errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return n;
}

gssize
spirit_exec_fd_write (SpiritExecFd *efd, const void *buf, gsize len)
{
  gssize n;

  switch (efd->kind)
    {
    case FD_SOCKET:
      n = send (efd->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      break;
    case FD_POLLED:
      if (!fd_ready (efd->fd, POLLOUT))
        return -EAGAIN;
      n = write (efd->fd, buf, MIN (len, (gsize)POLLED_CHUNK));
      break;
    default:
      n = write (efd->fd, buf, len);
      break;
    }
  if (n < 0)
    return errno == EINTR || errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return n;
}

static gboolean
on_fd_ready (int fd, GIOCondition condition, gpointer user_data)
{
  GSourceFunc func = ((gpointer *)user_data)[0];

  return func (((gpointer *)user_data)[1]);
}

guint
spirit_exec_fd_watch (SpiritExecFd *efd, GSourceFunc func, gpointer user_data)
{
  gpointer *closure = g_new (gpointer, 2);

  closure[0] = func;
  closure[1] = user_data;
  return g_unix_fd_add_full (G_PRIORITY_DEFAULT, efd->fd,
                             (efd->for_writing ? G_IO_OUT : G_IO_IN) | G_IO_HUP | G_IO_ERR,
                             on_fd_ready, closure, g_free);
}
