/* spirit-agent-platform.h: everything spirit-agent does differently on Linux and on Windows.
 *
 * The rest of the agent (port, session, jobs) is portable GLib code written against this
 * interface. spirit-agent-linux.c implements it for Linux (the one that is built and tested
 * here); spirit-agent-windows.c for Windows (\\.\Global\spirit.0, cmd /c, UTF-8 console), built
 * only by the mingw cross path (agent/standalone). A "fd" is a file descriptor on Linux and a CRT
 * descriptor on Windows; every fd the agent uses is non-blocking.
 */
#pragma once

#include <glib.h>

#include "spirit-message.h"

G_BEGIN_DECLS

void spirit_platform_init (void);
/* Calls func from the main loop when the agent is asked to stop (SIGTERM/SIGINT; console close). */
void spirit_platform_watch_terminate (GSourceFunc func, gpointer data);

const char *spirit_platform_default_port (void);
const char *spirit_platform_os_name (void);
gchar *spirit_platform_kernel_release (void);

/* The argv that runs an explicit shell line: sh -c LINE, or cmd.exe /c LINE. */
gchar **spirit_platform_shell_argv (const char *line);

/* The virtio-serial port. A read returns EOF while no host is connected (Linux), so the port
 * layer stops watching it then and waits for `changed`, which the platform calls from the main
 * loop whenever the host side may have connected or disconnected (Linux: SIGIO, sent by the
 * virtio_console driver on every host open/close, routed to SIGUSR1). */
gboolean spirit_platform_port_open (const char *path, int *fd_out, GError **error);
gboolean spirit_platform_port_host_connected (int fd);
guint spirit_platform_port_watch_host (int fd, GSourceFunc changed, gpointer user_data);

/* Non-blocking I/O. read/write return -1 with G_IO_ERROR_WOULD_BLOCK when they would block. */
typedef gboolean (*SpiritFdFunc) (int fd, GIOCondition condition, gpointer user_data);
guint spirit_platform_watch_fd (int fd, GIOCondition condition, SpiritFdFunc func, gpointer data);
gssize spirit_platform_read (int fd, void *buf, gsize len, GError **error);
gssize spirit_platform_write (int fd, const void *buf, gsize len, GError **error);
void spirit_platform_set_nonblocking (int fd);
/* Bytes waiting in a pipe (FIONREAD), or -1 where that cannot be known. */
gssize spirit_platform_pipe_available (int fd);
void spirit_platform_close (int fd);

/* A child with its own process group (Linux: setsid) so that kill reaches what it started.
 * stdin_fd is -1 without stdin_pipe (the child then reads the null device). */
typedef struct
{
  GPid pid;
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
} SpiritChild;

gboolean spirit_platform_spawn (gchar **argv,
                                gchar **envp,
                                const char *cwd,
                                gboolean stdin_pipe,
                                SpiritChild *out,
                                GError **error);

/* The number the host sees as "pid" (Windows: GetProcessId of the process handle). */
gint64 spirit_platform_pid_number (GPid pid);

/* Calls func once the child has exited, with its wait status, and reaps it. Like
 * g_child_watch_add(), which is what Windows uses; Linux waits on a pidfd instead, so that the
 * exit is one fd event in the main loop, with no SIGCHLD handler and no helper thread. */
guint spirit_platform_watch_child (GPid pid, GChildWatchFunc func, gpointer data);

/* Sends a protocol signal name to the child's whole process group (Windows: terminates the
 * job object for KILL/TERM/INT). A group that is already gone is not an error. */
gboolean spirit_platform_kill (GPid pid, const char *signal_name, GError **error);

/* Fills exit_code, or signal_name/signal_number/core_dumped, of an EXIT message from what
 * GLib's child watch reported. */
void spirit_platform_describe_exit (gint wait_status, SpiritMessage *exit_msg);

G_END_DECLS
