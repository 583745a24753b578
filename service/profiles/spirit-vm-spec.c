/* spirit-vm-spec.c: a VM request from D-Bus options, checked option by option. */
#define G_LOG_DOMAIN "spirit-vm-spec"

#include "spirit-vm-spec.h"
#include "spirit-cpu-topology.h"
#include "spirit-hugepages.h"
#include "spirit-error.h"

/* sun_path is 108 bytes with its terminating NUL. */
#define UNIX_PATH_MAX 107

typedef gboolean (*OptionFunc) (SpiritVmSpec *spec,
                                const char *key,
                                GVariant *value,
                                GError **error);

SpiritVmSpec *
spirit_vm_spec_new (const char *name, const char *profile)
{
  SpiritVmSpec *spec = g_new0 (SpiritVmSpec, 1);

  spec->name = g_strdup (name);
  spec->profile = g_strdup (profile);
  spec->cdroms = g_new0 (char *, 1);
  spec->gpus = g_new0 (char *, 1);
  spec->hugepage_kib = SPIRIT_HUGEPAGE_2M_KIB;
  spec->arch = g_strdup ("x86_64");
  spec->kvm = TRUE;
  spec->iommu = SPIRIT_CHOICE_DEFAULT;
  spec->tpm = SPIRIT_CHOICE_DEFAULT;
  spec->balloon_period = -1;
  return spec;
}

void
spirit_vm_spec_free (SpiritVmSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->name);
  g_free (spec->profile);
  g_free (spec->disk);
  g_strfreev (spec->cdroms);
  g_free (spec->kernel);
  g_free (spec->initrd);
  g_free (spec->cmdline);
  g_free (spec->pin);
  g_strfreev (spec->gpus);
  g_free (spec->agent_socket);
  g_free (spec->serial_log);
  g_free (spec->arch);
  g_free (spec->network);
  g_free (spec->graphics);
  g_free (spec);
}

/* Names become file names (NVRAM, logs) and appear in shells: keep them plain. */
gboolean
spirit_vm_name_is_valid (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > SPIRIT_VM_NAME_MAX || name[0] == '-' || name[0] == '.')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
      return FALSE;
  return TRUE;
}

static gboolean
check_path (const char *key, const char *path, GError **error)
{
  if (path[0] == '\0')
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option '%s' is empty: give an absolute path, or leave the option out", key);
      return FALSE;
    }
  if (!g_path_is_absolute (path))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option '%s' is \"%s\", a relative path: give an absolute path (libvirtd does "
                   "not share the caller's working directory)",
                   key, path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_path (char **field, const char *key, GVariant *value, GError **error)
{
  const char *path = g_variant_get_string (value, NULL);

  if (!check_path (key, path, error))
    return FALSE;
  g_free (*field);
  *field = g_strdup (path);
  return TRUE;
}

static gboolean
opt_profile (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  g_free (spec->profile);
  spec->profile = g_variant_dup_string (value, NULL);
  return TRUE;
}

static gboolean
opt_memory (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  guint64 bytes = g_variant_get_uint64 (value);
  guint64 mib = bytes / (1024 * 1024);

  if (mib * 1024 < SPIRIT_VM_MEMORY_MIN_KIB || mib * 1024 > SPIRIT_VM_MEMORY_MAX_KIB)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'memory' is %" G_GUINT64_FORMAT " MiB: give between %" G_GUINT64_FORMAT
                   " MiB and %" G_GUINT64_FORMAT " MiB",
                   mib, SPIRIT_VM_MEMORY_MIN_KIB / 1024, SPIRIT_VM_MEMORY_MAX_KIB / 1024);
      return FALSE;
    }
  if (bytes % (1024 * 1024) != 0)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'memory' is %" G_GUINT64_FORMAT " bytes, not a whole number of MiB: "
                   "use %" G_GUINT64_FORMAT " MiB (%" G_GUINT64_FORMAT " bytes)",
                   bytes, mib + 1, (mib + 1) * 1024 * 1024);
      return FALSE;
    }
  spec->memory_kib = mib * 1024;
  return TRUE;
}

static gboolean
opt_cpus (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  guint32 cpus = g_variant_get_uint32 (value);

  if (cpus < 1 || cpus > SPIRIT_VM_VCPUS_MAX)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'cpus' is %u: give between 1 and %u vCPUs", cpus, SPIRIT_VM_VCPUS_MAX);
      return FALSE;
    }
  spec->vcpus = cpus;
  return TRUE;
}

static gboolean
opt_disk (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  return set_path (&spec->disk, key, value, error);
}

static gboolean
opt_kernel (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  return set_path (&spec->kernel, key, value, error);
}

static gboolean
opt_initrd (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  return set_path (&spec->initrd, key, value, error);
}

static gboolean
opt_agent_socket (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  gsize len;

  g_variant_get_string (value, &len);
  if (len > UNIX_PATH_MAX)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'agent-socket' is %" G_GSIZE_FORMAT " bytes long, and a unix socket "
                   "path holds at most %d: use a shorter path",
                   len, UNIX_PATH_MAX);
      return FALSE;
    }
  return set_path (&spec->agent_socket, key, value, error);
}

static gboolean
opt_serial_log (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  return set_path (&spec->serial_log, key, value, error);
}

static gboolean
opt_cmdline (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  g_free (spec->cmdline);
  spec->cmdline = g_variant_dup_string (value, NULL);
  return TRUE;
}

static gboolean
opt_cdrom (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  g_autofree const char **paths = g_variant_get_strv (value, NULL);

  for (guint i = 0; paths[i] != NULL; i++)
    if (!check_path (key, paths[i], error))
      return FALSE;
  if (g_strv_length ((GStrv)paths) > 4)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'cdrom' names %u images: attach at most 4",
                   g_strv_length ((GStrv)paths));
      return FALSE;
    }
  g_strfreev (spec->cdroms);
  spec->cdroms = g_variant_dup_strv (value, NULL);
  return TRUE;
}

static gboolean
opt_hugepages (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  spec->hugepages = g_variant_get_boolean (value);
  return TRUE;
}

static gboolean
opt_hugepage_size (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  guint64 bytes = g_variant_get_uint64 (value);

  if (bytes % 1024 != 0 || !spirit_hugepages_size_is_valid (bytes / 1024))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'hugepage-size' is %" G_GUINT64_FORMAT " bytes: give 2097152 (2 MB) "
                   "or 1073741824 (1 GB)",
                   bytes);
      return FALSE;
    }
  spec->hugepage_kib = bytes / 1024;
  return TRUE;
}

static gboolean
opt_pin (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  const char *pin = g_variant_get_string (value, NULL);

  g_clear_pointer (&spec->pin, g_free);
  if (pin[0] == '\0')
    return TRUE;
  if (!g_str_equal (pin, "auto"))
    {
      g_autoptr (GArray) cpus = spirit_cpu_list_parse (pin, error);
      if (cpus == NULL)
        {
          g_prefix_error (error, "Option 'pin': ");
          return FALSE;
        }
    }
  spec->pin = g_strdup (pin);
  return TRUE;
}

/* DDDD:BB:SS.F, hex, as in /sys/bus/pci/devices. */
static gboolean
pci_address_is_valid (const char *address)
{
  static const char pattern[] = "XXXX:XX:XX.X";

  if (strlen (address) != strlen (pattern))
    return FALSE;
  for (gsize i = 0; pattern[i] != '\0'; i++)
    if (pattern[i] == 'X' ? !g_ascii_isxdigit (address[i]) : address[i] != pattern[i])
      return FALSE;
  return address[11] <= '7' && address[8] <= '1';
}

static gboolean
opt_gpus (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  g_autofree const char **addresses = g_variant_get_strv (value, NULL);
  g_autoptr (GPtrArray) gpus = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; addresses[i] != NULL; i++)
    {
      g_autofree char *lower = g_ascii_strdown (addresses[i], -1);

      if (!pci_address_is_valid (lower))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "Option 'gpus': \"%s\" is not a PCI address: write it as in lspci -D, "
                       "e.g. 0000:01:00.0",
                       addresses[i]);
          return FALSE;
        }
      if (g_ptr_array_find_with_equal_func (gpus, lower, g_str_equal, NULL))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "Option 'gpus' names %s twice: name each device once", lower);
          return FALSE;
        }
      g_ptr_array_add (gpus, g_steal_pointer (&lower));
    }
  g_ptr_array_add (gpus, NULL);
  g_strfreev (spec->gpus);
  spec->gpus = (GStrv)g_ptr_array_steal (gpus, NULL);
  return TRUE;
}

static gboolean
opt_arch (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  const char *arch = g_variant_get_string (value, NULL);

  if (!g_str_equal (arch, "x86_64"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'arch' is \"%s\": the profiles build q35 machines, which are x86_64 "
                   "only: use \"x86_64\"",
                   arch);
      return FALSE;
    }
  return TRUE;
}

static gboolean
opt_virt_type (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  const char *type = g_variant_get_string (value, NULL);

  if (!g_str_equal (type, "kvm") && !g_str_equal (type, "qemu"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'virt-type' is \"%s\": use \"kvm\" (hardware acceleration) or "
                   "\"qemu\" (TCG emulation)",
                   type);
      return FALSE;
    }
  spec->kvm = g_str_equal (type, "kvm");
  return TRUE;
}

static gboolean
opt_network (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  const char *network = g_variant_get_string (value, NULL);

  for (const char *p = network; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      {
        g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                     "Option 'network' is \"%s\", not a libvirt network name: give a name from "
                     "virsh net-list, or \"\" for no network",
                     network);
        return FALSE;
      }
  g_free (spec->network);
  spec->network = g_strdup (network);
  return TRUE;
}

static gboolean
opt_graphics (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  const char *graphics = g_variant_get_string (value, NULL);

  if (!g_str_equal (graphics, "spice") && !g_str_equal (graphics, "vnc")
      && !g_str_equal (graphics, "none"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'graphics' is \"%s\": use \"spice\", \"vnc\" or \"none\"", graphics);
      return FALSE;
    }
  g_free (spec->graphics);
  spec->graphics = g_strdup (graphics);
  return TRUE;
}

static gboolean
opt_iommu (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  spec->iommu = g_variant_get_boolean (value) ? SPIRIT_CHOICE_YES : SPIRIT_CHOICE_NO;
  return TRUE;
}

static gboolean
opt_tpm (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  spec->tpm = g_variant_get_boolean (value) ? SPIRIT_CHOICE_YES : SPIRIT_CHOICE_NO;
  return TRUE;
}

static gboolean
opt_balloon_period (SpiritVmSpec *spec, const char *key, GVariant *value, GError **error)
{
  guint32 period = g_variant_get_uint32 (value);

  if (period > SPIRIT_VM_BALLOON_PERIOD_MAX)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'balloon-period' is %u seconds: give 0 (no statistics) to %u", period,
                   SPIRIT_VM_BALLOON_PERIOD_MAX);
      return FALSE;
    }
  spec->balloon_period = period;
  return TRUE;
}

static const struct
{
  const char *key;
  const char *type;
  OptionFunc apply;
} options_table[] = {
  { "profile", "s", opt_profile },
  { "memory", "t", opt_memory },
  { "cpus", "u", opt_cpus },
  { "disk", "s", opt_disk },
  { "cdrom", "as", opt_cdrom },
  { "kernel", "s", opt_kernel },
  { "initrd", "s", opt_initrd },
  { "cmdline", "s", opt_cmdline },
  { "hugepages", "b", opt_hugepages },
  { "hugepage-size", "t", opt_hugepage_size },
  { "pin", "s", opt_pin },
  { "gpus", "as", opt_gpus },
  { "agent-socket", "s", opt_agent_socket },
  { "serial-log", "s", opt_serial_log },
  { "arch", "s", opt_arch },
  { "virt-type", "s", opt_virt_type },
  { "network", "s", opt_network },
  { "graphics", "s", opt_graphics },
  { "iommu", "b", opt_iommu },
  { "tpm", "b", opt_tpm },
  { "balloon-period", "u", opt_balloon_period },
};

static char *
known_keys (void)
{
  g_autoptr (GString) keys = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (options_table); i++)
    g_string_append_printf (keys, "%s%s (%s)", i ? ", " : "", options_table[i].key,
                            options_table[i].type);
  return g_string_free (g_steal_pointer (&keys), FALSE);
}

static gboolean
apply_option (
  SpiritVmSpec *spec, const char *key, GVariant *value, const char *const *allowed, GError **error)
{
  if (allowed != NULL && !g_strv_contains (allowed, key))
    {
      g_autofree char *list = g_strjoinv (", ", (GStrv)allowed);
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option '%s' cannot be given here: the options are %s", key, list);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (options_table); i++)
    {
      if (!g_str_equal (key, options_table[i].key))
        continue;
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (options_table[i].type)))
        {
          g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                       "Option '%s' must be of type '%s', not '%s'", key, options_table[i].type,
                       g_variant_get_type_string (value));
          return FALSE;
        }
      return options_table[i].apply (spec, key, value, error);
    }
  {
    g_autofree char *keys = known_keys ();
    g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                 "Unknown option '%s': the options are %s", key, keys);
  }
  return FALSE;
}

/* Applies `options` (a{sv}) to `spec`, each checked; `allowed` NULL allows every option. */
gboolean
spirit_vm_spec_update (SpiritVmSpec *spec,
                       GVariant *options,
                       const char *const *allowed,
                       GError **error)
{
  gboolean size_given = FALSE;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (!g_variant_is_of_type (options, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "VM options must be of type 'a{sv}', not '%s'",
                   g_variant_get_type_string (options));
      return FALSE;
    }
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      if (!apply_option (spec, key, value, allowed, error))
        {
          g_variant_unref (value);
          return FALSE;
        }
      size_given = size_given || g_str_equal (key, "hugepage-size");
    }
  if (size_given && !spec->hugepages)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Option 'hugepage-size' needs 'hugepages' set to true: add it, or leave "
                   "'hugepage-size' out");
      return FALSE;
    }
  return TRUE;
}

/* What no single option can see. */
static gboolean
check_combination (SpiritVmSpec *spec, GError **error)
{
  if (spec->profile == NULL || spec->profile[0] == '\0')
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "No profile given: pass option 'profile' (s), e.g. \"linux\" or \"windows\"");
      return FALSE;
    }
  if (spec->kernel == NULL && (spec->initrd != NULL || spec->cmdline != NULL))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "Options 'initrd' and 'cmdline' need 'kernel': add the kernel's path, or "
                   "leave them out");
      return FALSE;
    }
  if (spec->disk == NULL && spec->kernel == NULL && spec->cdroms[0] == NULL)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "The VM has nothing to boot: pass 'disk', 'cdrom' or 'kernel'");
      return FALSE;
    }
  return TRUE;
}

SpiritVmSpec *
spirit_vm_spec_from_variant (const char *name, GVariant *options, GError **error)
{
  g_autoptr (SpiritVmSpec) spec = NULL;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (options != NULL, NULL);

  if (!spirit_vm_name_is_valid (name))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "VM name \"%s\" is not valid: use 1 to %d letters, digits, '-', '_' and '.', "
                   "not starting with '-' or '.'",
                   name, SPIRIT_VM_NAME_MAX);
      return NULL;
    }
  spec = spirit_vm_spec_new (name, NULL);
  if (!spirit_vm_spec_update (spec, options, NULL, error) || !check_combination (spec, error))
    return NULL;
  return g_steal_pointer (&spec);
}
