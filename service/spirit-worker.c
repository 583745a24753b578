/* spirit-worker.c: GTasks run on a GThreadPool of bounded size. */
#define G_LOG_DOMAIN "spirit-worker"

#include "spirit-worker.h"

struct _SpiritWorker
{
  GThreadPool *pool;
};

typedef struct
{
  GTask *task;
  GTaskThreadFunc func;
} SpiritWorkerJob;

static void
spirit_worker_execute (gpointer data, gpointer user_data)
{
  SpiritWorkerJob *job = data;

  job->func (job->task, g_task_get_source_object (job->task), g_task_get_task_data (job->task),
             g_task_get_cancellable (job->task));
  g_object_unref (job->task);
  g_free (job);
}

SpiritWorker *
spirit_worker_new (guint max_threads)
{
  SpiritWorker *worker = g_new0 (SpiritWorker, 1);

  /* Not exclusive: threads come from GLib's shared set; only the concurrency is ours. */
  worker->pool = g_thread_pool_new (spirit_worker_execute, NULL, (gint) max_threads, FALSE, NULL);
  return worker;
}

void
spirit_worker_free (SpiritWorker *worker)
{
  if (worker == NULL)
    return;
  /* Queued jobs still run, so every GTask completes and its callback fires. */
  g_thread_pool_free (worker->pool, FALSE, FALSE);
  g_free (worker);
}

void
spirit_worker_run (SpiritWorker *worker, GTask *task, GTaskThreadFunc func)
{
  SpiritWorkerJob *job = g_new0 (SpiritWorkerJob, 1);

  job->task = g_object_ref (task);
  job->func = func;
  g_thread_pool_push (worker->pool, job, NULL);
}
