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
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPIRIT_PIPE_SIZE (1024 * 1024)

void
spirit_platform_init (void)
{
  g_autoptr (GDir) fds = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  /* A child that closes its stdin must not kill the agent: writes then fail with EPIPE. */
  signal (SIGPIPE, SIG_IGN);
  /* Output frames are up to 256 KiB and short-lived. glibc would mmap and munmap each one (page
   * faults and TLB flushes, which an emulated guest pays dearly for); keep them on the heap. */
  mallopt (M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt (M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  /* Commands start with posix_spawn, which closes only close-on-exec descriptors: make sure
   * nothing the agent inherited beyond stdin/stdout/stderr leaks into them. */
  while (fds != NULL && (name = g_dir_read_name (fds)) != NULL)
    {
      int fd = atoi (name);
      if (fd > 2)
        fcntl (fd, F_SETFD, fcntl (fd, F_GETFD) | FD_CLOEXEC);
    }
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

gssize
spirit_platform_pipe_available (int fd)
{
  int n = 0;

  if (ioctl (fd, FIONREAD, &n) != 0)
    return -1;
  return n;
}

void
spirit_platform_close (int fd)
{
  if (fd >= 0)
    g_close (fd, NULL);
}

/* argv[0] as the child's PATH (or the agent's, or a default) resolves it. Done here, in the
 * parent, so that the child can be started with posix_spawn (vfork + exec): under emulation a
 * fork() of the agent and failed execs along PATH cost tens of milliseconds per command. */
static gchar *
resolve_program (const char *name, gchar **envp)
{
  const char *path = g_environ_getenv (envp, "PATH");
  g_auto (GStrv) dirs = NULL;

  if (strchr (name, '/') != NULL)
    return g_strdup (name);
  if (path == NULL)
    path = g_getenv ("PATH");
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  dirs = g_strsplit (path, ":", -1);
  for (gchar **d = dirs; *d != NULL; d++)
    {
      g_autofree gchar *candidate = g_build_filename (**d != '\0' ? *d : ".", name, NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_REGULAR) && access (candidate, X_OK) == 0)
        return g_steal_pointer (&candidate);
    }
  return NULL;
}

static gboolean
make_pipe (int fds[2], GError **error)
{
  if (pipe2 (fds, O_CLOEXEC) == 0)
    return TRUE;
  g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "pipe: %s", g_strerror (errno));
  return FALSE;
}

static void
close_pair (int fds[2])
{
  spirit_platform_close (fds[0]);
  spirit_platform_close (fds[1]);
  fds[0] = fds[1] = -1;
}

gboolean
spirit_platform_spawn (gchar **argv,
                       gchar **envp,
                       const char *cwd,
                       gboolean stdin_pipe,
                       SpiritChild *out,
                       GError **error)
{
  g_autofree gchar *program = resolve_program (argv[0], envp);
  int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t none, all;
  pid_t pid;
  int rc;

  if (program == NULL)
    {
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT, "%s: command not found", argv[0]);
      return FALSE;
    }
  if ((stdin_pipe && !make_pipe (in, error)) || !make_pipe (outp, error)
      || !make_pipe (errp, error))
    {
      close_pair (in);
      close_pair (outp);
      return FALSE;
    }

  posix_spawn_file_actions_init (&actions);
  if (stdin_pipe)
    posix_spawn_file_actions_adddup2 (&actions, in[0], 0);
  else
    posix_spawn_file_actions_addopen (&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&actions, outp[1], 1);
  posix_spawn_file_actions_adddup2 (&actions, errp[1], 2);
  if (cwd != NULL)
    posix_spawn_file_actions_addchdir_np (&actions, cwd);

  /* Its own session (so kill reaches the whole group), no blocked signals, and default
   * dispositions (the agent ignores SIGPIPE; its commands must not). */
  posix_spawnattr_init (&attr);
  sigemptyset (&none);
  sigfillset (&all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setflags (&attr,
                            POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  rc = posix_spawn (&pid, program, &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy (&actions);
  posix_spawnattr_destroy (&attr);
  spirit_platform_close (in[0]);
  spirit_platform_close (outp[1]);
  spirit_platform_close (errp[1]);
  if (rc != 0)
    {
      g_set_error (error, G_SPAWN_ERROR, rc == ENOENT ? G_SPAWN_ERROR_NOENT : G_SPAWN_ERROR_FAILED,
                   "cannot run %s%s%s: %s", program, cwd != NULL ? " in " : "",
                   cwd != NULL ? cwd : "", g_strerror (rc));
      spirit_platform_close (in[1]);
      spirit_platform_close (outp[0]);
      spirit_platform_close (errp[0]);
      return FALSE;
    }

  out->pid = pid;
  out->stdin_fd = in[1];
  out->stdout_fd = outp[0];
  out->stderr_fd = errp[0];
  /* Bigger pipes: fewer wake-ups per megabyte, which is what costs under emulation. */
  fcntl (out->stdout_fd, F_SETPIPE_SZ, SPIRIT_PIPE_SIZE);
  fcntl (out->stderr_fd, F_SETPIPE_SZ, SPIRIT_PIPE_SIZE);
  if (out->stdin_fd >= 0)
    {
      fcntl (out->stdin_fd, F_SETPIPE_SZ, SPIRIT_PIPE_SIZE);
      spirit_platform_set_nonblocking (out->stdin_fd);
    }
  spirit_platform_set_nonblocking (out->stdout_fd);
  spirit_platform_set_nonblocking (out->stderr_fd);
  return TRUE;
}

gint64
spirit_platform_pid_number (GPid pid)
{
  return pid;
}

typedef struct
{
  GPid pid;
  int pidfd;
  GChildWatchFunc func;
  gpointer data;
} SpiritChildWatch;

static gboolean
on_pidfd (int fd, GIOCondition condition, gpointer user_data)
{
  SpiritChildWatch *w = user_data;
  int status = 0;
  pid_t r;

  do
    r = waitpid (w->pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return G_SOURCE_CONTINUE; /* not exited yet: a pidfd only polls readable once it has */
  w->func (w->pid, status, w->data);
  return G_SOURCE_REMOVE;
}

static void
child_watch_free (gpointer user_data)
{
  SpiritChildWatch *w = user_data;

  g_close (w->pidfd, NULL);
  g_free (w);
}

guint
spirit_platform_watch_child (GPid pid, GChildWatchFunc func, gpointer data)
{
  int fd = (int)syscall (SYS_pidfd_open, pid, 0);
  SpiritChildWatch *w;

  if (fd < 0)
    return g_child_watch_add (pid, func, data); /* kernels before 5.3 */
  w = g_new (SpiritChildWatch, 1);
  *w = (SpiritChildWatch){ pid, fd, func, data };
  return g_unix_fd_add_full (G_PRIORITY_DEFAULT, fd, G_IO_IN, on_pidfd, w, child_watch_free);
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
