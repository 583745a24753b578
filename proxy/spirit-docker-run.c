/* spirit-docker-run.c: one @docker command from start to exit code: pick the container (the
 * only running one for a bare @docker), create the exec, run it with its streams, and read the
 * exit code.
 */
#define G_LOG_DOMAIN "spirit-docker-run"

#include "spirit-docker-client.h"

#include "spirit-error.h"

/* Polling the exit code covers only the moment between the end of the output and the engine
 * recording the exit (the engines close the stream once the process is gone, so it is rare);
 * the engine has no event for it. */
#define INSPECT_FIRST_DELAY_MS 5
#define INSPECT_MAX_DELAY_MS 200
#define INSPECT_DEADLINE_US (10 * G_USEC_PER_SEC)

typedef struct
{
  char *container;
  GStrv argv;
  GStrv env;
  GInputStream *stdin_stream;
  GOutputStream *stdout_stream;
  GOutputStream *stderr_stream;
  char *exec_id;
  gint64 inspect_deadline;
  guint inspect_delay_ms;
  guint inspect_source;
} Exec;

static void
exec_free (Exec *exec)
{
  g_clear_handle_id (&exec->inspect_source, g_source_remove);
  g_free (exec->container);
  g_strfreev (exec->argv);
  g_strfreev (exec->env);
  g_clear_object (&exec->stdin_stream);
  g_clear_object (&exec->stdout_stream);
  g_clear_object (&exec->stderr_stream);
  g_free (exec->exec_id);
  g_free (exec);
}

static void chain_inspect (GTask *task);

static gboolean
on_chain_inspect_again (gpointer user_data)
{
  GTask *task = user_data;
  Exec *exec = g_task_get_task_data (task);

  exec->inspect_source = 0;
  chain_inspect (task);
  return G_SOURCE_REMOVE;
}

static void
on_chain_inspected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Exec *exec = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gboolean running = FALSE;
  int exit_code = -1;

  if (!spirit_docker_client_exec_inspect_finish (SPIRIT_DOCKER_CLIENT (source), result, &running,
                                                 &exit_code, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!running)
    {
      g_task_return_int (task, exit_code);
      return;
    }
  /* The output has ended but the engine has not recorded the exit yet. */
  if (g_get_monotonic_time () > exec->inspect_deadline)
    {
      g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_TIMEOUT,
                               "the exec in '%s' closed its output but the Docker engine reports "
                               "it still running",
                               exec->container);
      return;
    }
  exec->inspect_delay_ms = MIN (exec->inspect_delay_ms * 2, INSPECT_MAX_DELAY_MS);
  exec->inspect_source
    = g_timeout_add (exec->inspect_delay_ms, on_chain_inspect_again, g_steal_pointer (&task));
}

static void
chain_inspect (GTask *task)
{
  Exec *exec = g_task_get_task_data (task);

  spirit_docker_client_exec_inspect_async (g_task_get_source_object (task), exec->exec_id,
                                           g_task_get_cancellable (task), on_chain_inspected, task);
}

static void
on_chain_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Exec *exec = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (!spirit_docker_client_exec_start_finish (SPIRIT_DOCKER_CLIENT (source), result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  exec->inspect_deadline = g_get_monotonic_time () + INSPECT_DEADLINE_US;
  exec->inspect_delay_ms = INSPECT_FIRST_DELAY_MS;
  chain_inspect (task);
}

static void
on_chain_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Exec *exec = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  exec->exec_id
    = spirit_docker_client_exec_create_finish (SPIRIT_DOCKER_CLIENT (source), result, &error);
  if (exec->exec_id == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  spirit_docker_client_exec_start_async (
    SPIRIT_DOCKER_CLIENT (source), exec->exec_id, exec->stdin_stream, exec->stdout_stream,
    exec->stderr_stream, g_task_get_cancellable (task), on_chain_started, task);
}

static void
chain_create (GTask *task)
{
  Exec *exec = g_task_get_task_data (task);

  spirit_docker_client_exec_create_async (
    g_task_get_source_object (task), exec->container, (const char *const *)exec->argv,
    (const char *const *)exec->env, exec->stdin_stream != NULL, g_task_get_cancellable (task),
    on_chain_created, task);
}

/* @docker without a container: the one that is running. */
static void
on_chain_running_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Exec *exec = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) running
    = spirit_docker_client_list_containers_finish (SPIRIT_DOCKER_CLIENT (source), result, &error);
  g_autoptr (GString) names = g_string_new (NULL);

  if (running == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (running->len == 1)
    {
      exec->container = g_strdup (((SpiritDockerContainer *)g_ptr_array_index (running, 0))->name);
      chain_create (task);
      return;
    }
  for (guint i = 0; i < running->len; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "",
                            ((SpiritDockerContainer *)g_ptr_array_index (running, i))->name);
  if (running->len == 0)
    g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
                             "no container is running on unix://%s for @docker",
                             spirit_docker_client_get_socket_path (SPIRIT_DOCKER_CLIENT (source)));
  else
    g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                             "several containers are running (%s): choose one with "
                             "@docker:<container>",
                             names->str);
  g_object_unref (task);
}

void
spirit_docker_client_exec_async (SpiritDockerClient *self,
                                 const char *container,
                                 const char *const *argv,
                                 const char *const *env,
                                 GInputStream *stdin_stream,
                                 GOutputStream *stdout_stream,
                                 GOutputStream *stderr_stream,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Exec *exec = g_new0 (Exec, 1);

  g_return_if_fail (SPIRIT_IS_DOCKER_CLIENT (self));
  g_task_set_source_tag (task, spirit_docker_client_exec_async);
  exec->container = g_strdup (container);
  exec->argv = g_strdupv ((char **)argv);
  exec->env = g_strdupv ((char **)env);
  g_set_object (&exec->stdin_stream, stdin_stream);
  g_set_object (&exec->stdout_stream, stdout_stream);
  g_set_object (&exec->stderr_stream, stderr_stream);
  g_task_set_task_data (task, exec, (GDestroyNotify)exec_free);

  if (container != NULL)
    chain_create (task);
  else
    spirit_docker_client_list_containers_async (self, FALSE, cancellable, on_chain_running_listed,
                                                task);
}

gboolean
spirit_docker_client_exec_finish (SpiritDockerClient *self,
                                  GAsyncResult *result,
                                  int *out_exit_code,
                                  GError **error)
{
  GError *local_error = NULL;
  gssize exit_code;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  exit_code = g_task_propagate_int (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (out_exit_code != NULL)
    *out_exit_code = (int)exit_code;
  return TRUE;
}
