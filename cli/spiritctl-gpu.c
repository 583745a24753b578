/* spiritctl-gpu.c: "spiritctl gpu …": the GPUs, and handing one to a VM and back.
 *
 *   gpu status                     every GPU: state, owner, drivers, IOMMU group
 *   gpu passthrough VM [--force]   give the GPU to VM, with a line per step as it happens
 *   gpu reclaim [--force]          take it back
 *
 * With several GPUs, --gpu ADDRESS says which; without it, the one that is not on the host
 * (reclaim), else the only one that is not the boot GPU, else the only one.
 */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-gpu.h"
#include "spirit-error.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

static int
usage_error (const char *message)
{
  g_printerr ("spiritctl: %s\n", message);
  g_printerr (_ ("Try 'spiritctl --help'.\n"));
  return 2;
}

static gint
compare_gpus (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (spirit_dbus_gpu_get_address (*(SpiritDBusGpu *const *)a),
                    spirit_dbus_gpu_get_address (*(SpiritDBusGpu *const *)b));
}

/* Every GPU object, sorted by address (SpiritDBusGpu*, owned). The proxies get their signals
 * (Progress) through *objects, which must live as long as they are used. */
static GPtrArray *
list_gpus (SpiritctlClient *client, GDBusObjectManager **objects_out, GError **error)
{
  GDBusObjectManager *objects = spiritctl_client_get_objects (client, error);
  GPtrArray *gpus;
  GList *list;

  if (objects == NULL)
    return NULL;
  gpus = g_ptr_array_new_with_free_func (g_object_unref);
  list = g_dbus_object_manager_get_objects (objects);
  for (GList *l = list; l; l = l->next)
    {
      SpiritDBusGpu *gpu = spirit_object_get_dbus_gpu (SPIRIT_OBJECT (l->data));
      if (gpu != NULL)
        g_ptr_array_add (gpus, gpu);
    }
  g_list_free_full (list, g_object_unref);
  g_ptr_array_sort (gpus, compare_gpus);
  *objects_out = objects;
  return gpus;
}

static SpiritDBusGpu *
pick_gpu (GPtrArray *gpus, const char *address, gboolean away_first, GError **error)
{
  SpiritDBusGpu *found = NULL;
  guint n = 0;

  if (gpus->len == 0)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_GPU,
                   _ ("This host has no GPU that Spirit sees"));
      return NULL;
    }
  if (address != NULL)
    {
      for (guint i = 0; i < gpus->len; i++)
        if (g_str_equal (spirit_dbus_gpu_get_address (g_ptr_array_index (gpus, i)), address))
          return g_ptr_array_index (gpus, i);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_GPU, _ ("No GPU at %s"), address);
      return NULL;
    }
  if (gpus->len == 1)
    return g_ptr_array_index (gpus, 0);
  if (away_first)
    for (guint i = 0; i < gpus->len; i++)
      if (!g_str_equal (spirit_dbus_gpu_get_state (g_ptr_array_index (gpus, i)), "host"))
        return g_ptr_array_index (gpus, i);
  for (guint i = 0; i < gpus->len; i++)
    if (!spirit_dbus_gpu_get_boot_vga (g_ptr_array_index (gpus, i)))
      {
        found = g_ptr_array_index (gpus, i);
        n++;
      }
  if (n == 1)
    return found;
  g_set_error (
    error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
    _ ("This host has %u GPUs; say which with --gpu ADDRESS (see 'spiritctl gpu status')"),
    gpus->len);
  return NULL;
}

/* --- status --------------------------------------------------------------------------------- */

static void
print_gpu (SpiritDBusGpu *gpu)
{
  g_autofree char *functions = g_strjoinv (" ", (char **)spirit_dbus_gpu_get_functions (gpu));
  g_autofree char *members = g_strjoinv (" ", (char **)spirit_dbus_gpu_get_group_members (gpu));
  const char *state = spirit_dbus_gpu_get_state (gpu);
  const char *step = spirit_dbus_gpu_get_step (gpu);
  const char *owner = spirit_dbus_gpu_get_owner_name (gpu);
  g_autofree char *where = NULL;

  g_print ("%s  %s%s\n", spirit_dbus_gpu_get_address (gpu), spirit_dbus_gpu_get_name (gpu),
           spirit_dbus_gpu_get_boot_vga (gpu) ? _ (" (boot GPU)") : "");
  if (g_str_equal (state, "host"))
    where = g_strdup (_ ("on the host"));
  else if (g_str_equal (state, "vm"))
    where = g_strdup_printf (_ ("in the VM %s"), owner);
  else if (g_str_equal (state, "to-vm"))
    where = g_strdup_printf (_ ("moving to the VM %s (step %s)"), owner, step);
  else if (g_str_equal (state, "to-host"))
    where = g_strdup_printf (_ ("coming back from %s (step %s)"), owner, step);
  else
    where
      = g_strdup_printf (_ ("stuck on the way back from %s: run 'spiritctl gpu reclaim'"), owner);
  g_print ("  %-12s %s\n", _ ("State:"), where);
  g_print ("  %-12s %s", _ ("Driver:"),
           *spirit_dbus_gpu_get_driver (gpu) ? spirit_dbus_gpu_get_driver (gpu) : _ ("none"));
  if (*spirit_dbus_gpu_get_host_driver (gpu))
    g_print (_ (" (on the host: %s)"), spirit_dbus_gpu_get_host_driver (gpu));
  g_print ("\n  %-12s %s\n", _ ("Functions:"), functions);
  if (spirit_dbus_gpu_get_iommu_group (gpu) < 0)
    g_print ("  %-12s %s\n", _ ("IOMMU:"), _ ("off"));
  else
    g_print ("  %-12s %s %d: %s\n", _ ("IOMMU:"), _ ("group"),
             spirit_dbus_gpu_get_iommu_group (gpu), members);
  if (spirit_dbus_gpu_get_viable (gpu))
    g_print ("  %-12s %s\n", _ ("Passthrough:"), _ ("possible"));
  else
    g_print ("  %-12s %s\n", _ ("Passthrough:"), spirit_dbus_gpu_get_viability_problem (gpu));
}

static void
print_gpus_json (GPtrArray *gpus)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_array (builder);
  for (guint i = 0; i < gpus->len; i++)
    {
      GDBusProxy *proxy = g_ptr_array_index (gpus, i);
      g_auto (GStrv) names = g_dbus_proxy_get_cached_property_names (proxy);

      json_builder_begin_object (builder);
      for (guint j = 0; names && names[j]; j++)
        {
          g_autoptr (GVariant) value = g_dbus_proxy_get_cached_property (proxy, names[j]);
          json_builder_set_member_name (builder, names[j]);
          json_builder_add_value (builder, json_gvariant_serialize (value));
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static int
gpu_status (SpiritctlClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusObjectManager) objects = NULL;
  g_autoptr (GPtrArray) gpus = list_gpus (client, &objects, &error);

  if (gpus == NULL)
    return spiritctl_client_fail (error);
  if (client->json)
    {
      print_gpus_json (gpus);
      return 0;
    }
  if (gpus->len == 0)
    g_print ("%s\n", _ ("No GPUs."));
  for (guint i = 0; i < gpus->len; i++)
    {
      if (i > 0)
        g_print ("\n");
      print_gpu (g_ptr_array_index (gpus, i));
    }
  return 0;
}

/* --- passthrough and reclaim, with progress ------------------------------------------------- */

typedef struct
{
  GMainLoop *loop;
  GVariant *reply;
  GError *error;
  gboolean json;
} SpiritctlGpuCall;

static void
on_progress (SpiritDBusGpu *gpu,
             const char *step,
             const char *description,
             guint index,
             guint total,
             gpointer user_data)
{
  SpiritctlGpuCall *call = user_data;

  if (call->json)
    g_print ("{\"event\": \"progress\", \"step\": \"%s\", \"index\": %u, \"total\": %u}\n", step,
             index, total);
  else
    g_print ("[%2u/%u] %s (%s)\n", index, total, description, step);
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritctlGpuCall *call = user_data;

  call->reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &call->error);
  g_main_loop_quit (call->loop);
}

static int
gpu_call (
  SpiritctlClient *client, SpiritDBusGpu *gpu, const char *method, GVariant *args, const char *done)
{
  SpiritctlGpuCall call = { g_main_loop_new (NULL, FALSE), NULL, NULL, client->json };
  gulong handler = g_signal_connect (gpu, "progress", G_CALLBACK (on_progress), &call);
  int status = 0;

  g_dbus_proxy_call (G_DBUS_PROXY (gpu), method, args,
                     G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, NULL,
                     on_call_done, &call);
  g_main_loop_run (call.loop);
  g_signal_handler_disconnect (gpu, handler);
  if (call.reply == NULL)
    status = spiritctl_client_fail (call.error);
  else if (!client->json)
    g_print ("%s\n", done);
  g_clear_pointer (&call.reply, g_variant_unref);
  g_clear_error (&call.error);
  g_main_loop_unref (call.loop);
  return status;
}

int
spiritctl_gpu_command (SpiritctlClient *client,
                       const SpiritctlGpuOptions *options,
                       int argc,
                       char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusObjectManager) objects = NULL;
  g_autoptr (GPtrArray) gpus = NULL;
  g_autofree char *done = NULL;
  const char *command = argc > 0 ? argv[0] : NULL;
  SpiritDBusGpu *gpu;

  if (command == NULL)
    return usage_error (_ ("'gpu' needs a command: status, passthrough or reclaim"));
  if (g_str_equal (command, "status"))
    return argc == 1 ? gpu_status (client) : usage_error (_ ("'gpu status' takes no arguments"));
  if (g_str_equal (command, "passthrough") && argc != 2)
    return usage_error (_ ("usage: spiritctl gpu passthrough VM [--force] [--gpu ADDRESS]"));
  if (g_str_equal (command, "reclaim") && argc != 1)
    return usage_error (_ ("usage: spiritctl gpu reclaim [--force] [--gpu ADDRESS]"));
  if (!g_str_equal (command, "passthrough") && !g_str_equal (command, "reclaim"))
    return usage_error (_ ("unknown 'gpu' command; try status, passthrough or reclaim"));

  gpus = list_gpus (client, &objects, &error);
  if (gpus == NULL)
    return spiritctl_client_fail (error);
  gpu = pick_gpu (gpus, options->gpu, g_str_equal (command, "reclaim"), &error);
  if (gpu == NULL)
    return spiritctl_client_fail (error);
  if (g_str_equal (command, "passthrough"))
    {
      done
        = g_strdup_printf (_ ("GPU %s is now in %s"), spirit_dbus_gpu_get_address (gpu), argv[1]);
      return gpu_call (client, gpu, "Passthrough", g_variant_new ("(sb)", argv[1], options->force),
                       done);
    }
  done = g_strdup_printf (_ ("GPU %s is back on the host"), spirit_dbus_gpu_get_address (gpu));
  return gpu_call (client, gpu, "Reclaim", g_variant_new ("(b)", options->force), done);
}
