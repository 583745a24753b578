/* spirit-profile.c: reads, layers and checks *.profile key files. */
#define G_LOG_DOMAIN "spirit-profile"

#include "spirit-profile.h"
#include "spirit-vm-spec.h"
#include "spirit-error.h"

#include <stddef.h>

#define PROFILE_SUFFIX ".profile"

typedef enum
{
  KEY_STRING,
  KEY_PATH, /* absolute, or empty for none */
  KEY_BOOL,
  KEY_ENUM, /* one of `allowed` */
  KEY_LIST, /* a subset of `allowed` */
  KEY_UINT, /* min..max */
  KEY_MIB,  /* MiB, stored as KiB */
  KEY_TPM,
  KEY_FIRMWARE,
  KEY_CLOCK,
} KeyKind;

static const char *const machine_types[] = { "q35", "pc", NULL };
static const char *const arches[] = { "x86_64", NULL };
static const char *const features[] = { "acpi", "apic", "pae", "vmcoreinfo", NULL };
static const char *const hyperv[]
  = { "relaxed", "vapic",       "spinlocks",       "vpindex",  "runtime", "synic", "stimer",
      "reset",   "frequencies", "reenlightenment", "tlbflush", "ipi",     NULL };
static const char *const disk_buses[] = { "virtio", "sata", NULL };
static const char *const disk_caches[]
  = { "", "none", "writeback", "writethrough", "directsync", "unsafe", NULL };
static const char *const disk_ios[] = { "", "native", "threads", NULL };
static const char *const net_models[] = { "virtio", "e1000e", "rtl8139", NULL };
static const char *const videos[] = { "virtio", "qxl", "vga", "none", NULL };
static const char *const graphics[] = { "spice", "vnc", "none", NULL };

static const struct
{
  const char *group;
  const char *key;
  KeyKind kind;
  gsize offset;
  const char *const *allowed;
  guint min, max;
} keys[] = {
  { "Profile", "Description", KEY_STRING, offsetof (SpiritProfile, description) },
  { "Machine", "Type", KEY_ENUM, offsetof (SpiritProfile, machine), machine_types },
  { "Machine", "Arch", KEY_ENUM, offsetof (SpiritProfile, arch), arches },
  { "Machine", "Firmware", KEY_FIRMWARE, offsetof (SpiritProfile, efi) },
  { "Machine", "Loader", KEY_PATH, offsetof (SpiritProfile, loader) },
  { "Machine", "NvramTemplate", KEY_PATH, offsetof (SpiritProfile, nvram_template) },
  { "Machine", "SecureBoot", KEY_BOOL, offsetof (SpiritProfile, secure_boot) },
  { "Machine", "DirectKernelBoot", KEY_BOOL, offsetof (SpiritProfile, direct_kernel_boot) },
  { "Machine", "Features", KEY_LIST, offsetof (SpiritProfile, features), features },
  { "Machine", "HyperV", KEY_LIST, offsetof (SpiritProfile, hyperv), hyperv },
  { "Machine", "Clock", KEY_CLOCK, offsetof (SpiritProfile, localtime) },
  { "Machine", "Tpm", KEY_TPM, offsetof (SpiritProfile, tpm) },
  { "Machine", "Memory", KEY_MIB, offsetof (SpiritProfile, memory_kib), NULL, 64, 16777216 },
  { "Machine", "Cpus", KEY_UINT, offsetof (SpiritProfile, vcpus), NULL, 1, SPIRIT_VM_VCPUS_MAX },
  { "Devices", "DiskBus", KEY_ENUM, offsetof (SpiritProfile, disk_bus), disk_buses },
  { "Devices", "DiskCache", KEY_ENUM, offsetof (SpiritProfile, disk_cache), disk_caches },
  { "Devices", "DiskIo", KEY_ENUM, offsetof (SpiritProfile, disk_io), disk_ios },
  { "Devices", "Network", KEY_STRING, offsetof (SpiritProfile, network) },
  { "Devices", "NetModel", KEY_ENUM, offsetof (SpiritProfile, net_model), net_models },
  { "Devices", "Video", KEY_ENUM, offsetof (SpiritProfile, video), videos },
  { "Devices", "Graphics", KEY_ENUM, offsetof (SpiritProfile, graphics), graphics },
  { "Devices", "Tablet", KEY_BOOL, offsetof (SpiritProfile, tablet) },
  { "Tuning", "Iommu", KEY_BOOL, offsetof (SpiritProfile, iommu) },
  { "Tuning", "BalloonPeriod", KEY_UINT, offsetof (SpiritProfile, balloon_period), NULL, 0,
    SPIRIT_VM_BALLOON_PERIOD_MAX },
};

void
spirit_profile_free (SpiritProfile *profile)
{
  if (profile == NULL)
    return;
  g_free (profile->name);
  g_free (profile->description);
  g_free (profile->sources);
  g_free (profile->machine);
  g_free (profile->arch);
  g_free (profile->loader);
  g_free (profile->nvram_template);
  g_strfreev (profile->features);
  g_strfreev (profile->hyperv);
  g_free (profile->disk_bus);
  g_free (profile->disk_cache);
  g_free (profile->disk_io);
  g_free (profile->network);
  g_free (profile->net_model);
  g_free (profile->video);
  g_free (profile->graphics);
  g_free (profile);
}

/* What a profile that says nothing gets: a plain, safe q35 machine. */
static SpiritProfile *
profile_new (const char *name)
{
  SpiritProfile *profile = g_new0 (SpiritProfile, 1);
  const char *const default_features[] = { "acpi", "apic", NULL };

  profile->name = g_strdup (name);
  profile->description = g_strdup ("");
  profile->machine = g_strdup ("q35");
  profile->arch = g_strdup ("x86_64");
  profile->features = g_strdupv ((GStrv)default_features);
  profile->hyperv = g_new0 (char *, 1);
  profile->tpm = SPIRIT_PROFILE_TPM_NO;
  profile->memory_kib = 2048 * 1024;
  profile->vcpus = 2;
  profile->disk_bus = g_strdup ("virtio");
  profile->network = g_strdup ("default");
  profile->net_model = g_strdup ("virtio");
  profile->video = g_strdup ("virtio");
  profile->graphics = g_strdup ("spice");
  profile->tablet = TRUE;
  profile->balloon_period = 5;
  return profile;
}

static gboolean
bad_value (GError **error,
           const char *source,
           const char *group,
           const char *key,
           const char *value,
           const char *expected)
{
  g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
               "%s: [%s] %s=%s is not valid: %s", source, group, key, value, expected);
  return FALSE;
}

static char *
join_allowed (const char *const *allowed)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; allowed[i] != NULL; i++)
    g_string_append_printf (out, "%s%s", i ? ", " : "", allowed[i][0] ? allowed[i] : "(empty)");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
set_key (SpiritProfile *profile, GKeyFile *file, const char *source, guint k, GError **error)
{
  const char *group = keys[k].group, *key = keys[k].key;
  gpointer field = (char *)profile + keys[k].offset;
  g_autofree char *value = g_key_file_get_string (file, group, key, NULL);
  g_autofree char *allowed = keys[k].allowed ? join_allowed (keys[k].allowed) : NULL;
  guint64 number;

  if (value == NULL)
    return bad_value (error, source, group, key, "", "write it as Key=value");
  g_strstrip (value);
  switch (keys[k].kind)
    {
    case KEY_STRING:
      g_free (*(char **)field);
      *(char **)field = g_steal_pointer (&value);
      return TRUE;
    case KEY_PATH:
      if (value[0] != '\0' && !g_path_is_absolute (value))
        return bad_value (error, source, group, key, value, "give an absolute path, or nothing");
      g_free (*(char **)field);
      *(char **)field = value[0] ? g_steal_pointer (&value) : NULL;
      return TRUE;
    case KEY_BOOL:
      if (!g_str_equal (value, "true") && !g_str_equal (value, "false"))
        return bad_value (error, source, group, key, value, "use true or false");
      *(gboolean *)field = g_str_equal (value, "true");
      return TRUE;
    case KEY_ENUM:
      if (!g_strv_contains (keys[k].allowed, value))
        {
          g_autofree char *expected = g_strdup_printf ("use one of %s", allowed);
          return bad_value (error, source, group, key, value, expected);
        }
      g_free (*(char **)field);
      *(char **)field = value[0] ? g_steal_pointer (&value) : NULL;
      return TRUE;
    case KEY_LIST:
      {
        g_auto (GStrv) items = g_key_file_get_string_list (file, group, key, NULL, NULL);
        g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; items != NULL && items[i] != NULL; i++)
          {
            g_strstrip (items[i]);
            if (items[i][0] == '\0')
              continue;
            if (!g_strv_contains (keys[k].allowed, items[i]))
              {
                g_autofree char *expected
                  = g_strdup_printf ("%s is not one of %s", items[i], allowed);
                return bad_value (error, source, group, key, value, expected);
              }
            g_ptr_array_add (list, g_strdup (items[i]));
          }
        g_ptr_array_add (list, NULL);
        g_strfreev (*(GStrv *)field);
        g_ptr_array_set_free_func (list, NULL);
        *(GStrv *)field = (GStrv)g_ptr_array_steal (list, NULL);
        return TRUE;
      }
    case KEY_UINT:
    case KEY_MIB:
      if (!g_ascii_string_to_unsigned (value, 10, keys[k].min, keys[k].max, &number, NULL))
        {
          g_autofree char *expected
            = g_strdup_printf ("give a number from %u to %u%s", keys[k].min, keys[k].max,
                               keys[k].kind == KEY_MIB ? " (MiB)" : "");
          return bad_value (error, source, group, key, value, expected);
        }
      if (keys[k].kind == KEY_MIB)
        *(guint64 *)field = number * 1024;
      else
        *(guint *)field = (guint)number;
      return TRUE;
    case KEY_TPM:
      if (g_str_equal (value, "yes"))
        *(SpiritProfileTpm *)field = SPIRIT_PROFILE_TPM_YES;
      else if (g_str_equal (value, "no"))
        *(SpiritProfileTpm *)field = SPIRIT_PROFILE_TPM_NO;
      else if (g_str_equal (value, "auto"))
        *(SpiritProfileTpm *)field = SPIRIT_PROFILE_TPM_AUTO;
      else
        return bad_value (error, source, group, key, value,
                          "use yes, no or auto (when swtpm is installed)");
      return TRUE;
    case KEY_FIRMWARE:
      if (!g_str_equal (value, "efi") && !g_str_equal (value, "bios"))
        return bad_value (error, source, group, key, value, "use efi or bios");
      *(gboolean *)field = g_str_equal (value, "efi");
      return TRUE;
    case KEY_CLOCK:
      if (!g_str_equal (value, "utc") && !g_str_equal (value, "localtime"))
        return bad_value (error, source, group, key, value,
                          "use utc, or localtime (what Windows expects)");
      *(gboolean *)field = g_str_equal (value, "localtime");
      return TRUE;
    }
  g_assert_not_reached ();
}

static gboolean
apply_file (SpiritProfile *profile, GKeyFile *file, const char *source, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (file, NULL);

  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto (GStrv) names = g_key_file_get_keys (file, groups[g], NULL, NULL);

      for (guint n = 0; names != NULL && names[n] != NULL; n++)
        {
          guint k;

          for (k = 0; k < G_N_ELEMENTS (keys); k++)
            if (g_str_equal (keys[k].group, groups[g]) && g_str_equal (keys[k].key, names[n]))
              break;
          if (k == G_N_ELEMENTS (keys))
            {
              g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                           "%s: unknown key %s in [%s]: remove it or fix its spelling (the keys "
                           "are listed in docs/profiles.md)",
                           source, names[n], groups[g]);
              return FALSE;
            }
          if (!set_key (profile, file, source, k, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* Consistency between keys, once every layer is applied. */
static gboolean
check_profile (SpiritProfile *profile, GError **error)
{
  if ((profile->loader != NULL || profile->nvram_template != NULL || profile->secure_boot)
      && !profile->efi)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "%s: Loader, NvramTemplate and SecureBoot need Firmware=efi: set it, or "
                   "remove them",
                   profile->sources);
      return FALSE;
    }
  if (profile->secure_boot && !g_str_equal (profile->machine, "q35"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "%s: SecureBoot needs SMM, which needs Type=q35: set it, or remove SecureBoot",
                   profile->sources);
      return FALSE;
    }
  if (profile->iommu && !g_str_equal (profile->machine, "q35"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "%s: Iommu=true needs Type=q35: set it, or set Iommu=false", profile->sources);
      return FALSE;
    }
  return TRUE;
}

static gboolean
profile_name_is_valid (const char *name)
{
  if (name[0] == '\0' || strlen (name) > 64)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

const char *const *
spirit_profile_default_dirs (void)
{
  static GStrv dirs;

  if (g_once_init_enter (&dirs))
    {
      const char *env = g_getenv ("SPIRIT_PROFILES_DIR");
      GStrv value;

      if (env != NULL && env[0] != '\0')
        value = g_strsplit (env, ":", -1);
      else
        {
          const char *const defaults[]
            = { SPIRIT_SYSCONFDIR "/spirit/profiles", SPIRIT_DATADIR "/spirit/profiles", NULL };
          value = g_strdupv ((GStrv)defaults);
        }
      g_once_init_leave (&dirs, value);
    }
  return (const char *const *)dirs;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *)a, *(const char *const *)b);
}

GStrv
spirit_profile_list (const char *const *dirs)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  if (dirs == NULL)
    dirs = spirit_profile_default_dirs ();
  for (guint d = 0; dirs[d] != NULL; d++)
    {
      g_autoptr (GDir) dir = g_dir_open (dirs[d], 0, NULL);
      const char *entry;

      while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *name = NULL;

          if (!g_str_has_suffix (entry, PROFILE_SUFFIX))
            continue;
          name = g_strndup (entry, strlen (entry) - strlen (PROFILE_SUFFIX));
          if (profile_name_is_valid (name)
              && !g_ptr_array_find_with_equal_func (names, name, g_str_equal, NULL))
            g_ptr_array_add (names, g_steal_pointer (&name));
        }
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (GStrv)g_ptr_array_steal (names, NULL);
}

SpiritProfile *
spirit_profile_load (const char *name, const char *const *dirs, GError **error)
{
  g_autoptr (SpiritProfile) profile = NULL;
  g_autoptr (GString) sources = g_string_new (NULL);
  g_autofree char *file_name = NULL;
  guint n_dirs;

  g_return_val_if_fail (name != NULL, NULL);

  if (dirs == NULL)
    dirs = spirit_profile_default_dirs ();
  if (!profile_name_is_valid (name))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "\"%s\" is not a profile name: use letters, digits, '-' and '_'", name);
      return NULL;
    }
  profile = profile_new (name);
  file_name = g_strconcat (name, PROFILE_SUFFIX, NULL);
  n_dirs = g_strv_length ((GStrv)dirs);
  /* Lowest priority first, so each later layer overrides. */
  for (guint d = n_dirs; d-- > 0;)
    {
      g_autofree char *path = g_build_filename (dirs[d], file_name, NULL);
      g_autoptr (GKeyFile) file = g_key_file_new ();
      g_autoptr (GError) local_error = NULL;

      if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error))
        {
          if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            continue;
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "Cannot read profile %s: %s", path, local_error->message);
          return NULL;
        }
      if (!apply_file (profile, file, path, error))
        return NULL;
      g_string_append_printf (sources, "%s%s", sources->len ? ", " : "", path);
    }
  if (sources->len == 0)
    {
      g_auto (GStrv) available = spirit_profile_list (dirs);
      g_autofree char *list = g_strjoinv (", ", available);
      g_autofree char *where = g_strjoinv (", ", (GStrv)dirs);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "No profile named \"%s\": the available profiles are %s (looked in %s)", name,
                   available[0] ? list : "none", where);
      return NULL;
    }
  profile->sources = g_string_free (g_steal_pointer (&sources), FALSE);
  if (!check_profile (profile, error))
    return NULL;
  return g_steal_pointer (&profile);
}

SpiritProfile *
spirit_profile_load_from_data (const char *name, const char *data, GError **error)
{
  g_autoptr (SpiritProfile) profile = profile_new (name);
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;

  profile->sources = g_strdup_printf ("profile %s", name);
  if (!g_key_file_load_from_data (file, data, -1, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT, "%s: %s", profile->sources,
                   local_error->message);
      return NULL;
    }
  if (!apply_file (profile, file, profile->sources, error) || !check_profile (profile, error))
    return NULL;
  return g_steal_pointer (&profile);
}
