/* nexus-vm-row.c: the row of one VM in the machines list.
 *
 * Shows the VM's name, state, size and title, and offers its operations as "vm.*" actions whose
 * enabled state follows the VM: a button whose operation the state does not allow is insensitive.
 * Rows are recycled by the GtkListView; everything shown is redrawn from the bound NexusVm on its
 * "changed" signal, so a PropertiesChanged from spiritd reaches the row with no poll.
 */
#define G_LOG_DOMAIN "nexus-vm-row"

#include "nexus-vm-row.h"
#include "nexus-cpu-graph.h"
#include "nexus-window.h"

#include <glib/gi18n.h>

struct _NexusVmRow
{
  GtkWidget parent_instance;

  NexusVm *vm;
  GSignalGroup *vm_signals;
  char *state_class;

  GtkImage *icon;
  GtkLabel *name_label;
  GtkLabel *state_label;
  GtkSpinner *busy_spinner;
  GtkLabel *details_label;
  GtkLabel *host_label;
  NexusCpuGraph *cpu_graph;
};

G_DEFINE_FINAL_TYPE (NexusVmRow, nexus_vm_row, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_VM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* "vm.<action>" for every operation, in NexusVmOp order. */
static char *row_action_names[NEXUS_VM_N_OPS];

/* 524288 KiB → "512 MiB": whole units when they are whole, GLib's rounding otherwise. */
static char *
format_kib (guint64 kib)
{
  if (kib >= 1024 * 1024 && kib % (1024 * 1024) == 0 && kib / (1024 * 1024) < G_MAXUINT)
    return g_strdup_printf (_ ("%u GiB"), (guint)(kib / (1024 * 1024)));
  if (kib >= 1024 && kib % 1024 == 0 && kib < G_MAXUINT)
    return g_strdup_printf (_ ("%u MiB"), (guint)(kib / 1024));
  return g_format_size_full (kib * 1024, G_FORMAT_SIZE_IEC_UNITS);
}

static char *
describe_vm (SpiritDBusVm *proxy)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  const char *title = spirit_dbus_vm_get_title (proxy);
  const char *const *snapshots = spirit_dbus_vm_get_snapshots (proxy);
  guint vcpus = spirit_dbus_vm_get_vcpus (proxy);
  guint64 memory = spirit_dbus_vm_get_memory_ki_b (proxy);
  guint64 max_memory = spirit_dbus_vm_get_max_memory_ki_b (proxy);
  guint n_snapshots = snapshots ? g_strv_length ((char **)snapshots) : 0;

  if (title != NULL && title[0] != '\0')
    g_ptr_array_add (parts, g_strdup (title));
  g_ptr_array_add (parts, g_strdup_printf (ngettext ("%u vCPU", "%u vCPUs", vcpus), vcpus));
  /* how busy its vCPUs were over the last 2 s; spiritd reads it for running VMs only */
  if (g_strcmp0 (spirit_dbus_vm_get_state (proxy), "running") == 0)
    /* Translators: how busy a running VM's virtual CPUs are, e.g. "CPU 12%" */
    g_ptr_array_add (parts,
                     g_strdup_printf (_ ("CPU %.0f%%"), spirit_dbus_vm_get_cpu_usage (proxy)));
  /* A running or paused VM holds its current memory; an inactive one has only a maximum. */
  if (spirit_dbus_vm_get_id (proxy) >= 0 && memory != 0 && memory != max_memory)
    {
      g_autofree char *used = format_kib (memory);
      g_autofree char *max = format_kib (max_memory);
      /* Translators: current memory of a VM "of" its maximum, e.g. "512 MiB of 1 GiB" */
      g_ptr_array_add (parts, g_strdup_printf (_ ("%s of %s"), used, max));
    }
  else
    g_ptr_array_add (parts, format_kib (max_memory));
  /* The guest agent (spirit-agent on spirit.0): what it reported, or that none answers. */
  if (spirit_dbus_vm_get_id (proxy) >= 0)
    {
      const char *os = spirit_dbus_vm_get_guest_os (proxy);
      const char *kernel = spirit_dbus_vm_get_guest_kernel (proxy);

      if (!spirit_dbus_vm_get_agent_connected (proxy))
        g_ptr_array_add (parts, g_strdup (_ ("no agent")));
      else if (os != NULL && os[0] != '\0')
        /* Translators: the guest's OS and kernel, as its agent reported them, e.g. "agent: linux 6.1.0" */
        g_ptr_array_add (parts, g_strdup_printf (_ ("agent: %s %s"), os, kernel ? kernel : ""));
      else
        g_ptr_array_add (parts, g_strdup (_ ("agent connected")));
    }
  if (spirit_dbus_vm_get_has_saved_state (proxy))
    g_ptr_array_add (parts, g_strdup (_ ("saved memory image")));
  if (n_snapshots > 0)
    g_ptr_array_add (
      parts, g_strdup_printf (ngettext ("%u snapshot", "%u snapshots", n_snapshots), n_snapshots));
  if (spirit_dbus_vm_get_autostart (proxy))
    g_ptr_array_add (parts, g_strdup (_ ("starts with the host")));
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (" · ", (char **)parts->pdata);
}

static void
set_state_class (NexusVmRow *self, const char *state)
{
  g_autofree char *state_class = state ? g_strconcat ("state-", state, NULL) : NULL;

  if (g_strcmp0 (self->state_class, state_class) == 0)
    return;
  if (self->state_class != NULL)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->icon), self->state_class);
      gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), self->state_class);
    }
  g_free (self->state_class);
  self->state_class = g_steal_pointer (&state_class);
  if (self->state_class != NULL)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->icon), self->state_class);
      gtk_widget_add_css_class (GTK_WIDGET (self->state_label), self->state_class);
    }
}

/* The graph of the last minute, shown while the VM runs (its history is empty otherwise). */
static void
refresh_cpu_graph (NexusVmRow *self)
{
  const NexusCpuHistory *history = nexus_vm_get_cpu_history (self->vm);
  guint n = nexus_cpu_history_get_length (history);
  g_autofree char *tooltip = NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->cpu_graph), n > 0);
  if (n == 0)
    return;
  nexus_cpu_graph_set_history (self->cpu_graph, history);
  /* Translators: the tooltip of a running VM's CPU graph, e.g. "CPU over the last minute: 12% now, 40% at most" */
  tooltip = g_strdup_printf (_ ("CPU over the last minute: %.0f%% now, %.0f%% at most"),
                             nexus_cpu_history_get (history, n - 1),
                             nexus_cpu_history_get_peak (history));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->cpu_graph), tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->cpu_graph), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  tooltip, -1);
}

static void
nexus_vm_row_refresh (NexusVmRow *self)
{
  SpiritDBusVm *proxy;
  const char *state;
  const char *reason;
  g_autofree char *details = NULL;
  gboolean busy;

  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), row_action_names[op],
                                   self->vm != NULL && nexus_vm_can_run (self->vm, op));
  if (self->vm == NULL)
    {
      set_state_class (self, NULL);
      gtk_widget_set_visible (GTK_WIDGET (self->cpu_graph), FALSE);
      return;
    }

  proxy = nexus_vm_get_proxy (self->vm);
  state = nexus_vm_get_state (self->vm);
  reason = spirit_dbus_vm_get_state_reason (proxy);
  busy = nexus_vm_get_busy (self->vm);
  details = describe_vm (proxy);

  gtk_label_set_label (self->name_label, nexus_vm_get_name (self->vm));
  gtk_label_set_label (self->state_label, nexus_vm_state_get_label (state));
  /* libvirt's reason ("user", "booted", "from-snapshot") is detail, not headline. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->state_label),
                               reason != NULL && reason[0] != '\0' ? reason : NULL);
  gtk_label_set_label (self->details_label, details);
  gtk_label_set_label (self->host_label, nexus_vm_get_host (self->vm));
  gtk_widget_set_visible (GTK_WIDGET (self->host_label), nexus_vm_get_show_host (self->vm));
  gtk_widget_set_visible (GTK_WIDGET (self->busy_spinner), busy);
  gtk_spinner_set_spinning (self->busy_spinner, busy);
  set_state_class (self, state);
  refresh_cpu_graph (self);
}

static void
activate_op (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NexusVmRow *self = NEXUS_VM_ROW (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  NexusVmOp op;

  if (self->vm != NULL && NEXUS_IS_WINDOW (root) && nexus_vm_op_from_action_name (action_name, &op))
    nexus_window_run_vm_op (NEXUS_WINDOW (root), self->vm, op);
}

static void
nexus_vm_row_dispose (GObject *object)
{
  NexusVmRow *self = NEXUS_VM_ROW (object);
  GtkWidget *child;

  g_signal_group_set_target (self->vm_signals, NULL);
  g_clear_object (&self->vm);
  gtk_widget_dispose_template (GTK_WIDGET (self), NEXUS_TYPE_VM_ROW);
  /* the template's top box has no id, so dispose_template() leaves it to us */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (nexus_vm_row_parent_class)->dispose (object);
}

static void
nexus_vm_row_finalize (GObject *object)
{
  NexusVmRow *self = NEXUS_VM_ROW (object);

  g_clear_object (&self->vm_signals);
  g_free (self->state_class);
  G_OBJECT_CLASS (nexus_vm_row_parent_class)->finalize (object);
}

static void
nexus_vm_row_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NexusVmRow *self = NEXUS_VM_ROW (object);

  switch (prop_id)
    {
    case PROP_VM:
      g_value_set_object (value, self->vm);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_vm_row_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  NexusVmRow *self = NEXUS_VM_ROW (object);

  switch (prop_id)
    {
    case PROP_VM:
      nexus_vm_row_set_vm (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_vm_row_class_init (NexusVmRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = nexus_vm_row_dispose;
  object_class->finalize = nexus_vm_row_finalize;
  object_class->get_property = nexus_vm_row_get_property;
  object_class->set_property = nexus_vm_row_set_property;

  properties[PROP_VM]
    = g_param_spec_object ("vm", NULL, NULL, NEXUS_TYPE_VM,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (NEXUS_TYPE_CPU_GRAPH);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/crom/Spirit/Nexus/nexus-vm-row.ui");
  gtk_widget_class_bind_template_child (widget_class, NexusVmRow, icon);
  gtk_widget_class_bind_template_child (widget_class, NexusVmRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, NexusVmRow, state_label);
  gtk_widget_class_bind_template_child (widget_class, NexusVmRow, busy_spinner);
  gtk_widget_class_bind_template_child (widget_class, NexusVmRow, details_label);
  gtk_widget_class_bind_template_child (widget_class, NexusVmRow, host_label);
  gtk_widget_class_bind_template_child (widget_class, NexusVmRow, cpu_graph);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);

  for (guint op = 0; op < NEXUS_VM_N_OPS; op++)
    {
      row_action_names[op] = g_strconcat ("vm.", nexus_vm_op_get_action_name (op), NULL);
      gtk_widget_class_install_action (widget_class, row_action_names[op], NULL, activate_op);
    }
}

static void
nexus_vm_row_init (NexusVmRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->vm_signals = g_signal_group_new (NEXUS_TYPE_VM);
  g_signal_group_connect_swapped (self->vm_signals, "changed", G_CALLBACK (nexus_vm_row_refresh),
                                  self);
  g_signal_group_connect_swapped (self->vm_signals, "cpu-sampled", G_CALLBACK (refresh_cpu_graph),
                                  self);
  nexus_vm_row_refresh (self);
}

GtkWidget *
nexus_vm_row_new (void)
{
  return g_object_new (NEXUS_TYPE_VM_ROW, NULL);
}

NexusVm *
nexus_vm_row_get_vm (NexusVmRow *self)
{
  g_return_val_if_fail (NEXUS_IS_VM_ROW (self), NULL);
  return self->vm;
}

void
nexus_vm_row_set_vm (NexusVmRow *self, NexusVm *vm)
{
  g_return_if_fail (NEXUS_IS_VM_ROW (self));
  g_return_if_fail (vm == NULL || NEXUS_IS_VM (vm));

  if (!g_set_object (&self->vm, vm))
    return;
  g_signal_group_set_target (self->vm_signals, vm);
  nexus_vm_row_refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VM]);
}
