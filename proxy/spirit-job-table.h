/* spirit-job-table.h: waiting for org.crom.Spirit.Proxy jobs to end, for every Exec client.
 *
 * spiritd tells how a job ended with JobExited, a signal sent to the caller only, and it may
 * come right after Exec's reply. A table subscribes once, before the first Exec; the caller then
 * waits for the path Exec returned. A status that came before the wait is kept and given at
 * once. When spiritd leaves the bus, the jobs' statuses can never come: every waiting callback
 * runs with NULL. spiritctl exec and the @VM stages of libspirit_runner both use it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SpiritJobTable SpiritJobTable;

/* STATUS is JobExited's a{sv} (docs: org.crom.Spirit.Proxy.xml), or NULL: spiritd went away. */
typedef void (*SpiritJobEndFunc) (GVariant *status, gpointer user_data);

SpiritJobTable *spirit_job_table_new (GDBusConnection *bus);
/* Waiting callbacks are dropped without being called. */
void spirit_job_table_free (SpiritJobTable *jobs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritJobTable, spirit_job_table_free)

/* FUNC runs once, when JOB (an Exec reply's path) ends, or now if it already did. */
void spirit_job_table_wait (SpiritJobTable *jobs,
                            const char *job,
                            SpiritJobEndFunc func,
                            gpointer user_data);

G_END_DECLS
