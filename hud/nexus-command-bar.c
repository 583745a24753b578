/* nexus-command-bar.c: the @ command bar at the bottom of the HUD.
 *
 * A line of the @target language (docs/proxy-syntax.md) runs through libspirit_runner, the code
 * spiritctl uses: "@windows dir C:\Users" in a VM through spiritd's Proxy.Exec, "@spirit …" on
 * this computer as the user, "@docker:web ps" in a container, "@linux --pause" on the VM object.
 * The line's stdout and stderr are pipes read here as the bytes come, into the pane above the
 * entry (stderr in its own colour, the pane kept to its last OUTPUT_LIMIT characters); stdin is
 * empty. The exit status or the error is shown under the pane. Tab completes @targets from the
 * VM list and targets.conf; Up and Down walk the lines run before.
 */
#define G_LOG_DOMAIN "nexus-command-bar"

#include "nexus-command-bar.h"
#include "nexus-vm.h"

#include "spirit-line-runner.h"
#include "spirit-proxy-target-table.h"

#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gi18n.h>

#define OUTPUT_LIMIT (256 * 1024) /* characters kept in the pane */
#define READ_CHUNK 16384
#define HISTORY_LIMIT 200

struct _NexusCommandBar
{
  AdwBin parent_instance;

  GtkRevealer *output_revealer;
  GtkScrolledWindow *output_scroller;
  GtkTextView *output_view;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkButton *stop_button;
  GtkEntry *entry;

  NexusClient *client;
  GtkTextTag *stderr_tag;
  GPtrArray *history; /* char*, oldest first */
  guint history_pos;  /* == history->len: the line being typed */

  /* the line running */
  GCancellable *cancellable;
  guint pending; /* the runner and the two streams */
  int status;
  char *failure;
};

G_DEFINE_FINAL_TYPE (NexusCommandBar, nexus_command_bar, ADW_TYPE_BIN)

enum
{
  PROP_0,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

/* ---- output ------------------------------------------------------------------------------- */

static void
append_output (NexusCommandBar *self, const char *text, gsize len, gboolean is_stderr)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->output_view);
  GtkTextIter end;
  int excess;

  gtk_text_buffer_get_end_iter (buffer, &end);
  if (is_stderr)
    gtk_text_buffer_insert_with_tags (buffer, &end, text, (int)len, self->stderr_tag, NULL);
  else
    gtk_text_buffer_insert (buffer, &end, text, (int)len);
  excess = gtk_text_buffer_get_char_count (buffer) - OUTPUT_LIMIT;
  if (excess > 0)
    {
      GtkTextIter start, cut;
      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_get_iter_at_offset (buffer, &cut, excess);
      gtk_text_buffer_delete (buffer, &start, &cut);
    }
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_view_scroll_to_iter (self->output_view, &end, 0, FALSE, 0, 1);
}

static void
set_status (NexusCommandBar *self, const char *text, gboolean failed)
{
  gtk_label_set_text (self->status_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->status_label), text);
  if (failed)
    gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
}

static void
line_finished (NexusCommandBar *self)
{
  g_autofree char *text = NULL;

  gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), FALSE);
  g_clear_object (&self->cancellable);
  if (self->failure != NULL)
    set_status (self, self->failure, TRUE);
  else
    {
      text = self->status == 0 ? g_strdup (_ ("Finished: exit status 0"))
                               : g_strdup_printf (_ ("Failed: exit status %d"), self->status);
      set_status (self, text, self->status != 0);
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
}

static void
part_done (NexusCommandBar *self)
{
  g_assert (self->pending > 0);
  if (--self->pending == 0)
    line_finished (self);
}

typedef struct
{
  NexusCommandBar *self; /* strong */
  GInputStream *stream;
  gboolean is_stderr;
  char buf[READ_CHUNK];
  GString *partial; /* bytes of a UTF-8 character cut by a read */
} OutputReader;

static void read_more (OutputReader *reader);

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  OutputReader *reader = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n > 0)
    {
      const char *end;
      gsize valid;

      g_string_append_len (reader->partial, reader->buf, n);
      /* Show what is valid UTF-8; keep an incomplete last character for the next read, and
       * replace bytes that can never be valid. */
      g_utf8_validate (reader->partial->str, reader->partial->len, &end);
      valid = end - reader->partial->str;
      if (reader->partial->len - valid >= 4)
        {
          g_autofree char *fixed = g_utf8_make_valid (reader->partial->str, reader->partial->len);
          append_output (reader->self, fixed, strlen (fixed), reader->is_stderr);
          g_string_truncate (reader->partial, 0);
        }
      else
        {
          append_output (reader->self, reader->partial->str, valid, reader->is_stderr);
          g_string_erase (reader->partial, 0, valid);
        }
      read_more (reader);
      return;
    }
  if (reader->partial->len > 0)
    {
      g_autofree char *fixed = g_utf8_make_valid (reader->partial->str, reader->partial->len);
      append_output (reader->self, fixed, strlen (fixed), reader->is_stderr);
    }
  if (error != NULL)
    g_debug ("output: %s", error->message);
  part_done (reader->self);
  g_object_unref (reader->self);
  g_object_unref (reader->stream);
  g_string_free (reader->partial, TRUE);
  g_free (reader);
}

static void
read_more (OutputReader *reader)
{
  /* Not cancellable: the pipe ends when every writer closes it, and the runner makes sure of
   * that when the line is stopped. */
  g_input_stream_read_async (reader->stream, reader->buf, sizeof reader->buf, G_PRIORITY_DEFAULT,
                             NULL, on_read, reader);
}

static void
start_reader (NexusCommandBar *self, int fd, gboolean is_stderr)
{
  OutputReader *reader = g_new0 (OutputReader, 1);

  reader->self = g_object_ref (self);
  reader->stream = g_unix_input_stream_new (fd, TRUE);
  reader->is_stderr = is_stderr;
  reader->partial = g_string_new (NULL);
  self->pending++;
  read_more (reader);
}

/* ---- running a line ----------------------------------------------------------------------- */

static void
on_line_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NexusCommandBar) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!spirit_line_runner_run_finish (SPIRIT_LINE_RUNNER (source), result, &self->status, &error))
    {
      self->status = 1;
      self->failure = g_strdup (error->message);
    }
  part_done (self);
}

static SpiritProxyTargets *
make_targets (NexusCommandBar *self, GError **error)
{
  g_autoptr (GPtrArray) vms = g_ptr_array_new_with_free_func (g_object_unref);
  GListModel *model = self->client ? nexus_client_get_vms (self->client) : NULL;
  guint n = model ? g_list_model_get_n_items (model) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (NexusVm) vm = g_list_model_get_item (model, i);
      g_ptr_array_add (vms, g_object_ref (nexus_vm_get_proxy (vm)));
    }
  return spirit_proxy_targets_new_for_vms (vms, error);
}

static void
remember (NexusCommandBar *self, const char *text)
{
  if (self->history->len == 0
      || !g_str_equal (g_ptr_array_index (self->history, self->history->len - 1), text))
    g_ptr_array_add (self->history, g_strdup (text));
  if (self->history->len > HISTORY_LIMIT)
    g_ptr_array_remove_index (self->history, 0);
  self->history_pos = self->history->len;
}

gboolean
nexus_command_bar_run (NexusCommandBar *self, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritProxyTargets) targets = NULL;
  g_autoptr (SpiritCommandLine) line = NULL;
  g_autoptr (SpiritLineRunner) runner = NULL;
  guint column = 0;
  int out_pipe[2], err_pipe[2], null_fd;

  g_return_val_if_fail (NEXUS_IS_COMMAND_BAR (self), FALSE);
  if (self->cancellable != NULL)
    return FALSE; /* one line at a time */

  gtk_revealer_set_reveal_child (self->output_revealer, TRUE);
  targets = make_targets (self, &error);
  if (targets != NULL)
    line = spirit_command_line_parse (text, targets, &column, &error);
  if (line == NULL)
    {
      set_status (self, error->message, TRUE);
      if (column > 0)
        gtk_editable_set_position (GTK_EDITABLE (self->entry), (int)column - 1);
      gtk_widget_add_css_class (GTK_WIDGET (self->entry), "error");
      return FALSE;
    }
  if (line->stages->len == 0)
    return FALSE;
  remember (self, text);

  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || !g_unix_open_pipe (out_pipe, FD_CLOEXEC, &error))
    {
      set_status (self, error ? error->message : g_strerror (errno), TRUE);
      return FALSE;
    }
  if (!g_unix_open_pipe (err_pipe, FD_CLOEXEC, &error))
    {
      close (out_pipe[0]);
      close (out_pipe[1]);
      close (null_fd);
      set_status (self, error->message, TRUE);
      return FALSE;
    }

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->output_view), "", 0);
  g_clear_pointer (&self->failure, g_free);
  self->status = 0;
  self->cancellable = g_cancellable_new ();
  {
    g_autofree char *running = g_strdup_printf (_ ("Running %s"), text);
    set_status (self, running, FALSE);
  }
  gtk_spinner_start (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), TRUE);

  runner = spirit_line_runner_new (self->client ? nexus_client_get_bus (self->client) : NULL, NULL);
  self->pending = 1;
  spirit_line_runner_run_async (runner, line, null_fd, out_pipe[1], err_pipe[1], self->cancellable,
                                on_line_done, g_object_ref (self));
  /* The runner holds its own copies: ours would keep the pipes open forever. */
  close (null_fd);
  close (out_pipe[1]);
  close (err_pipe[1]);
  start_reader (self, out_pipe[0], FALSE);
  start_reader (self, err_pipe[0], TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
  return TRUE;
}

/* ---- the entry: activation, history, completion ------------------------------------------ */

static void
on_entry_activate (NexusCommandBar *self)
{
  g_autofree char *text = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->entry)));

  if (g_strstrip (text)[0] == '\0')
    return;
  if (nexus_command_bar_run (self, text))
    gtk_editable_set_text (GTK_EDITABLE (self->entry), "");
}

static void
on_entry_changed (NexusCommandBar *self)
{
  gtk_widget_remove_css_class (GTK_WIDGET (self->entry), "error");
}

static void
on_stop_clicked (NexusCommandBar *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

static void
on_close_clicked (NexusCommandBar *self)
{
  gtk_revealer_set_reveal_child (self->output_revealer, FALSE);
}

static void
recall (NexusCommandBar *self, int step)
{
  int pos = (int)self->history_pos + step;

  if (pos < 0 || pos > (int)self->history->len)
    return;
  self->history_pos = (guint)pos;
  gtk_editable_set_text (GTK_EDITABLE (self->entry), pos == (int)self->history->len
                                                       ? ""
                                                       : g_ptr_array_index (self->history, pos));
  gtk_editable_set_position (GTK_EDITABLE (self->entry), -1);
}

gboolean
nexus_command_bar_complete (NexusCommandBar *self)
{
  GtkEditable *editable = GTK_EDITABLE (self->entry);
  g_autofree char *text = g_strdup (gtk_editable_get_text (editable));
  int cursor = gtk_editable_get_position (editable);
  const char *cursor_p = g_utf8_offset_to_pointer (text, cursor);
  const char *word = cursor_p;
  g_autoptr (SpiritProxyTargets) targets = NULL;
  g_auto (GStrv) names = NULL;
  g_autoptr (GPtrArray) matches = g_ptr_array_new ();
  g_autofree char *prefix = NULL;
  g_autofree char *common = NULL;
  gsize common_len;

  while (word > text && !g_ascii_isspace (word[-1]) && word[-1] != '|')
    word--;
  if (*word != '@')
    return FALSE;
  prefix = g_strndup (word + 1, cursor_p - word - 1);
  if ((targets = make_targets (self, NULL)) == NULL)
    return FALSE;
  names = spirit_proxy_targets_list_names (targets);
  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_has_prefix (names[i], prefix))
      g_ptr_array_add (matches, names[i]);
  if (matches->len == 0)
    return TRUE;
  common = g_strdup (g_ptr_array_index (matches, 0));
  common_len = strlen (common);
  for (guint i = 1; i < matches->len; i++)
    {
      const char *other = g_ptr_array_index (matches, i);
      gsize j = 0;
      while (j < common_len && common[j] == other[j])
        j++;
      common_len = j;
    }
  common[common_len] = '\0';
  {
    int start = (int)g_utf8_pointer_to_offset (text, word) + 1;
    g_autofree char *insert
      = matches->len == 1 ? g_strconcat (common, " ", NULL) : g_strdup (common);
    int pos = start;

    gtk_editable_delete_text (editable, start, cursor);
    gtk_editable_insert_text (editable, insert, -1, &pos);
    gtk_editable_set_position (editable, pos);
  }
  if (matches->len > 1)
    {
      g_autoptr (GString) list = g_string_new (NULL);
      for (guint i = 0; i < matches->len; i++)
        g_string_append_printf (list, "%s@%s", i ? "  " : "",
                                (char *)g_ptr_array_index (matches, i));
      gtk_revealer_set_reveal_child (self->output_revealer, TRUE);
      set_status (self, list->str, FALSE);
    }
  return TRUE;
}

static gboolean
on_key_pressed (GtkEventControllerKey *controller,
                guint keyval,
                guint keycode,
                GdkModifierType state,
                NexusCommandBar *self)
{
  switch (keyval)
    {
    case GDK_KEY_Tab:
      return nexus_command_bar_complete (self);
    case GDK_KEY_Up:
      recall (self, -1);
      return TRUE;
    case GDK_KEY_Down:
      recall (self, +1);
      return TRUE;
    default:
      return FALSE;
    }
}

/* ---- for the window and the tests ---------------------------------------------------------- */

void
nexus_command_bar_set_client (NexusCommandBar *self, NexusClient *client)
{
  g_set_object (&self->client, client);
}

gboolean
nexus_command_bar_get_running (NexusCommandBar *self)
{
  return self->cancellable != NULL;
}

int
nexus_command_bar_get_status (NexusCommandBar *self)
{
  return self->status;
}

const char *
nexus_command_bar_get_status_text (NexusCommandBar *self)
{
  return gtk_label_get_text (self->status_label);
}

char *
nexus_command_bar_get_output (NexusCommandBar *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->output_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

GtkEntry *
nexus_command_bar_get_entry (NexusCommandBar *self)
{
  return self->entry;
}

/* ---- GObject ------------------------------------------------------------------------------ */

static void
nexus_command_bar_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, nexus_command_bar_get_running (NEXUS_COMMAND_BAR (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
nexus_command_bar_dispose (GObject *object)
{
  NexusCommandBar *self = NEXUS_COMMAND_BAR (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->client);
  gtk_widget_dispose_template (GTK_WIDGET (object), NEXUS_TYPE_COMMAND_BAR);
  G_OBJECT_CLASS (nexus_command_bar_parent_class)->dispose (object);
}

static void
nexus_command_bar_finalize (GObject *object)
{
  NexusCommandBar *self = NEXUS_COMMAND_BAR (object);

  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->history);
  g_free (self->failure);
  G_OBJECT_CLASS (nexus_command_bar_parent_class)->finalize (object);
}

static void
nexus_command_bar_class_init (NexusCommandBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = nexus_command_bar_get_property;
  object_class->dispose = nexus_command_bar_dispose;
  object_class->finalize = nexus_command_bar_finalize;

  props[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/crom/Spirit/Nexus/nexus-command-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, NexusCommandBar, output_revealer);
  gtk_widget_class_bind_template_child (widget_class, NexusCommandBar, output_scroller);
  gtk_widget_class_bind_template_child (widget_class, NexusCommandBar, output_view);
  gtk_widget_class_bind_template_child (widget_class, NexusCommandBar, spinner);
  gtk_widget_class_bind_template_child (widget_class, NexusCommandBar, status_label);
  gtk_widget_class_bind_template_child (widget_class, NexusCommandBar, stop_button);
  gtk_widget_class_bind_template_child (widget_class, NexusCommandBar, entry);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_entry_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_stop_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_close_clicked);
}

static void
nexus_command_bar_init (NexusCommandBar *self)
{
  GtkEventController *keys = gtk_event_controller_key_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  self->history = g_ptr_array_new_with_free_func (g_free);
  self->stderr_tag = gtk_text_buffer_create_tag (gtk_text_view_get_buffer (self->output_view),
                                                 "stderr", "foreground", "#f66151", NULL);
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->entry), keys);
}
