/* spirit-proxy-targets.c: the table of @target names (VM names and aliases) and their OS. */
#define G_LOG_DOMAIN "spirit-proxy-targets"

#include "spirit-proxy-targets.h"

#include "spirit-error.h"

#include <string.h>

#define TARGET_NAME_MAX 255

typedef struct
{
  char *name;
  char *vm;
  SpiritTargetOs os;
} Entry;

struct _SpiritProxyTargets
{
  gatomicrefcount ref_count;
  GPtrArray *entries; /* Entry*, in the order they were added */
};

static void
entry_free (Entry *entry)
{
  g_free (entry->name);
  g_free (entry->vm);
  g_free (entry);
}

SpiritProxyTargets *
spirit_proxy_targets_new (void)
{
  SpiritProxyTargets *self = g_new0 (SpiritProxyTargets, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
  return self;
}

SpiritProxyTargets *
spirit_proxy_targets_ref (SpiritProxyTargets *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
spirit_proxy_targets_unref (SpiritProxyTargets *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_ptr_array_unref (self->entries);
  g_free (self);
}

gboolean
spirit_proxy_target_name_char_is_valid (gunichar c)
{
  return g_unichar_isalnum (c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '/';
}

gboolean
spirit_proxy_target_name_is_valid (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > TARGET_NAME_MAX
      || !g_utf8_validate (name, -1, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (!spirit_proxy_target_name_char_is_valid (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

static gboolean
is_builtin (const char *name)
{
  return g_ascii_strcasecmp (name, "spirit") == 0 || g_ascii_strcasecmp (name, "docker") == 0;
}

static gboolean
names_equal_folded (const char *a, const char *b)
{
  g_autofree char *fa = g_utf8_casefold (a, -1);
  g_autofree char *fb = g_utf8_casefold (b, -1);

  return g_str_equal (fa, fb);
}

gboolean
spirit_proxy_targets_add (
  SpiritProxyTargets *self, const char *name, const char *vm, SpiritTargetOs os, GError **error)
{
  Entry *entry;

  if (!spirit_proxy_target_name_is_valid (name))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "“%s” cannot be a target name: use letters, digits, - _ . + and /", name);
      return FALSE;
    }
  if (is_builtin (name))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "“%s” is a built-in target (@spirit is the host, @docker the containers)", name);
      return FALSE;
    }
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *other = g_ptr_array_index (self->entries, i);
      if (g_str_equal (other->name, name))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "the target “%s” is defined twice (for “%s” and “%s”)", name, other->vm, vm);
          return FALSE;
        }
    }

  entry = g_new0 (Entry, 1);
  entry->name = g_strdup (name);
  entry->vm = g_strdup (vm);
  entry->os = os;
  g_ptr_array_add (self->entries, entry);
  return TRUE;
}

gboolean
spirit_proxy_targets_lookup (SpiritProxyTargets *self,
                             const char *name,
                             const char **out_vm,
                             SpiritTargetOs *out_os)
{
  Entry *found = NULL;
  guint n_folded = 0;

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      if (g_str_equal (entry->name, name))
        {
          found = entry;
          n_folded = 1;
          break;
        }
      if (names_equal_folded (entry->name, name))
        {
          found = entry;
          n_folded++;
        }
    }
  /* "@WINDOWS" finds "windows", but never picks one of "Lab" and "lab". */
  if (found == NULL || n_folded != 1)
    return FALSE;
  if (out_vm != NULL)
    *out_vm = found->vm;
  if (out_os != NULL)
    *out_os = found->os;
  return TRUE;
}

GStrv
spirit_proxy_targets_list_names (SpiritProxyTargets *self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  g_strv_builder_add (builder, "spirit");
  g_strv_builder_add (builder, "docker");
  for (guint i = 0; self != NULL && i < self->entries->len; i++)
    g_strv_builder_add (builder, ((Entry *)g_ptr_array_index (self->entries, i))->name);
  return g_strv_builder_end (builder);
}

char *
spirit_proxy_targets_describe (SpiritProxyTargets *self)
{
  g_auto (GStrv) names = spirit_proxy_targets_list_names (self);
  GString *out = g_string_new (NULL);

  for (guint i = 0; names[i] != NULL; i++)
    g_string_append_printf (out, "%s@%s", i > 0 ? ", " : "", names[i]);
  return g_string_free (out, FALSE);
}
