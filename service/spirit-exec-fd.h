/* spirit-exec-fd.h: non-blocking I/O on a file descriptor a D-Bus caller handed over.
 *
 * The caller's fd shares its open file description with the caller (spiritctl's own stdout, a
 * terminal): setting O_NONBLOCK on it would change it under the caller too. So pipes are reopened
 * through /proc/self/fd (a description of our own, non-blocking), sockets use MSG_DONTWAIT, and
 * anything else is only touched after poll() said it is ready, a pipe-buffer's worth at a time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SpiritExecFd SpiritExecFd;

/* Takes ownership of fd. for_writing: the job writes output to it; otherwise reads stdin. */
SpiritExecFd *spirit_exec_fd_new (int fd, gboolean for_writing);
void spirit_exec_fd_free (SpiritExecFd *efd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritExecFd, spirit_exec_fd_free)

/* > 0: bytes done; 0: end of file (read) ; -EAGAIN: not now, watch it; other -errno: broken. */
gssize spirit_exec_fd_read (SpiritExecFd *efd, void *buf, gsize len);
gssize spirit_exec_fd_write (SpiritExecFd *efd, const void *buf, gsize len);

/* A main-loop source that fires when the fd is ready for what it is for. */
guint spirit_exec_fd_watch (SpiritExecFd *efd, GSourceFunc func, gpointer user_data);

G_END_DECLS
