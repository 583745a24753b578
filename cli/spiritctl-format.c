/* spiritctl-format.c: tables and JSON from the generated proxies' cached properties. */
#define G_LOG_DOMAIN "spiritctl"

#include "spiritctl-format.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

char *
spiritctl_format_memory (guint64 kib)
{
  return g_format_size_full (kib * 1024, G_FORMAT_SIZE_IEC_UNITS);
}

static const char *
yes_no (gboolean value)
{
  return value ? _("yes") : _("no");
}

/* Pads by characters, not bytes, so translated headers and UTF-8 names stay aligned. */
static void
print_padded (const char *text, gsize width)
{
  glong len = g_utf8_strlen (text, -1);

  g_print ("%s", text);
  for (glong i = len; i < (glong) width; i++)
    g_print (" ");
}

void
spiritctl_print_vm_table (GPtrArray *vms)
{
  const char *headers[] = { _("HOST"), _("NAME"), _("STATE"), _("CPUS"), _("MEMORY"),
                            _("AUTOSTART"), _("SNAPSHOTS") };
  enum { N_COLS = G_N_ELEMENTS (headers) };
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  gsize widths[N_COLS];

  for (guint c = 0; c < N_COLS; c++)
    widths[c] = g_utf8_strlen (headers[c], -1);

  for (guint i = 0; i < vms->len; i++)
    {
      SpiritDBusVm *vm = g_ptr_array_index (vms, i);
      const char *const *snaps = spirit_dbus_vm_get_snapshots (vm);
      char **row = g_new0 (char *, N_COLS + 1);

      row[0] = g_strdup (spirit_dbus_vm_get_host (vm));
      row[1] = g_strdup (spirit_dbus_vm_get_name (vm));
      row[2] = g_strdup (spirit_dbus_vm_get_state (vm));
      row[3] = g_strdup_printf ("%u", spirit_dbus_vm_get_vcpus (vm));
      row[4] = spiritctl_format_memory (spirit_dbus_vm_get_memory_ki_b (vm));
      row[5] = g_strdup (yes_no (spirit_dbus_vm_get_autostart (vm)));
      row[6] = g_strdup_printf ("%u", snaps ? g_strv_length ((char **) snaps) : 0);
      for (guint c = 0; c < N_COLS; c++)
        widths[c] = MAX (widths[c], (gsize) g_utf8_strlen (row[c], -1));
      g_ptr_array_add (rows, row);
    }

  for (guint c = 0; c < N_COLS; c++)
    {
      print_padded (headers[c], c + 1 < N_COLS ? widths[c] + 2 : 0);
    }
  g_print ("\n");
  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);
      for (guint c = 0; c < N_COLS; c++)
        print_padded (row[c], c + 1 < N_COLS ? widths[c] + 2 : 0);
      g_print ("\n");
    }
}

/* What answers on the VM's spirit.0 channel: "spirit-agent 0.1.0 (linux 6.1.0-18-amd64)". */
static char *
describe_agent (SpiritDBusVm *vm)
{
  const char *version = spirit_dbus_vm_get_agent_version (vm);
  const char *os = spirit_dbus_vm_get_guest_os (vm);
  const char *kernel = spirit_dbus_vm_get_guest_kernel (vm);

  if (!spirit_dbus_vm_get_agent_connected (vm))
    return g_strdup (_("none answering"));
  if (os == NULL || os[0] == '\0')
    return g_strdup (version);
  return g_strdup_printf ("%s (%s%s%s)", version, os, kernel && kernel[0] ? " " : "",
                          kernel ? kernel : "");
}

void
spiritctl_print_vm_details (SpiritDBusVm *vm)
{
  g_autofree char *memory = spiritctl_format_memory (spirit_dbus_vm_get_memory_ki_b (vm));
  g_autofree char *max_memory = spiritctl_format_memory (spirit_dbus_vm_get_max_memory_ki_b (vm));
  const char *const *snaps = spirit_dbus_vm_get_snapshots (vm);
  g_autofree char *snap_list = snaps && snaps[0] ? g_strjoinv (", ", (char **) snaps) : g_strdup ("-");
  const char *title = spirit_dbus_vm_get_title (vm);
  const char *current = spirit_dbus_vm_get_current_snapshot (vm);

  g_print ("%-16s %s\n", _("Name:"), spirit_dbus_vm_get_name (vm));
  if (title && title[0])
    g_print ("%-16s %s\n", _("Title:"), title);
  g_print ("%-16s %s\n", _("UUID:"), spirit_dbus_vm_get_uuid (vm));
  g_print ("%-16s %s\n", _("Host:"), spirit_dbus_vm_get_host (vm));
  g_print ("%-16s %s (%s)\n", _("State:"), spirit_dbus_vm_get_state (vm),
           spirit_dbus_vm_get_state_reason (vm));
  g_print ("%-16s %u\n", _("CPUs:"), spirit_dbus_vm_get_vcpus (vm));
  if (g_strcmp0 (spirit_dbus_vm_get_state (vm), "running") == 0)
    g_print ("%-16s %.0f%%\n", _("CPU usage:"), spirit_dbus_vm_get_cpu_usage (vm));
  g_print ("%-16s %s / %s\n", _("Memory:"), memory, max_memory);
  /* A guest agent can only answer while the VM is active. */
  if (spirit_dbus_vm_get_id (vm) >= 0)
    {
      g_autofree char *agent = describe_agent (vm);

      g_print ("%-16s %s\n", _("Agent:"), agent);
    }
  g_print ("%-16s %s\n", _("Persistent:"), yes_no (spirit_dbus_vm_get_persistent (vm)));
  g_print ("%-16s %s\n", _("Autostart:"), yes_no (spirit_dbus_vm_get_autostart (vm)));
  g_print ("%-16s %s\n", _("Saved state:"), yes_no (spirit_dbus_vm_get_has_saved_state (vm)));
  g_print ("%-16s %s\n", _("Snapshots:"), snap_list);
  if (current && current[0])
    g_print ("%-16s %s\n", _("Current:"), current);
}

void
spiritctl_print_snapshots (SpiritDBusVm *vm)
{
  const char *const *snaps = spirit_dbus_vm_get_snapshots (vm);
  const char *current = spirit_dbus_vm_get_current_snapshot (vm);

  for (guint i = 0; snaps && snaps[i]; i++)
    g_print ("%s%s\n", snaps[i], g_strcmp0 (snaps[i], current) == 0 ? _(" (current)") : "");
}

static JsonNode *
vm_to_json (SpiritDBusVm *vm)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_auto (GStrv) names = g_dbus_proxy_get_cached_property_names (G_DBUS_PROXY (vm));

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "ObjectPath");
  json_builder_add_string_value (builder, g_dbus_proxy_get_object_path (G_DBUS_PROXY (vm)));
  for (guint i = 0; names && names[i]; i++)
    {
      g_autoptr (GVariant) value = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (vm), names[i]);
      json_builder_set_member_name (builder, names[i]);
      json_builder_add_value (builder, json_gvariant_serialize (value));
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
print_json (JsonNode *root)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

void
spiritctl_print_vms_json (GPtrArray *vms)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_ARRAY);
  JsonArray *array = json_array_sized_new (vms->len);

  for (guint i = 0; i < vms->len; i++)
    json_array_add_element (array, vm_to_json (g_ptr_array_index (vms, i)));
  json_node_take_array (root, array);
  print_json (root);
}

void
spiritctl_print_vm_json (SpiritDBusVm *vm)
{
  g_autoptr (JsonNode) root = vm_to_json (vm);

  print_json (root);
}

char *
spiritctl_vm_to_json_line (SpiritDBusVm *vm, const char *event)
{
  g_autoptr (JsonNode) root = vm_to_json (vm);
  g_autoptr (JsonGenerator) generator = json_generator_new ();

  json_object_set_string_member (json_node_get_object (root), "Event", event);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}
