/* spirit-config.c: reads and validates spirit.conf; a bad file is a clear error at start-up. */
#define G_LOG_DOMAIN "spirit-config"

#include "spirit-config.h"
#include "spirit-error.h"

#define HOST_GROUP_PREFIX "host "

static void
spirit_host_spec_free (SpiritHostSpec *spec)
{
  g_free (spec->name);
  g_free (spec->uri);
  g_free (spec);
}

void
spirit_config_free (SpiritConfig *config)
{
  if (config == NULL)
    return;
  g_ptr_array_unref (config->hosts);
  g_free (config);
}

/* Host names appear in object paths and in "host/vm" names: keep them simple. */
gboolean
spirit_host_name_is_valid (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > SPIRIT_HOST_NAME_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '-' && name[i] != '_')
      return FALSE;
  return TRUE;
}

static SpiritHostSpec *
find_host (SpiritConfig *config, const char *name)
{
  for (guint i = 0; i < config->hosts->len; i++)
    {
      SpiritHostSpec *spec = g_ptr_array_index (config->hosts, i);
      if (g_str_equal (spec->name, name))
        return spec;
    }
  return NULL;
}

static void
add_host (SpiritConfig *config, const char *name, const char *uri)
{
  SpiritHostSpec *spec = g_new0 (SpiritHostSpec, 1);

  spec->name = g_strdup (name);
  spec->uri = g_strdup (uri);
  g_ptr_array_add (config->hosts, spec);
}

static gboolean
load_hosts (SpiritConfig *config, GKeyFile *file, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (file, NULL);

  for (guint i = 0; groups[i]; i++)
    {
      const char *name;
      g_autofree char *uri = NULL;

      if (!g_str_has_prefix (groups[i], HOST_GROUP_PREFIX))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "Unknown group [%s] (expected [host NAME])", groups[i]);
          return FALSE;
        }
      name = groups[i] + strlen (HOST_GROUP_PREFIX);
      if (!spirit_host_name_is_valid (name))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "Host name '%s' is not valid (use 1 to %d letters, digits, '-' or '_')", name,
                       SPIRIT_HOST_NAME_MAX);
          return FALSE;
        }
      if (find_host (config, name) != NULL)
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "Host '%s' is defined twice", name);
          return FALSE;
        }
      uri = g_key_file_get_string (file, groups[i], "uri", NULL);
      if (uri == NULL || *g_strstrip (uri) == '\0')
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "Host '%s' has no uri=", name);
          return FALSE;
        }
      add_host (config, name, uri);
    }
  return TRUE;
}

static SpiritConfig *
finish (SpiritConfig *config, const char *uri_override)
{
  SpiritHostSpec *local = find_host (config, SPIRIT_LOCAL_HOST);

  if (uri_override != NULL && local != NULL)
    {
      g_free (local->uri);
      local->uri = g_strdup (uri_override);
    }
  else if (uri_override != NULL)
    {
      SpiritHostSpec *spec = g_new0 (SpiritHostSpec, 1);
      spec->name = g_strdup (SPIRIT_LOCAL_HOST);
      spec->uri = g_strdup (uri_override);
      g_ptr_array_insert (config->hosts, 0, spec);
    }
  else if (config->hosts->len == 0)
    add_host (config, SPIRIT_LOCAL_HOST, SPIRIT_DEFAULT_URI);
  return config;
}

SpiritConfig *
spirit_config_load_from_data (const char *data, const char *uri_override, GError **error)
{
  g_autoptr (SpiritConfig) config = g_new0 (SpiritConfig, 1);
  g_autoptr (GKeyFile) file = g_key_file_new ();

  config->hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) spirit_host_spec_free);
  if (data != NULL)
    {
      g_autoptr (GError) local_error = NULL;
      if (!g_key_file_load_from_data (file, data, -1, G_KEY_FILE_NONE, &local_error))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "%s", local_error->message);
          return NULL;
        }
      if (!load_hosts (config, file, error))
        return NULL;
    }
  return finish (g_steal_pointer (&config), uri_override);
}

SpiritConfig *
spirit_config_load (const char *path, const char *uri_override, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local_error = NULL;
  SpiritConfig *config;

  if (!g_file_get_contents (path, &data, NULL, &local_error) &&
      !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "%s", local_error->message);
      return NULL;
    }
  config = spirit_config_load_from_data (data, uri_override, &local_error);
  if (config == NULL)
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "%s: %s", path, local_error->message);
  return config;
}
