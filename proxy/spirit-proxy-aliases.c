/* spirit-proxy-aliases.c: reading targets.conf (see the header). */
#define G_LOG_DOMAIN "spirit-proxy-aliases"

#include "spirit-proxy-aliases.h"
#include "spirit-error.h"

void
spirit_proxy_alias_free (SpiritProxyAlias *alias)
{
  g_free (alias->name);
  g_free (alias->vm);
  g_free (alias);
}

gboolean
spirit_target_os_from_string (const char *text, SpiritTargetOs *out_os)
{
  if (g_ascii_strcasecmp (text, "windows") == 0)
    *out_os = SPIRIT_TARGET_OS_WINDOWS;
  else if (g_ascii_strcasecmp (text, "posix") == 0 || g_ascii_strcasecmp (text, "linux") == 0)
    *out_os = SPIRIT_TARGET_OS_POSIX;
  else
    return FALSE;
  return TRUE;
}

GPtrArray *
spirit_proxy_aliases_load_file (const char *path, GError **error)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GPtrArray) aliases
    = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_proxy_alias_free);
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) groups = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&aliases);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "%s: %s", path,
                   local->message);
      return NULL;
    }
  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autoptr (SpiritProxyAlias) alias = g_new0 (SpiritProxyAlias, 1);
      g_autofree char *os = g_key_file_get_string (file, groups[i], "os", NULL);

      alias->name = g_strdup (groups[i]);
      alias->vm = g_key_file_get_string (file, groups[i], "vm", NULL);
      if (alias->vm == NULL || alias->vm[0] == '\0')
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "%s: the alias [%s] has no vm= key naming its VM", path, groups[i]);
          return NULL;
        }
      if (!spirit_proxy_target_name_is_valid (alias->name))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "%s: [%s] cannot be an alias: use letters, digits, - _ . + and /", path,
                       groups[i]);
          return NULL;
        }
      if (os != NULL && !spirit_target_os_from_string (os, &alias->os))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "%s: [%s] os=%s: expected windows or posix", path, groups[i], os);
          return NULL;
        }
      g_ptr_array_add (aliases, g_steal_pointer (&alias));
    }
  return g_steal_pointer (&aliases);
}

GPtrArray *
spirit_proxy_aliases_load_default (GError **error)
{
  g_autofree char *user_path
    = g_build_filename (g_get_user_config_dir (), "spirit", "targets.conf", NULL);
  const char *system_path = g_getenv ("SPIRIT_TARGETS_CONF");
  g_autoptr (GPtrArray) system = NULL;
  g_autoptr (GPtrArray) user = NULL;

  if (system_path == NULL)
    system_path = SPIRIT_SYSCONFDIR "/spirit/targets.conf";
  if ((system = spirit_proxy_aliases_load_file (system_path, error)) == NULL)
    return NULL;
  if ((user = spirit_proxy_aliases_load_file (user_path, error)) == NULL)
    return NULL;
  /* The user's win: drop the system's of the same name, then append the user's. */
  for (guint i = 0; i < user->len; i++)
    {
      SpiritProxyAlias *mine = g_ptr_array_index (user, i);
      for (guint j = system->len; j-- > 0;)
        if (g_str_equal (((SpiritProxyAlias *)g_ptr_array_index (system, j))->name, mine->name))
          g_ptr_array_remove_index (system, j);
    }
  g_ptr_array_extend_and_steal (system, g_steal_pointer (&user));
  return g_steal_pointer (&system);
}
