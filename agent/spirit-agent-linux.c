/* spirit-agent-linux.c: spirit-agent's platform layer for Linux guests.
 *
 * The virtio-serial port reports POLLHUP (and reads return 0) for as long as no host is connected,
 * so polling it then would spin. Instead the port is put in O_ASYNC mode: the virtio_console
 * driver sends the owner a signal on every host connect/disconnect (and on data arrival), which
 * F_SETSIG turns into SIGUSR1 so that GLib's g_unix_signal_add() can deliver it to the main loop.
 */
#define G_LOG_DOMAIN "spirit-agent"
#define _GNU_SOURCE

#include "spirit-agent-platform.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

void
spirit_platform_init (void)
{
  /* A child that closes its stdin must not kill the agent: writes then fail with EPIPE. */
  signal (SIGPIPE, SIG_IGN);
}

void
spirit_platform_watch_terminate (GSourceFunc func, gpointer data)
{
  g_unix_signal_add (SIGTERM, func, data);
  g_unix_signal_add (SIGINT, func, data);
}

const char *
spirit_platform_default_port (void)
{
  return "/dev/virtio-ports/spirit.0";
}

const char *
spirit_platform_os_name (void)
{
  return "linux";
}

gchar *
spirit_platform_kernel_release (void)
{
  struct utsname u;

  if (uname (&u) != 0)
    return g_strdup ("unknown");
  return g_strdup (u.release);
}

gchar **
spirit_platform_shell_argv (const char *line)
{
  return g_strdupv ((gchar *[]){ "/bin/sh", "-c", (gchar *)line, NULL });
}

gboolean
spirit_platform_port_open (const char *path, int *fd_out, GError **error)
{
  int fd = open (path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  int saved;

  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot open %s: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  /* Host connect/disconnect notifications (see the header comment). Not every file supports
   * O_ASYNC; a port that does not simply never signals. */
  if (fcntl (fd, F_SETOWN, getpid ()) != 0 || fcntl (fd, F_SETSIG, SIGUSR1) != 0
      || fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_ASYNC) != 0)
    g_warning ("%s: no O_ASYNC notifications (%s); reconnects will not be noticed", path,
               g_strerror (errno));
  *fd_out = fd;
  return TRUE;
}

gboolean
spirit_platform_port_host_connected (int fd)
{
  struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

  if (poll (&p, 1, 0) < 0)
    return FALSE;
  return (p.revents & (POLLHUP | POLLERR | POLLNVAL)) == 0;
}

guint
spirit_platform_port_watch_host (int fd, GSourceFunc changed, gpointer user_data)
{
  return g_unix_signal_add (SIGUSR1, changed, user_data);
}

guint
spirit_platform_watch_fd (int fd, GIOCondition condition, SpiritFdFunc func, gpointer data)
{
  return g_unix_fd_add (fd, condition, func, data);
}

static gssize
io_result (gssize n, const char *what, GError **error)
{
  int saved = errno;

  if (n >= 0)
    return n;
  if (saved == EAGAIN || saved == EWOULDBLOCK)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "would block");
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", what,
                 g_strerror (saved));
  return -1;
}

gssize
spirit_platform_read (int fd, void *buf, gsize len, GError **error)
{
  gssize n;

  do
    n = read (fd, buf, len);
  while (n < 0 && errno == EINTR);
  return io_result (n, "read", error);
}

gssize
spirit_platform_write (int fd, const void *buf, gsize len, GError **error)
{
  gssize n;

  do
    n = write (fd, buf, len);
  while (n < 0 && errno == EINTR);
  return io_result (n, "write", error);
}

void
spirit_platform_set_nonblocking (int fd)
{
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
}

void
spirit_platform_close (int fd)
{
  if (fd >= 0)
    g_close (fd, NULL);
}

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void
child_setup (gpointer data)
{
  sigset_t all;

  setsid ();
  signal (SIGPIPE, SIG_DFL);
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
}

gboolean
spirit_platform_spawn (gchar **argv,
                       gchar **envp,
                       const char *cwd,
                       gboolean stdin_pipe,
                       SpiritChild *out,
                       GError **error)
{
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH
                      | G_SPAWN_SEARCH_PATH_FROM_ENVP | G_SPAWN_CLOEXEC_PIPES;

  out->stdin_fd = -1;
  if (!stdin_pipe)
    flags |= G_SPAWN_STDIN_FROM_DEV_NULL;
  if (!g_spawn_async_with_pipes_and_fds (
        cwd, (const gchar *const *)argv, (const gchar *const *)envp, flags, child_setup, NULL, -1,
        -1, -1, NULL, NULL, 0, &out->pid, stdin_pipe ? &out->stdin_fd : NULL, &out->stdout_fd,
        &out->stderr_fd, error))
    return FALSE;
  if (out->stdin_fd >= 0)
    spirit_platform_set_nonblocking (out->stdin_fd);
  spirit_platform_set_nonblocking (out->stdout_fd);
  spirit_platform_set_nonblocking (out->stderr_fd);
  return TRUE;
}

gboolean
spirit_platform_kill (GPid pid, const char *signal_name, GError **error)
{
  int sig = spirit_signal_number_from_name (signal_name);
  int saved;

  if (sig == 0)
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_INVALID, "unknown signal %s",
                   signal_name);
      return FALSE;
    }
  /* The child is a session (and group) leader: its pid is the group id. */
  if (kill (-pid, sig) == 0 || errno == ESRCH)
    return TRUE;
  saved = errno;
  g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_FAILED, "kill -%s %d: %s",
               signal_name, pid, g_strerror (saved));
  return FALSE;
}

void
spirit_platform_describe_exit (gint wait_status, SpiritMessage *exit_msg)
{
  const char *name = NULL;

  if (WIFSIGNALED (wait_status))
    name = spirit_signal_name_from_number (WTERMSIG (wait_status));
  if (name != NULL)
    {
      exit_msg->signal_name = g_strdup (name);
      exit_msg->signal_number = WTERMSIG (wait_status);
      exit_msg->core_dumped = WCOREDUMP (wait_status) != 0;
    }
  else if (WIFSIGNALED (wait_status))
    exit_msg->exit_code = 128 + WTERMSIG (wait_status); /* a real-time signal: no name */
  else
    exit_msg->exit_code = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 255;
}
