/* spirit-run-docker.c: @docker stages, through the Docker Engine API (libspirit_docker).
 *
 * The stage's descriptors become the exec's streams: stdin is forwarded unless it is a
 * terminal (a command that does not read it would otherwise wait for the user's next key, and
 * podman 4.3 may drop the last output of a command that leaves stdin unread, see
 * docs/proxy-syntax.md); stdout and stderr stay apart. Cancelling ends the API calls.
 */
#define G_LOG_DOMAIN "spirit-run-docker"

#include "spirit-line-runner-private.h"

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <unistd.h>

typedef struct
{
  SpiritStageRun *run;
  GInputStream *in;
  GOutputStream *out;
  GOutputStream *err;
} DockerStage;

static void
docker_stage_free (DockerStage *ds)
{
  g_clear_object (&ds->in);
  g_clear_object (&ds->out);
  g_clear_object (&ds->err);
  g_free (ds);
}

static void
on_exec_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DockerStage *ds = user_data;
  SpiritStageRun *run = ds->run;
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) shown = NULL;
  int code = 1;

  if (!spirit_docker_client_exec_finish (SPIRIT_DOCKER_CLIENT (source), result, &code, &error))
    {
      shown
        = g_error_new (error->domain, error->code, "@%s: %s", run->target->name, error->message);
      code = 1;
    }
  /* Closing the streams closes the descriptors: the next stage sees the end of its input. */
  docker_stage_free (ds);
  spirit_stage_run_done (run, code, shown);
}

void
spirit_run_docker_start (SpiritStageRun *run)
{
  g_autoptr (GError) error = NULL;
  SpiritDockerClient *docker = spirit_line_runner_get_docker (run->runner, &error);
  const char *sh_argv[] = { "sh", "-c", run->shell, NULL };
  DockerStage *ds;

  if (docker == NULL)
    {
      g_autoptr (GError) shown
        = g_error_new (error->domain, error->code, "@%s: %s", run->target->name, error->message);
      spirit_stage_run_done (run, 1, shown);
      return;
    }
  ds = g_new0 (DockerStage, 1);
  ds->run = run;
  if (!isatty (run->fds[0]))
    {
      ds->in = g_unix_input_stream_new (run->fds[0], TRUE);
      run->fds[0] = -1;
    }
  ds->out = g_unix_output_stream_new (run->fds[1], TRUE);
  ds->err = g_unix_output_stream_new (run->fds[2], TRUE);
  run->fds[1] = run->fds[2] = -1;
  spirit_stage_run_close_fds (run);
  spirit_docker_client_exec_async (
    docker, run->target->container,
    run->shell ? (const char *const *)sh_argv : (const char *const *)run->argv,
    (const char *const *)run->env, ds->in, ds->out, ds->err, run->cancellable, on_exec_done, ds);
}
