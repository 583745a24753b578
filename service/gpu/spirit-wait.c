/* spirit-wait.c: the deadline loop behind every step of the swap.
 *
 * The event sources are opened before the first check, so an event that lands between the check
 * and the poll() is not lost. Every wake-up re-reads the real state; events are only a reason to
 * look again, never taken as the state itself.
 */
#define G_LOG_DOMAIN "spirit-wait"

#include "spirit-wait.h"
#include "spirit-gpu-error.h"
#include "spirit-sysfs.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECHECK_FIRST_MS 1
#define RECHECK_MAX_MS 50

gint64
spirit_wait_deadline_after_ms (guint timeout_ms)
{
  return g_get_monotonic_time () + (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
}

/* Kernel uevents (group 1) and, where udevd runs, its re-broadcast after processing (group 2). */
static int
open_uevent_socket (void)
{
  struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 | 2 };
  int fd;

  if (!spirit_sysfs_is_real ())
    return -1; /* a test tree has no kernel behind it */
  fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
  if (fd < 0)
    {
      g_debug ("No uevent socket (%s); inotify and re-checks only", g_strerror (errno));
      return -1;
    }
  if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    {
      addr.nl_groups = 1;
      if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        {
          g_debug ("Could not bind the uevent socket: %s", g_strerror (errno));
          close (fd);
          return -1;
        }
    }
  return fd;
}

/* Watches DIR, or its nearest existing parent when it does not exist yet (/dev/vfio before the
 * vfio module is loaded): the parent's IN_CREATE wakes us when it appears. */
static void
add_watch (int fd, const char *dir)
{
  g_autofree char *path = spirit_sysfs_path (dir);
  const char *root = spirit_sysfs_get_root ();
  guint32 mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB | IN_CLOSE_WRITE
                 | IN_DELETE_SELF | IN_ONLYDIR;

  while (inotify_add_watch (fd, path, mask) < 0)
    {
      char *slash = strrchr (path, '/');

      if (slash == NULL || slash == path || strlen (path) <= strlen (root) + 1)
        return;
      *slash = '\0';
    }
}

static void
drain (int fd)
{
  char buffer[8192];

  while (read (fd, buffer, sizeof buffer) > 0)
    ;
}

gboolean
spirit_wait_until (const char *what,
                   const char *const *watch_dirs,
                   gint64 deadline,
                   SpiritWaitCheck check,
                   gpointer user_data,
                   GCancellable *cancellable,
                   GError **error)
{
  gint64 start = g_get_monotonic_time ();
  int uevent_fd = open_uevent_socket ();
  int inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  int recheck_ms = RECHECK_FIRST_MS;
  guint wakeups = 0;
  gboolean result = FALSE;
  GPollFD cancel_fd = { .fd = -1 };
  gboolean have_cancel_fd;

  have_cancel_fd = g_cancellable_make_pollfd (cancellable, &cancel_fd);
  for (guint i = 0; inotify_fd >= 0 && watch_dirs != NULL && watch_dirs[i] != NULL; i++)
    add_watch (inotify_fd, watch_dirs[i]);

  for (;;)
    {
      g_autoptr (GError) local = NULL;
      struct pollfd fds[3];
      nfds_t n = 0;
      gint64 now, remaining_ms;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        break;
      if (check (user_data, &local))
        {
          result = TRUE;
          break;
        }
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          break;
        }
      now = g_get_monotonic_time ();
      if (now >= deadline)
        {
          g_set_error (error, SPIRIT_GPU_ERROR, SPIRIT_GPU_ERROR_TIMEOUT,
                       "Timed out after %.2f s waiting for %s",
                       (now - start) / (double)G_USEC_PER_SEC, what);
          break;
        }
      remaining_ms = (deadline - now + 999) / 1000;

      if (uevent_fd >= 0)
        fds[n++] = (struct pollfd){ .fd = uevent_fd, .events = POLLIN };
      if (inotify_fd >= 0)
        fds[n++] = (struct pollfd){ .fd = inotify_fd, .events = POLLIN };
      if (have_cancel_fd)
        fds[n++] = (struct pollfd){ .fd = cancel_fd.fd, .events = POLLIN };
      if (poll (fds, n, (int)MIN (remaining_ms, recheck_ms)) > 0)
        wakeups++;
      else
        recheck_ms = MIN (recheck_ms * 2, RECHECK_MAX_MS);
      if (uevent_fd >= 0)
        drain (uevent_fd);
      if (inotify_fd >= 0)
        drain (inotify_fd);
    }

  g_debug ("Waited %.1f ms for %s (%u wake-ups): %s", (g_get_monotonic_time () - start) / 1000.0,
           what, wakeups, result ? "reached" : "failed");
  if (have_cancel_fd)
    g_cancellable_release_fd (cancellable);
  if (uevent_fd >= 0)
    close (uevent_fd);
  if (inotify_fd >= 0)
    close (inotify_fd);
  return result;
}
