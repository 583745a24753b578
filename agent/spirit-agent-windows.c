/* spirit-agent-windows.c: spirit-agent's platform layer for Windows guests.
 *
 * Everything Windows-specific lives here: the port name (\\.\Global\spirit.0, created by the
 * virtio-win vioserial driver), shell lines through cmd.exe /d /s /c, a UTF-8 console code page
 * (so that the output of console programs arrives as UTF-8, like on Linux), UTF-16 conversions
 * for CreateProcessW, and process trees in job objects (Windows has no process groups: "kill"
 * terminates the job object, which reaches everything the command started).
 *
 * I/O: the agent's core expects non-blocking fds with readiness watches. Windows pipes and the
 * vioserial device have neither, so each fd is wrapped in a GIOChannel (GLib's win32 channels
 * read on a helper thread and report readiness to the main loop); reads then come from the
 * channel's buffer and never block. Writes are synchronous WriteFile calls on the handle: the
 * port and stdin pipes accept data as fast as the host or the command consume it, which is the
 * back-pressure, at the price of the main loop waiting while they do.
 *
 * STATUS: NOT BUILT OR RUN ON THIS PROJECT'S MACHINES (Debian has no mingw GLib/json-glib).
 * It is built by agent/standalone with a mingw cross file (see agent/README.md) against an
 * MSYS2 or Fedora mingw64 GLib. Known gaps: host (dis)connection of the vioserial port is
 * noticed through read errors only (no equivalent of Linux's SIGIO), and exit statuses are
 * plain codes (a terminated job reports the code given to TerminateJobObject).
 */
#define G_LOG_DOMAIN "spirit-agent"

#include "spirit-agent-platform.h"

#include <gio/gio.h>
#include <io.h>
#include <string.h>
#include <windows.h>

/* fd → GIOChannel, so that reads and watches go through the same buffered channel. */
static GHashTable *spirit_channels;
/* process HANDLE → job object HANDLE */
static GHashTable *spirit_jobs;

static GSourceFunc spirit_terminate_func;
static gpointer spirit_terminate_data;

static BOOL WINAPI
on_console_ctrl (DWORD type)
{
  /* Runs on a system thread: hand over to the main loop. */
  g_main_context_invoke (NULL, spirit_terminate_func, spirit_terminate_data);
  return TRUE;
}

void
spirit_platform_init (void)
{
  SetConsoleOutputCP (CP_UTF8);
  SetConsoleCP (CP_UTF8);
  spirit_channels = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)g_io_channel_unref);
  spirit_jobs = g_hash_table_new (NULL, NULL);
}

void
spirit_platform_watch_terminate (GSourceFunc func, gpointer data)
{
  spirit_terminate_func = func;
  spirit_terminate_data = data;
  SetConsoleCtrlHandler (on_console_ctrl, TRUE);
}

const char *
spirit_platform_default_port (void)
{
  return "\\\\.\\Global\\spirit.0";
}

const char *
spirit_platform_os_name (void)
{
  return "windows";
}

gchar *
spirit_platform_kernel_release (void)
{
  typedef LONG (WINAPI * RtlGetVersionFunc) (OSVERSIONINFOW *);
  RtlGetVersionFunc get
    = (RtlGetVersionFunc)(void *)GetProcAddress (GetModuleHandleW (L"ntdll.dll"), "RtlGetVersion");
  OSVERSIONINFOW v = { sizeof v };

  if (get == NULL || get (&v) != 0)
    return g_strdup ("unknown");
  return g_strdup_printf ("%lu.%lu.%lu", v.dwMajorVersion, v.dwMinorVersion, v.dwBuildNumber);
}

gchar **
spirit_platform_shell_argv (const char *line)
{
  /* /d: no AutoRun; /s /c "LINE": cmd strips exactly the outer quotes (see build_cmdline). */
  return g_strdupv ((gchar *[]){ "cmd.exe", "/d", "/s", "/c", (gchar *)line, NULL });
}

static GIOChannel *
channel_for (int fd)
{
  GIOChannel *ch = g_hash_table_lookup (spirit_channels, GINT_TO_POINTER (fd));

  if (ch == NULL)
    {
      ch = g_io_channel_win32_new_fd (fd);
      g_io_channel_set_encoding (ch, NULL, NULL);
      g_io_channel_set_buffered (ch, FALSE);
      g_hash_table_insert (spirit_channels, GINT_TO_POINTER (fd), ch);
    }
  return ch;
}

gboolean
spirit_platform_port_open (const char *path, int *fd_out, GError **error)
{
  g_autofree gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, error);
  HANDLE h;

  if (wpath == NULL)
    return FALSE;
  h = CreateFileW (wpath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
  if (h == INVALID_HANDLE_VALUE)
    {
      g_autofree gchar *msg = g_win32_error_message (GetLastError ());
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot open %s: %s", path, msg);
      return FALSE;
    }
  *fd_out = _open_osfhandle ((intptr_t)h, 0);
  return *fd_out >= 0;
}

gboolean
spirit_platform_port_host_connected (int fd)
{
  /* vioserial reports a missing host as read errors; assume one is there and let the read
   * side find out. */
  return TRUE;
}

static gboolean
on_host_poll (gpointer data)
{
  GSourceFunc changed = ((gpointer *)data)[0];

  return changed (((gpointer *)data)[1]);
}

guint
spirit_platform_port_watch_host (int fd, GSourceFunc changed, gpointer user_data)
{
  gpointer *pair = g_new (gpointer, 2);

  /* No notification exists: look again every 2 s while disconnected (the port layer calls
   * host_connected() from `changed`, which reopens the read watch). */
  pair[0] = changed;
  pair[1] = user_data;
  return g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, 2, on_host_poll, pair, g_free);
}

typedef struct
{
  int fd;
  SpiritFdFunc func;
  gpointer data;
} SpiritWinWatch;

static gboolean
on_channel (GIOChannel *ch, GIOCondition condition, gpointer user_data)
{
  SpiritWinWatch *w = user_data;

  return w->func (w->fd, condition, w->data);
}

guint
spirit_platform_watch_fd (int fd, GIOCondition condition, SpiritFdFunc func, gpointer data)
{
  SpiritWinWatch *w = g_new (SpiritWinWatch, 1);

  *w = (SpiritWinWatch){ fd, func, data };
  return g_io_add_watch_full (channel_for (fd), G_PRIORITY_DEFAULT, condition, on_channel, w,
                              g_free);
}

gssize
spirit_platform_read (int fd, void *buf, gsize len, GError **error)
{
  gsize n = 0;
  GIOStatus status = g_io_channel_read_chars (channel_for (fd), buf, len, &n, error);

  switch (status)
    {
    case G_IO_STATUS_NORMAL:
      return n;
    case G_IO_STATUS_EOF:
      return 0;
    case G_IO_STATUS_AGAIN:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "would block");
      return -1;
    default:
      return -1;
    }
}

gssize
spirit_platform_write (int fd, const void *buf, gsize len, GError **error)
{
  DWORD written = 0;

  if (!WriteFile ((HANDLE)_get_osfhandle (fd), buf, (DWORD)MIN (len, G_MAXINT32), &written, NULL))
    {
      g_autofree gchar *msg = g_win32_error_message (GetLastError ());
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "write: %s", msg);
      return -1;
    }
  return written;
}

void
spirit_platform_set_nonblocking (int fd)
{
  /* Reads never block through the channel; see the header comment for writes. */
  channel_for (fd);
}

gssize
spirit_platform_pipe_available (int fd)
{
  return -1; /* the channel's reader thread holds what is buffered */
}

void
spirit_platform_close (int fd)
{
  if (fd < 0)
    return;
  if (!g_hash_table_remove (spirit_channels, GINT_TO_POINTER (fd)))
    _close (fd);
}

/* One argument, quoted the way CommandLineToArgvW and the MSVC runtime read it back. */
static void
append_quoted (GString *cmd, const char *arg)
{
  if (*arg != '\0' && strpbrk (arg, " \t\n\v\"") == NULL)
    {
      g_string_append (cmd, arg);
      return;
    }
  g_string_append_c (cmd, '"');
  for (const char *p = arg;; p++)
    {
      guint backslashes = 0;

      while (*p == '\\')
        {
          p++;
          backslashes++;
        }
      if (*p == '\0')
        {
          for (guint i = 0; i < backslashes * 2; i++)
            g_string_append_c (cmd, '\\');
          break;
        }
      for (guint i = 0; i < (*p == '"' ? backslashes * 2 + 1 : backslashes); i++)
        g_string_append_c (cmd, '\\');
      g_string_append_c (cmd, *p);
    }
  g_string_append_c (cmd, '"');
}

static gchar *
build_cmdline (gchar **argv)
{
  GString *cmd = g_string_new (NULL);

  /* cmd.exe does not use the MSVC rules: with /s /c, everything after /c between the first and
   * the last quote is the command line, verbatim. */
  if (g_strv_length (argv) == 5 && g_str_equal (argv[0], "cmd.exe") && g_str_equal (argv[3], "/c"))
    {
      g_string_printf (cmd, "cmd.exe /d /s /c \"%s\"", argv[4]);
      return g_string_free (cmd, FALSE);
    }
  for (gchar **a = argv; *a != NULL; a++)
    {
      if (a != argv)
        g_string_append_c (cmd, ' ');
      append_quoted (cmd, *a);
    }
  return g_string_free (cmd, FALSE);
}

/* CreateProcessW's environment: NUL-separated UTF-16 strings, ending with an empty one. */
static gunichar2 *
build_env_block (gchar **envp)
{
  GArray *block = g_array_new (FALSE, FALSE, sizeof (gunichar2));
  gunichar2 zero = 0;

  for (gchar **e = envp; e != NULL && *e != NULL; e++)
    {
      glong n = 0;
      g_autofree gunichar2 *w = g_utf8_to_utf16 (*e, -1, NULL, &n, NULL);
      if (w != NULL)
        g_array_append_vals (block, w, n + 1);
    }
  g_array_append_val (block, zero);
  return (gunichar2 *)g_array_free (block, FALSE);
}

static gboolean
pipe_pair (HANDLE *read_end, HANDLE *write_end, gboolean child_reads)
{
  SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };

  if (!CreatePipe (read_end, write_end, &sa, 1024 * 1024))
    return FALSE;
  /* Only the child's end is inherited. */
  SetHandleInformation (child_reads ? *write_end : *read_end, HANDLE_FLAG_INHERIT, 0);
  return TRUE;
}

gboolean
spirit_platform_spawn (gchar **argv,
                       gchar **envp,
                       const char *cwd,
                       gboolean stdin_pipe,
                       SpiritChild *out,
                       GError **error)
{
  g_autofree gchar *cmdline = build_cmdline (argv);
  g_autofree gunichar2 *wcmd = g_utf8_to_utf16 (cmdline, -1, NULL, NULL, error);
  g_autofree gunichar2 *wcwd = cwd != NULL ? g_utf8_to_utf16 (cwd, -1, NULL, NULL, NULL) : NULL;
  g_autofree gunichar2 *wenv = build_env_block (envp);
  HANDLE in_r = NULL, in_w = NULL, out_r, out_w, err_r, err_w;
  STARTUPINFOW si = { sizeof si };
  PROCESS_INFORMATION pi;
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = { 0 };
  HANDLE job;

  if (wcmd == NULL)
    return FALSE;
  if (stdin_pipe && !pipe_pair (&in_r, &in_w, TRUE))
    goto pipe_failed;
  if (!stdin_pipe)
    in_r = CreateFileW (L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                        &(SECURITY_ATTRIBUTES){ sizeof (SECURITY_ATTRIBUTES), NULL, TRUE },
                        OPEN_EXISTING, 0, NULL);
  if (!pipe_pair (&out_r, &out_w, FALSE) || !pipe_pair (&err_r, &err_w, FALSE))
    goto pipe_failed;

  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = in_r;
  si.hStdOutput = out_w;
  si.hStdError = err_w;
  if (!CreateProcessW (NULL, wcmd, NULL, NULL, TRUE,
                       CREATE_UNICODE_ENVIRONMENT | CREATE_NO_WINDOW | CREATE_SUSPENDED, wenv, wcwd,
                       &si, &pi))
    {
      g_autofree gchar *msg = g_win32_error_message (GetLastError ());
      g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "cannot run %s: %s", argv[0], msg);
      CloseHandle (in_r);
      CloseHandle (in_w);
      CloseHandle (out_r);
      CloseHandle (out_w);
      CloseHandle (err_r);
      CloseHandle (err_w);
      return FALSE;
    }
  /* The job object holds the whole tree; closing it (agent exit) kills what is left. */
  job = CreateJobObjectW (NULL, NULL);
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  SetInformationJobObject (job, JobObjectExtendedLimitInformation, &limits, sizeof limits);
  AssignProcessToJobObject (job, pi.hProcess);
  ResumeThread (pi.hThread);
  CloseHandle (pi.hThread);
  g_hash_table_insert (spirit_jobs, pi.hProcess, job);

  CloseHandle (in_r);
  CloseHandle (out_w);
  CloseHandle (err_w);
  out->pid = pi.hProcess;
  out->stdin_fd = stdin_pipe ? _open_osfhandle ((intptr_t)in_w, 0) : -1;
  out->stdout_fd = _open_osfhandle ((intptr_t)out_r, 0);
  out->stderr_fd = _open_osfhandle ((intptr_t)err_r, 0);
  return TRUE;

pipe_failed:
  g_set_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "CreatePipe failed");
  return FALSE;
}

gint64
spirit_platform_pid_number (GPid pid)
{
  return GetProcessId (pid);
}

typedef struct
{
  GChildWatchFunc func;
  gpointer data;
} SpiritWinChild;

static void
on_child_exit (GPid pid, gint status, gpointer user_data)
{
  SpiritWinChild *c = user_data;
  HANDLE job = g_hash_table_lookup (spirit_jobs, pid);

  c->func (pid, status, c->data);
  /* Closing the job object ends whatever the command left running (KILL_ON_JOB_CLOSE). */
  if (job != NULL)
    {
      g_hash_table_remove (spirit_jobs, pid);
      CloseHandle (job);
    }
}

guint
spirit_platform_watch_child (GPid pid, GChildWatchFunc func, gpointer data)
{
  SpiritWinChild *c = g_new (SpiritWinChild, 1);

  *c = (SpiritWinChild){ func, data };
  /* GLib waits on the process handle; the status it reports is GetExitCodeProcess(). */
  return g_child_watch_add_full (G_PRIORITY_DEFAULT, pid, on_child_exit, c, g_free);
}

gboolean
spirit_platform_kill (GPid pid, const char *signal_name, GError **error)
{
  HANDLE job = g_hash_table_lookup (spirit_jobs, pid);

  if (!g_str_equal (signal_name, "KILL") && !g_str_equal (signal_name, "TERM")
      && !g_str_equal (signal_name, "INT"))
    {
      g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_INVALID,
                   "signal %s does not exist on Windows (KILL, TERM and INT end the command)",
                   signal_name);
      return FALSE;
    }
  if (job != NULL ? TerminateJobObject (job, 1) : TerminateProcess (pid, 1))
    return TRUE;
  g_set_error (error, SPIRIT_PROTOCOL_ERROR, SPIRIT_PROTOCOL_ERROR_FAILED,
               "TerminateJobObject failed (%lu)", GetLastError ());
  return FALSE;
}

void
spirit_platform_describe_exit (gint wait_status, SpiritMessage *exit_msg)
{
  /* Windows has no signals: the exit code is all there is (as an unsigned 32-bit value, e.g.
   * 0xC0000005 for an access violation). */
  exit_msg->exit_code = (guint32)wait_status;
}
