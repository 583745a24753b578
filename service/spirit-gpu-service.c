/* spirit-gpu-service.c: the set of GPU objects, udev updates and journal recovery. */
#define G_LOG_DOMAIN "spirit-gpu-service"

#include "spirit-gpu-service.h"
#include "spirit-gpu-monitor.h"

struct _SpiritGpuService
{
  GObject parent_instance;

  SpiritObjectTree *tree; /* the manager's; it outlives this */
  SpiritGpuContext context;
  GHashTable *gpus; /* address → SpiritGpuObject */
  SpiritGpuMonitor *monitor;
  gboolean libvirt_ready;
};

G_DEFINE_FINAL_TYPE (SpiritGpuService, spirit_gpu_service, G_TYPE_OBJECT)

static gboolean test_knobs_allowed;

void
spirit_gpu_service_apply_test_knobs (gboolean allow)
{
  static const char *const knobs[] = {
    "SPIRIT_SYSFS_ROOT",
    "SPIRIT_SYSFS_FAIL",
    "SPIRIT_STATE_DIR",
    "SPIRIT_HUD_UNIT",
    "SPIRIT_USER_BUS_ADDRESS",
    "SPIRIT_USER_RUNTIME_DIR",
    "SPIRIT_GPU_UNIT_TIMEOUT_MS",
    "SPIRIT_GPU_STEP_TIMEOUT_MS",
    "SPIRIT_GPU_FAIL",
    "SPIRIT_GPU_CRASH",
  };

  test_knobs_allowed = allow;
  if (allow)
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (knobs); i++)
    if (g_getenv (knobs[i]) != NULL)
      {
        g_warning ("Ignoring %s: test settings are honoured with --session only", knobs[i]);
        g_unsetenv (knobs[i]);
      }
}

static void
spirit_gpu_service_dispose (GObject *object)
{
  SpiritGpuService *self = SPIRIT_GPU_SERVICE (object);

  g_clear_object (&self->monitor);
  if (self->gpus != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      /* spiritd is exiting: a swap under way is let finish (each of its steps has a deadline),
       * so the GPU is not left half moved and its thread does not outlive the objects. */
      g_hash_table_iter_init (&iter, self->gpus);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (spirit_gpu_object_is_busy (value))
          {
            g_message ("Waiting for the swap of the GPU %s to finish",
                       spirit_gpu_object_get_address (value));
            while (spirit_gpu_object_is_busy (value))
              g_main_context_iteration (NULL, TRUE);
          }
      g_hash_table_iter_init (&iter, self->gpus);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        spirit_object_tree_remove (self->tree, spirit_gpu_object_get_object_path (value));
      g_clear_pointer (&self->gpus, g_hash_table_unref);
    }
  g_clear_object (&self->context.auth);
  g_clear_pointer (&self->context.config, spirit_gpu_run_config_free);
  G_OBJECT_CLASS (spirit_gpu_service_parent_class)->dispose (object);
}

static void
spirit_gpu_service_class_init (SpiritGpuServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = spirit_gpu_service_dispose;
}

static void
spirit_gpu_service_init (SpiritGpuService *self)
{
  self->gpus = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

SpiritGpuService *
spirit_gpu_service_new (SpiritObjectTree *tree,
                        SpiritAuth *auth,
                        SpiritGpuVmLookup lookup,
                        gpointer lookup_data)
{
  SpiritGpuService *self = g_object_new (SPIRIT_TYPE_GPU_SERVICE, NULL);

  self->tree = tree;
  self->context.auth = g_object_ref (auth);
  self->context.config = spirit_gpu_run_config_new_from_env (test_knobs_allowed);
  self->context.lookup = lookup;
  self->context.lookup_data = lookup_data;
  return self;
}

static void
on_monitor_changed (SpiritGpuMonitor *monitor,
                    const char *address,
                    const char *action,
                    gpointer user_data)
{
  SpiritGpuService *self = user_data;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->gpus);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const char *gpu = spirit_gpu_object_get_address (value);
      if (address == NULL || g_str_equal (address, gpu)
          || strncmp (address, gpu, strlen (gpu) - 1) == 0)
        spirit_gpu_object_refresh (value);
    }
}

static void
spirit_gpu_service_recover (SpiritGpuService *self)
{
  g_autoptr (GPtrArray) journals = spirit_gpu_journal_list (self->context.config->state_dir);

  for (guint i = 0; i < journals->len; i++)
    {
      const char *path = g_ptr_array_index (journals, i);
      g_autoptr (GError) error = NULL;
      g_autoptr (GVariant) journal = spirit_gpu_journal_read (path, &error);
      SpiritGpuRun *run
        = journal ? spirit_gpu_run_new_from_journal (self->context.config, journal, &error) : NULL;
      SpiritGpuObject *gpu;

      if (run == NULL)
        {
          g_warning ("Ignoring the GPU journal %s: %s", path, error->message);
          continue;
        }
      gpu = g_hash_table_lookup (self->gpus, spirit_gpu_run_get_gpu_address (run));
      if (gpu == NULL)
        {
          g_warning ("The GPU journal %s names %s, which is not a GPU of this host", path,
                     spirit_gpu_run_get_gpu_address (run));
          spirit_gpu_run_free (run);
          continue;
        }
      g_message ("Found the journal of an interrupted GPU swap: %s", path);
      spirit_gpu_object_recover (gpu, run, self->libvirt_ready);
    }
}

void
spirit_gpu_service_start (SpiritGpuService *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) gpus = spirit_gpu_discover_all (&error);

  if (gpus == NULL)
    {
      g_message ("No GPUs: %s", error->message);
      return;
    }
  for (guint i = 0; i < gpus->len; i++)
    {
      SpiritGpuObject *gpu = spirit_gpu_object_new (&self->context, g_ptr_array_index (gpus, i));
      g_hash_table_insert (self->gpus, g_strdup (spirit_gpu_object_get_address (gpu)), gpu);
      spirit_object_tree_add (self->tree, spirit_gpu_object_get_object_path (gpu),
                              spirit_gpu_object_get_skeleton (gpu));
    }
  g_debug ("%u GPUs", gpus->len);
  self->monitor = spirit_gpu_monitor_new ();
  g_signal_connect_object (self->monitor, "changed", G_CALLBACK (on_monitor_changed), self, 0);
  spirit_gpu_service_recover (self);
}

void
spirit_gpu_service_libvirt_ready (SpiritGpuService *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->libvirt_ready)
    return;
  self->libvirt_ready = TRUE;
  g_hash_table_iter_init (&iter, self->gpus);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    spirit_gpu_object_recover_pending (value);
}
