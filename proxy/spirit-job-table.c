/* spirit-job-table.c: JobExited, matched to the callers that wait for their jobs. */
#define G_LOG_DOMAIN "spirit-job-table"

#include "spirit-job-table.h"

#define SPIRIT_BUS_NAME "org.crom.Spirit"
#define SPIRIT_ROOT_PATH "/org/crom/Spirit"
#define SPIRIT_PROXY_IFACE "org.crom.Spirit.Proxy"

typedef struct
{
  SpiritJobEndFunc func;
  gpointer user_data;
} Waiter;

struct _SpiritJobTable
{
  GDBusConnection *bus;
  guint subscription;
  guint name_watch;    /* spiritd going away ends the jobs that wait for it */
  GHashTable *waiting; /* job path → Waiter */
  GHashTable *early;   /* job path → status a{sv}, for an exit seen before the wait */
};

static void
on_job_exited (GDBusConnection *bus,
               const char *sender,
               const char *path,
               const char *iface,
               const char *signal,
               GVariant *parameters,
               gpointer user_data)
{
  SpiritJobTable *jobs = user_data;
  const char *job;
  g_autoptr (GVariant) status = NULL;
  g_autofree char *key = NULL;
  g_autofree Waiter *waiter = NULL;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(oa{sv})")))
    return;
  g_variant_get (parameters, "(&o@a{sv})", &job, &status);
  if (!g_hash_table_steal_extended (jobs->waiting, job, (gpointer *)&key, (gpointer *)&waiter))
    {
      g_hash_table_insert (jobs->early, g_strdup (job), g_variant_ref (status));
      return;
    }
  waiter->func (status, waiter->user_data);
}

/* The jobs' JobExited can never come: end them, or their callers would wait forever. */
static void
on_service_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  SpiritJobTable *jobs = user_data;
  g_autoptr (GHashTable) waiting = g_steal_pointer (&jobs->waiting);
  GHashTableIter iter;
  gpointer waiter;

  jobs->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, waiting);
  while (g_hash_table_iter_next (&iter, NULL, &waiter))
    ((Waiter *)waiter)->func (NULL, ((Waiter *)waiter)->user_data);
}

SpiritJobTable *
spirit_job_table_new (GDBusConnection *bus)
{
  SpiritJobTable *jobs = g_new0 (SpiritJobTable, 1);

  jobs->bus = g_object_ref (bus);
  jobs->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  jobs->early
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_variant_unref);
  jobs->subscription = g_dbus_connection_signal_subscribe (
    bus, SPIRIT_BUS_NAME, SPIRIT_PROXY_IFACE, "JobExited", SPIRIT_ROOT_PATH, NULL,
    G_DBUS_SIGNAL_FLAGS_NONE, on_job_exited, jobs, NULL);
  jobs->name_watch = g_bus_watch_name_on_connection (
    bus, SPIRIT_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_service_vanished, jobs, NULL);
  return jobs;
}

void
spirit_job_table_free (SpiritJobTable *jobs)
{
  if (jobs == NULL)
    return;
  g_dbus_connection_signal_unsubscribe (jobs->bus, jobs->subscription);
  g_bus_unwatch_name (jobs->name_watch);
  g_hash_table_unref (jobs->waiting);
  g_hash_table_unref (jobs->early);
  g_object_unref (jobs->bus);
  g_free (jobs);
}

void
spirit_job_table_wait (SpiritJobTable *jobs,
                       const char *job,
                       SpiritJobEndFunc func,
                       gpointer user_data)
{
  g_autoptr (GVariant) early = NULL;
  g_autofree char *key = NULL;
  Waiter *waiter;

  if (g_hash_table_steal_extended (jobs->early, job, (gpointer *)&key, (gpointer *)&early))
    {
      func (early, user_data);
      return;
    }
  waiter = g_new0 (Waiter, 1);
  waiter->func = func;
  waiter->user_data = user_data;
  g_hash_table_insert (jobs->waiting, g_strdup (job), waiter);
}
