/* spirit-line-runner.c: wires a parsed line's stages together and starts them (see the header).
 *
 * For each stage: its stdin is the line's (first stage) or the read end of the pipe from the
 * stage before; its stdout is the line's (last stage) or the write end of the pipe to the next;
 * its stderr is the line's. Then the stage's redirections are applied, here when that gives sh's
 * exact meaning:
 *   - a single command with no shell runs as an argv; every redirection is applied here, in the
 *     order written: `2>&1` duplicates a descriptor, a host file is opened as the calling user,
 *     a file on another target is a pipe to a relay (`cat` there);
 *   - a pipeline inside a target, or a file that lives on the target itself, needs the target's
 *     shell: the stage becomes one shell line (every word quoted, so arguments stay data) and
 *     only the cross-target redirections are applied here, before the shell's own.
 */
#define G_LOG_DOMAIN "spirit-line-runner"

#include "spirit-line-runner.h"
#include "spirit-line-runner-private.h"
#include "spirit-error.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>

struct _SpiritLineRunner
{
  GObject parent_instance;
  GDBusConnection *bus;
  char *docker_host;
  SpiritDockerClient *docker;
  SpiritJobTable *jobs;
};

G_DEFINE_FINAL_TYPE (SpiritLineRunner, spirit_line_runner, G_TYPE_OBJECT)

/* One run of a line: its stages and relays, and how many are still running. */
typedef struct
{
  GTask *task;
  GPtrArray *runs; /* SpiritStageRun*, owned */
  SpiritStageRun *last;
  guint pending;
} LineRun;

static void
line_run_free (LineRun *lr)
{
  g_ptr_array_unref (lr->runs);
  g_free (lr);
}

static void
stage_run_free (SpiritStageRun *run)
{
  spirit_stage_run_close_fds (run);
  g_clear_object (&run->runner);
  g_clear_object (&run->cancellable);
  g_strfreev (run->argv);
  g_strfreev (run->env);
  g_free (run->shell);
  g_free (run);
}

/* ---- stages, for the backends ------------------------------------------------------------- */

void
spirit_stage_run_close_fds (SpiritStageRun *run)
{
  for (guint i = 0; i < 3; i++)
    if (run->fds[i] >= 0)
      {
        g_close (run->fds[i], NULL);
        run->fds[i] = -1;
      }
}

static void
report (int err_fd, const char *message)
{
  g_autofree char *line = g_strdup_printf ("spirit: %s\n", message);
  const char *p = line;
  gsize left = strlen (line);

  while (left > 0)
    {
      gssize n = write (err_fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      p += n;
      left -= n;
    }
}

void
spirit_stage_run_note (SpiritStageRun *run, const char *message)
{
  report (run->err_fd, message);
}

void
spirit_stage_run_done (SpiritStageRun *run, int status, const GError *error)
{
  if (error != NULL)
    {
      g_autoptr (GError) copy = g_error_copy (error);
      g_dbus_error_strip_remote_error (copy);
      report (run->err_fd, copy->message);
    }
  spirit_stage_run_close_fds (run);
  run->status = status;
  run->done (run, run->done_data);
}

int
spirit_stage_status_from_wait (int wait_status)
{
  if (WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  if (WIFSIGNALED (wait_status))
    return 128 + WTERMSIG (wait_status);
  return 1;
}

/* ---- the runner --------------------------------------------------------------------------- */

static void
spirit_line_runner_finalize (GObject *object)
{
  SpiritLineRunner *self = SPIRIT_LINE_RUNNER (object);

  g_clear_pointer (&self->jobs, spirit_job_table_free);
  g_clear_object (&self->docker);
  g_clear_object (&self->bus);
  g_free (self->docker_host);
  G_OBJECT_CLASS (spirit_line_runner_parent_class)->finalize (object);
}

static void
spirit_line_runner_class_init (SpiritLineRunnerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spirit_line_runner_finalize;
}

static void
spirit_line_runner_init (SpiritLineRunner *self)
{
}

SpiritLineRunner *
spirit_line_runner_new (GDBusConnection *bus, const char *docker_host)
{
  SpiritLineRunner *self = g_object_new (SPIRIT_TYPE_LINE_RUNNER, NULL);

  self->bus = bus ? g_object_ref (bus) : NULL;
  self->docker_host = g_strdup (docker_host);
  return self;
}

GDBusConnection *
spirit_line_runner_get_bus (SpiritLineRunner *self)
{
  return self->bus;
}

SpiritDockerClient *
spirit_line_runner_get_docker (SpiritLineRunner *self, GError **error)
{
  if (self->docker == NULL)
    self->docker = spirit_docker_client_new (self->docker_host, error);
  return self->docker;
}

SpiritJobTable *
spirit_line_runner_get_jobs (SpiritLineRunner *self)
{
  if (self->jobs == NULL && self->bus != NULL)
    self->jobs = spirit_job_table_new (self->bus);
  return self->jobs;
}

/* ---- wiring ------------------------------------------------------------------------------- */

static SpiritStageRun *
stage_run_new (SpiritLineRunner *runner,
               LineRun *lr,
               const SpiritTarget *target,
               int err_fd,
               GCancellable *cancellable)
{
  SpiritStageRun *run = g_new0 (SpiritStageRun, 1);

  run->runner = g_object_ref (runner);
  run->target = target;
  run->fds[0] = run->fds[1] = run->fds[2] = -1;
  run->err_fd = err_fd;
  run->cancellable = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  run->env = g_new0 (char *, 1);
  g_ptr_array_add (lr->runs, run);
  return run;
}

static gboolean
target_is_windows (const SpiritTarget *target)
{
  return target->kind == SPIRIT_TARGET_VM && target->os == SPIRIT_TARGET_OS_WINDOWS;
}

/* Replaces *slot with fd (taking it). */
static void
set_fd (int *slot, int fd)
{
  if (*slot >= 0)
    g_close (*slot, NULL);
  *slot = fd;
}

static int
dup_or_fail (int fd, GError **error)
{
  int copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);

  if (copy < 0)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                 "cannot duplicate a file descriptor: %s", g_strerror (errno));
  return copy;
}

/* A file on another target: a relay there reads or writes it through a pipe. */
static gboolean
relay_redirect (SpiritLineRunner *runner,
                LineRun *lr,
                const SpiritRedirect *redirect,
                int fds[3],
                int err_fd,
                GCancellable *cancellable,
                GError **error)
{
  int pipe_fds[2];
  SpiritStageRun *relay;

  if (target_is_windows (redirect->target))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_NOT_SUPPORTED,
                   "@%s: files on a Windows target cannot be a redirection's other end yet; "
                   "redirect to @spirit and copy the file",
                   redirect->target->name);
      return FALSE;
    }
  if (!g_unix_open_pipe (pipe_fds, FD_CLOEXEC, error))
    return FALSE;
  relay = stage_run_new (runner, lr, redirect->target, err_fd, cancellable);
  relay->is_relay = TRUE;
  relay->fds[2] = dup_or_fail (err_fd, NULL);
  if (redirect->mode == SPIRIT_REDIRECT_INPUT)
    {
      relay->argv = g_strdupv ((char *[]){ "cat", "--", redirect->path, NULL });
      relay->fds[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      relay->fds[1] = pipe_fds[1];
      set_fd (&fds[redirect->fd], pipe_fds[0]);
    }
  else
    {
      const char *script
        = redirect->mode == SPIRIT_REDIRECT_APPEND ? "cat >>\"$1\"" : "cat >\"$1\"";
      relay->argv = g_strdupv (
        (char *[]){ "sh", "-c", (char *)script, "spirit-redirect", redirect->path, NULL });
      relay->fds[0] = pipe_fds[0];
      relay->fds[1] = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      set_fd (&fds[redirect->fd], pipe_fds[1]);
    }
  return TRUE;
}

static gboolean
open_host_file (const SpiritRedirect *redirect, int fds[3], GError **error)
{
  int flags = O_CLOEXEC | O_NOCTTY;
  int fd;

  if (redirect->mode == SPIRIT_REDIRECT_INPUT)
    flags |= O_RDONLY;
  else if (redirect->mode == SPIRIT_REDIRECT_APPEND)
    flags |= O_WRONLY | O_CREAT | O_APPEND;
  else
    flags |= O_WRONLY | O_CREAT | O_TRUNC;
  fd = open (redirect->path, flags, 0666);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "@spirit: %s: %s",
                   redirect->path, g_strerror (saved));
      return FALSE;
    }
  set_fd (&fds[redirect->fd], fd);
  return TRUE;
}

/* Applies one redirection to fds[]. stage_target: where a redirection without a target is. */
static gboolean
apply_redirect (SpiritLineRunner *runner,
                LineRun *lr,
                const SpiritTarget *stage_target,
                const SpiritRedirect *redirect,
                int fds[3],
                int err_fd,
                GCancellable *cancellable,
                GError **error)
{
  const SpiritTarget *where = redirect->target ? redirect->target : stage_target;
  int copy;

  if (redirect->mode == SPIRIT_REDIRECT_DUP)
    {
      if ((copy = dup_or_fail (fds[redirect->dup_fd], error)) < 0)
        return FALSE;
      set_fd (&fds[redirect->fd], copy);
      return TRUE;
    }
  if (where->kind == SPIRIT_TARGET_HOST)
    return open_host_file (redirect, fds, error);
  return relay_redirect (runner, lr, redirect, fds, err_fd, cancellable, error);
}

/* Can every redirection of this single command be applied here, in order? */
static gboolean
redirects_all_local (const SpiritStage *stage, const SpiritCommand *command)
{
  if (stage->target->kind == SPIRIT_TARGET_HOST)
    return TRUE;
  for (guint i = 0; i < command->redirects->len; i++)
    {
      const SpiritRedirect *redirect = g_ptr_array_index (command->redirects, i);
      if (redirect->mode != SPIRIT_REDIRECT_DUP && redirect->target == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Decides what the stage runs and applies what redirections belong here. */
static gboolean
prepare_stage (SpiritLineRunner *runner,
               LineRun *lr,
               SpiritStageRun *run,
               const SpiritStage *stage,
               GCancellable *cancellable,
               GError **error)
{
  const SpiritCommand *first, *last, *only = NULL;

  run->control = stage->control;
  run->snapshot_name = stage->snapshot_name;
  if (stage->control != SPIRIT_CONTROL_NONE)
    return TRUE;

  first = g_ptr_array_index (stage->commands, 0);
  last = g_ptr_array_index (stage->commands, stage->commands->len - 1);
  if (stage->commands->len == 1 && first->shell == NULL && redirects_all_local (stage, first))
    only = first;

  if (only != NULL)
    {
      run->argv = g_strdupv (only->argv);
      g_strfreev (run->env);
      run->env = g_strdupv (only->env);
      for (guint i = 0; i < only->redirects->len; i++)
        if (!apply_redirect (runner, lr, stage->target, g_ptr_array_index (only->redirects, i),
                             run->fds, run->err_fd, cancellable, error))
          return FALSE;
      return TRUE;
    }

  run->shell = target_is_windows (stage->target) && first->shell == NULL
                 ? spirit_stage_to_cmd_line (stage)
                 : spirit_stage_to_posix_shell (stage);
  /* Cross-target redirections: only on the first command (input) and the last (output). */
  for (guint i = 0; i < first->redirects->len; i++)
    {
      const SpiritRedirect *redirect = g_ptr_array_index (first->redirects, i);
      if (redirect->target != NULL && redirect->fd == 0
          && !apply_redirect (runner, lr, stage->target, redirect, run->fds, run->err_fd,
                              cancellable, error))
        return FALSE;
    }
  for (guint i = 0; i < last->redirects->len; i++)
    {
      const SpiritRedirect *redirect = g_ptr_array_index (last->redirects, i);
      if (redirect->target != NULL && redirect->fd != 0
          && !apply_redirect (runner, lr, stage->target, redirect, run->fds, run->err_fd,
                              cancellable, error))
        return FALSE;
    }
  return TRUE;
}

static void
on_run_done (SpiritStageRun *run, gpointer user_data)
{
  LineRun *lr = user_data;
  int status;

  g_assert (lr->pending > 0);
  if (--lr->pending > 0)
    return;
  /* sh's rule: the last stage's status; a failed relay of its output makes a success a failure. */
  status = lr->last ? lr->last->status : 0;
  for (guint i = 0; i < lr->runs->len && status == 0; i++)
    {
      SpiritStageRun *r = g_ptr_array_index (lr->runs, i);
      if (r->is_relay && r->status != 0)
        status = r->status;
    }
  g_task_return_int (lr->task, status);
  g_object_unref (lr->task);
}

static void
start_run (SpiritStageRun *run)
{
  switch (run->target->kind)
    {
    case SPIRIT_TARGET_HOST:
      spirit_run_host_start (run);
      break;
    case SPIRIT_TARGET_VM:
      spirit_run_vm_start (run);
      break;
    case SPIRIT_TARGET_DOCKER:
      spirit_run_docker_start (run);
      break;
    }
}

void
spirit_line_runner_run_async (SpiritLineRunner *self,
                              const SpiritCommandLine *line,
                              int in_fd,
                              int out_fd,
                              int err_fd,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  LineRun *lr = g_new0 (LineRun, 1);
  g_autoptr (GError) error = NULL;
  int next_in = -1;
  guint n = line->stages->len;

  lr->task = g_task_new (self, cancellable, callback, user_data);
  /* Cancelling interrupts the stages; the line still ends with their statuses (130 for SIGINT). */
  g_task_set_check_cancellable (lr->task, FALSE);
  lr->runs = g_ptr_array_new_with_free_func ((GDestroyNotify)stage_run_free);
  g_task_set_task_data (lr->task, lr, (GDestroyNotify)line_run_free);

  if ((next_in = dup_or_fail (in_fd, &error)) < 0)
    {
      g_task_return_error (lr->task, g_steal_pointer (&error));
      g_object_unref (lr->task);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      const SpiritStage *stage = g_ptr_array_index (line->stages, i);
      SpiritStageRun *run = stage_run_new (self, lr, stage->target, err_fd, cancellable);
      int pipe_fds[2];

      run->fds[0] = next_in;
      next_in = -1;
      if (i + 1 < n)
        {
          if (!g_unix_open_pipe (pipe_fds, FD_CLOEXEC, &error))
            break;
          run->fds[1] = pipe_fds[1];
          next_in = pipe_fds[0];
        }
      else if ((run->fds[1] = dup_or_fail (out_fd, &error)) < 0)
        break;
      if ((run->fds[2] = dup_or_fail (err_fd, &error)) < 0)
        break;
      if (i + 1 == n)
        lr->last = run;
      if (!prepare_stage (self, lr, run, stage, cancellable, &error))
        {
          /* This stage cannot run; the others still do, as in sh. */
          report (err_fd, error->message);
          g_clear_error (&error);
          spirit_stage_run_close_fds (run);
          run->status = 1;
          run->control = SPIRIT_CONTROL_NONE;
          g_clear_pointer (&run->argv, g_strfreev);
          g_clear_pointer (&run->shell, g_free);
          run->target = NULL; /* not started */
        }
    }
  if (next_in >= 0)
    g_close (next_in, NULL);
  if (error != NULL)
    {
      g_task_return_error (lr->task, g_steal_pointer (&error));
      g_object_unref (lr->task);
      return;
    }

  /* Everything is wired: start them all. Count first, so a stage that ends at once cannot
   * finish the line early. */
  lr->pending = 1;
  for (guint i = 0; i < lr->runs->len; i++)
    {
      SpiritStageRun *run = g_ptr_array_index (lr->runs, i);
      if (run->target == NULL)
        continue;
      run->done = on_run_done;
      run->done_data = lr;
      lr->pending++;
    }
  for (guint i = 0; i < lr->runs->len; i++)
    {
      SpiritStageRun *run = g_ptr_array_index (lr->runs, i);
      if (run->target != NULL)
        start_run (run);
    }
  on_run_done (NULL, lr);
}

gboolean
spirit_line_runner_run_finish (SpiritLineRunner *self,
                               GAsyncResult *result,
                               int *out_status,
                               GError **error)
{
  g_autoptr (GError) local = NULL;
  gssize status = g_task_propagate_int (G_TASK (result), &local);

  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (out_status)
    *out_status = (int)status;
  return TRUE;
}
