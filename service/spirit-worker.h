/* spirit-worker.h: a bounded set of worker threads for one host's blocking libvirt calls.
 *
 * Each host has its own, so a remote libvirtd that stops answering can hold at most its own
 * workers, never those of the other hosts (GLib's shared GTask pool would be starved).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SpiritWorker SpiritWorker;

SpiritWorker *spirit_worker_new (guint max_threads);
void spirit_worker_free (SpiritWorker *worker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritWorker, spirit_worker_free)

/* Like g_task_run_in_thread(), on one of this worker's threads. Takes a reference on task. */
void spirit_worker_run (SpiritWorker *worker, GTask *task, GTaskThreadFunc func);

G_END_DECLS
