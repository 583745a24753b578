/* spiritctl-vm.c: "spiritctl vm …": list, inspect, control and watch VMs. */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-vm.h"
#include "spiritctl-format.h"
#include "spirit-error.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

typedef struct
{
  const char *command;
  const char *method;
  const char *done; /* past tense for the confirmation line */
} SpiritctlVmAction;

static const SpiritctlVmAction simple_actions[] = {
  { "start", "Start", N_("started") },
  { "force-stop", "ForceStop", N_("forced off") },
  { "reboot", "Reboot", N_("rebooting") },
  { "pause", "Pause", N_("paused") },
  { "resume", "Resume", N_("resumed") },
  { "save", "SaveState", N_("state saved") },
  { "discard-save", "DiscardSavedState", N_("saved state discarded") },
};

/* "512M", "2G", "1048576K", "4096" (MiB) → KiB. FALSE for anything else or an overflow. */
gboolean
spiritctl_parse_size_kib (const char *text, guint64 *kib)
{
  g_autofree char *digits = NULL;
  guint64 value, factor = 1024;
  gsize len = strlen (text);
  char unit;

  if (len == 0)
    return FALSE;
  unit = g_ascii_toupper (text[len - 1]);
  digits = g_strndup (text, g_ascii_isdigit (text[len - 1]) ? len : len - 1);
  switch (g_ascii_isdigit (text[len - 1]) ? 'M' : unit)
    {
    case 'K': factor = 1; break;
    case 'M': factor = 1024; break;
    case 'G': factor = 1024 * 1024; break;
    case 'T': factor = 1024 * 1024 * 1024; break;
    default: return FALSE;
    }
  if (!g_ascii_string_to_unsigned (digits, 10, 1, G_MAXUINT64 / factor, &value, NULL))
    return FALSE;
  *kib = value * factor;
  return TRUE;
}

static int
usage_error (const char *message)
{
  g_printerr ("spiritctl: %s\n", message);
  g_printerr (_("Try 'spiritctl --help'.\n"));
  return 2;
}

/* Lets the proxy apply the PropertiesChanged that spiritd sent before its reply. */
static void
drain_pending_signals (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* By host (in name order), then by name. */
static gint
compare_vms (gconstpointer a, gconstpointer b)
{
  SpiritDBusVm *vm_a = *(SpiritDBusVm **) a;
  SpiritDBusVm *vm_b = *(SpiritDBusVm **) b;
  int by_host = g_strcmp0 (spirit_dbus_vm_get_host (vm_a), spirit_dbus_vm_get_host (vm_b));

  return by_host ? by_host : g_utf8_collate (spirit_dbus_vm_get_name (vm_a), spirit_dbus_vm_get_name (vm_b));
}

static GPtrArray *
collect_vms (GDBusObjectManager *objects, const char *host)
{
  GPtrArray *vms = g_ptr_array_new_with_free_func (g_object_unref);
  GList *list = g_dbus_object_manager_get_objects (objects);

  for (GList *l = list; l; l = l->next)
    {
      SpiritDBusVm *vm = spirit_object_get_dbus_vm (SPIRIT_OBJECT (l->data));
      if (vm == NULL)
        continue;
      if (host != NULL && g_strcmp0 (spirit_dbus_vm_get_host (vm), host) != 0)
        g_object_unref (vm);
      else
        g_ptr_array_add (vms, vm);
    }
  g_list_free_full (list, g_object_unref);
  g_ptr_array_sort (vms, compare_vms);
  return vms;
}

static gboolean
host_exists (SpiritctlClient *client, const char *host, GError **error)
{
  g_autoptr (SpiritDBusManager) manager = spiritctl_client_get_manager (client, error);
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (GString) known = g_string_new (NULL);
  GVariant *hosts;
  const char *name;

  if (manager == NULL)
    return FALSE;
  hosts = spirit_dbus_manager_get_hosts (manager);
  if (hosts != NULL)
    {
      iter = g_variant_iter_new (hosts);
      while (g_variant_iter_next (iter, "(&s&sb)", &name, NULL, NULL))
        {
          if (g_str_equal (name, host))
            return TRUE;
          g_string_append_printf (known, "%s%s", known->len ? ", " : "", name);
        }
    }
  g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_NO_SUCH_VM, _("No host named '%s' (hosts: %s)"), host,
               known->str);
  return FALSE;
}

static int
vm_list (SpiritctlClient *client, const char *host)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusObjectManager) objects = spiritctl_client_get_objects (client, &error);
  g_autoptr (GPtrArray) vms = NULL;

  if (objects == NULL || (host != NULL && !host_exists (client, host, &error)))
    return spiritctl_client_fail (error);
  vms = collect_vms (objects, host);
  if (client->json)
    spiritctl_print_vms_json (vms);
  else
    spiritctl_print_vm_table (vms);
  return 0;
}

static int
vm_info (SpiritctlClient *client, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritDBusVm) vm = spiritctl_client_get_vm (client, name, &error);

  if (vm == NULL)
    return spiritctl_client_fail (error);
  if (client->json)
    spiritctl_print_vm_json (vm);
  else
    spiritctl_print_vm_details (vm);
  return 0;
}

static int
vm_call (SpiritctlClient *client,
         const char *name,
         const char *method,
         GVariant *args,
         const char *done)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritDBusVm) vm = spiritctl_client_get_vm (client, name, &error);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) sunk = args ? g_variant_ref_sink (args) : NULL;

  if (vm == NULL)
    return spiritctl_client_fail (error);
  reply = spiritctl_client_call_vm (vm, method, sunk, &error);
  if (reply == NULL)
    return spiritctl_client_fail (error);
  drain_pending_signals ();

  if (client->json)
    spiritctl_print_vm_json (vm);
  else if (g_variant_is_of_type (reply, G_VARIANT_TYPE ("(s)")))
    {
      const char *created;
      g_variant_get (reply, "(&s)", &created);
      g_print (_("%s: %s '%s'\n"), spirit_dbus_vm_get_name (vm), _(done), created);
    }
  else
    g_print (_("%s: %s (now %s)\n"), spirit_dbus_vm_get_name (vm), _(done),
             spirit_dbus_vm_get_state (vm));
  return 0;
}

static int
vm_snapshot (SpiritctlClient *client, int argc, char **argv)
{
  const char *sub = argc > 0 ? argv[0] : NULL;

  if (sub == NULL || argc < 2)
    return usage_error (_("Usage: spiritctl vm snapshot create|revert|delete|list VM [NAME]"));

  if (g_str_equal (sub, "list"))
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SpiritDBusVm) vm = spiritctl_client_get_vm (client, argv[1], &error);
      if (vm == NULL)
        return spiritctl_client_fail (error);
      if (client->json)
        spiritctl_print_vm_json (vm);
      else
        spiritctl_print_snapshots (vm);
      return 0;
    }
  if (g_str_equal (sub, "create"))
    return vm_call (client, argv[1], "CreateSnapshot",
                    g_variant_new ("(s)", argc > 2 ? argv[2] : ""), N_("snapshot created"));
  if (argc < 3)
    return usage_error (_("Which snapshot? Usage: spiritctl vm snapshot revert|delete VM NAME"));
  if (!g_utf8_validate (argv[2], -1, NULL))
    return usage_error (_("The snapshot name is not valid UTF-8"));
  if (g_str_equal (sub, "revert"))
    return vm_call (client, argv[1], "RevertSnapshot", g_variant_new ("(s)", argv[2]),
                    N_("reverted"));
  if (g_str_equal (sub, "delete"))
    return vm_call (client, argv[1], "DeleteSnapshot", g_variant_new ("(s)", argv[2]),
                    N_("snapshot deleted"));
  return usage_error (_("Unknown snapshot command; use create, revert, delete or list"));
}

/* --- vm watch ------------------------------------------------------------------------------ */

static void
print_event (SpiritctlClient *client, SpiritDBusVm *vm, const char *event)
{
  if (client->json)
    {
      g_autofree char *line = spiritctl_vm_to_json_line (vm, event);
      g_print ("%s\n", line);
    }
  else
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");
      g_print ("%s  %-8s %s/%s %s (%s)\n", stamp, event, spirit_dbus_vm_get_host (vm),
               spirit_dbus_vm_get_name (vm), spirit_dbus_vm_get_state (vm),
               spirit_dbus_vm_get_state_reason (vm));
    }
}

static void
on_object_added (GDBusObjectManager *objects, GDBusObject *object, gpointer user_data)
{
  g_autoptr (SpiritDBusVm) vm = spirit_object_get_dbus_vm (SPIRIT_OBJECT (object));

  if (vm != NULL)
    print_event (user_data, vm, "added");
}

static void
on_object_removed (GDBusObjectManager *objects, GDBusObject *object, gpointer user_data)
{
  g_autoptr (SpiritDBusVm) vm = spirit_object_get_dbus_vm (SPIRIT_OBJECT (object));

  if (vm != NULL)
    print_event (user_data, vm, "removed");
}

static void
on_properties_changed (GDBusObjectManagerClient *objects,
                       GDBusObjectProxy *object,
                       GDBusProxy *proxy,
                       GVariant *changed,
                       const char *const *invalidated,
                       gpointer user_data)
{
  g_autoptr (GVariant) state = g_variant_lookup_value (changed, "State", NULL);

  if (state != NULL && SPIRIT_IS_DBUS_VM (proxy))
    print_event (user_data, SPIRIT_DBUS_VM (proxy), "changed");
}

static gboolean
on_quit_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
on_owner_changed (GObject *objects, GParamSpec *pspec, gpointer user_data)
{
  g_autofree char *owner = g_dbus_object_manager_client_get_name_owner (
    G_DBUS_OBJECT_MANAGER_CLIENT (objects));

  if (owner == NULL)
    g_printerr (_("spiritctl: the Spirit service went away; waiting for it to come back\n"));
}

static int
vm_watch (SpiritctlClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusObjectManager) objects = spiritctl_client_get_objects (client, &error);
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GPtrArray) vms = NULL;

  if (objects == NULL)
    return spiritctl_client_fail (error);
  vms = collect_vms (objects, NULL);
  for (guint i = 0; i < vms->len; i++)
    print_event (client, g_ptr_array_index (vms, i), "present");

  loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (objects, "object-added", G_CALLBACK (on_object_added), client);
  g_signal_connect (objects, "object-removed", G_CALLBACK (on_object_removed), client);
  g_signal_connect (objects, "interface-proxy-properties-changed",
                    G_CALLBACK (on_properties_changed), client);
  g_signal_connect (objects, "notify::name-owner", G_CALLBACK (on_owner_changed), client);
  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  g_main_loop_run (loop);
  return 0;
}

int
spiritctl_vm_command (SpiritctlClient *client, const SpiritctlVmOptions *options, int argc, char **argv)
{
  const char *command = argc > 0 ? argv[0] : NULL;

  if (command == NULL)
    return usage_error (_("Missing vm command (list, info, start, stop, …)"));
  if (g_str_equal (command, "list"))
    return vm_list (client, options->host);
  if (g_str_equal (command, "watch"))
    return vm_watch (client);
  if (g_str_equal (command, "snapshot"))
    return vm_snapshot (client, argc - 1, argv + 1);

  if (argc < 2)
    return usage_error (_("Which VM? Give its name or UUID"));
  if (g_str_equal (command, "info"))
    return vm_info (client, argv[1]);
  if (g_str_equal (command, "stop") || g_str_equal (command, "shutdown"))
    return vm_call (client, argv[1], "Shutdown", g_variant_new ("(u)", options->timeout),
                    N_("shut down"));
  if (g_str_equal (command, "memory"))
    {
      guint64 kib;
      if (argc < 3 || !spiritctl_parse_size_kib (argv[2], &kib))
        return usage_error (_("Usage: spiritctl vm memory VM SIZE (e.g. 512M, 2G; a bare number is MiB)"));
      return vm_call (client, argv[1], "SetMemory", g_variant_new ("(t)", kib), N_("memory set"));
    }
  if (g_str_equal (command, "autostart"))
    {
      if (argc < 3 || (!g_str_equal (argv[2], "on") && !g_str_equal (argv[2], "off")))
        return usage_error (_("Usage: spiritctl vm autostart VM on|off"));
      return vm_call (client, argv[1], "SetAutostart",
                      g_variant_new ("(b)", g_str_equal (argv[2], "on")), N_("autostart changed"));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (simple_actions); i++)
    if (g_str_equal (command, simple_actions[i].command))
      return vm_call (client, argv[1], simple_actions[i].method, NULL, simple_actions[i].done);

  return usage_error (_("Unknown vm command"));
}

int
spiritctl_status_command (SpiritctlClient *client)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusObjectManager) objects = spiritctl_client_get_objects (client, &error);
  g_autoptr (SpiritDBusManager) manager = NULL;
  g_autoptr (GPtrArray) vms = NULL;

  if (objects == NULL || !(manager = spiritctl_client_get_manager (client, &error)))
    return spiritctl_client_fail (error);
  vms = collect_vms (objects, NULL);
  if (client->json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonGenerator) generator = json_generator_new ();
      g_autoptr (JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "Version");
      json_builder_add_string_value (builder, spirit_dbus_manager_get_version (manager));
      json_builder_set_member_name (builder, "Uri");
      json_builder_add_string_value (builder, spirit_dbus_manager_get_uri (manager));
      json_builder_set_member_name (builder, "Connected");
      json_builder_add_boolean_value (builder, spirit_dbus_manager_get_connected (manager));
      json_builder_set_member_name (builder, "VMs");
      json_builder_add_int_value (builder, vms->len);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      text = json_generator_to_data (generator, NULL);
      g_print ("%s\n", text);
      return 0;
    }
  g_print ("%-12s %s\n", _("Version:"), spirit_dbus_manager_get_version (manager));
  g_print ("%-12s %s\n", _("libvirt:"), spirit_dbus_manager_get_uri (manager));
  g_print ("%-12s %s\n", _("Connected:"), spirit_dbus_manager_get_connected (manager) ? _("yes") : _("no"));
  g_print ("%-12s %u\n", _("VMs:"), vms->len);
  return 0;
}
