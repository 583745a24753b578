/* spirit-run-host.c: @spirit stages, run by the client as the calling user.
 *
 * An argv is spawned directly (PATH searched, no shell); a shell line goes to /bin/sh -c. A
 * program that cannot be found is status 127 and one that cannot be executed 126, as in sh.
 * Cancelling sends SIGINT, as Ctrl-C would.
 */
#define G_LOG_DOMAIN "spirit-run-host"

#include "spirit-line-runner-private.h"

#include <signal.h>

typedef struct
{
  SpiritStageRun *run;
  GPid pid;
  gulong cancel_id;
} HostChild;

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  HostChild *child = user_data;

  if (child->pid > 0)
    kill (child->pid, SIGINT);
}

static void
on_child_exited (GPid pid, gint wait_status, gpointer user_data)
{
  HostChild *child = user_data;
  SpiritStageRun *run = child->run;

  g_spawn_close_pid (pid);
  child->pid = 0;
  g_cancellable_disconnect (run->cancellable, child->cancel_id);
  g_free (child);
  spirit_stage_run_done (run, spirit_stage_status_from_wait (wait_status), NULL);
}

void
spirit_run_host_start (SpiritStageRun *run)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) envp = g_get_environ ();
  const char *sh_argv[] = { "/bin/sh", "-c", run->shell, NULL };
  const char *const *argv = run->shell ? sh_argv : (const char *const *)run->argv;
  HostChild *child;
  GPid pid;

  for (guint i = 0; run->env[i] != NULL; i++)
    {
      g_auto (GStrv) pair = g_strsplit (run->env[i], "=", 2);
      envp = g_environ_setenv (envp, pair[0], pair[1] ? pair[1] : "", TRUE);
    }
  if (!g_spawn_async_with_pipes_and_fds (NULL, argv, (const char *const *)envp,
                                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                         NULL, run->fds[0], run->fds[1], run->fds[2], NULL, NULL, 0,
                                         &pid, NULL, NULL, NULL, &error))
    {
      int status = g_error_matches (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT) ? 127 : 126;
      g_autoptr (GError) shown = NULL;

      if (status == 127)
        shown = g_error_new (G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT, "@spirit: %s: command not found",
                             argv[0]);
      else
        shown = g_error_new (G_SPAWN_ERROR, error->code, "@spirit: %s", error->message);
      spirit_stage_run_done (run, status, shown);
      return;
    }
  /* The child has its copies; ours would keep the pipes open. */
  spirit_stage_run_close_fds (run);
  child = g_new0 (HostChild, 1);
  child->run = run;
  child->pid = pid;
  child->cancel_id
    = g_cancellable_connect (run->cancellable, G_CALLBACK (on_cancelled), child, NULL);
  g_child_watch_add (pid, on_child_exited, child);
}
