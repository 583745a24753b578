/* spirit-profile.h: VM profiles, GKeyFiles that say what kind of machine a guest OS gets.
 *
 * A profile NAME is NAME.profile in a list of directories, highest priority first. By default
 * that is $SPIRIT_PROFILES_DIR (a ':'-separated list) when set, else
 * SYSCONFDIR/spirit/profiles (/etc/spirit/profiles) then DATADIR/spirit/profiles (shipped from
 * data/profiles/). Files of the same name are layered: a key in /etc overrides the shipped one,
 * so an administrator writes only what differs. A profile only in /etc is a new profile.
 *
 * Every key is checked when the profile is read: an unknown group or key, or a value outside
 * its set, is an error naming the file and the key (docs/profiles.md lists the keys).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SPIRIT_PROFILE_TPM_NO,
  SPIRIT_PROFILE_TPM_YES,
  SPIRIT_PROFILE_TPM_AUTO, /* when swtpm is installed */
} SpiritProfileTpm;

typedef struct
{
  char *name;
  char *description;
  char *sources; /* the files it was read from, ", "-separated, for messages */

  /* [Machine] */
  char *machine; /* q35 */
  char *arch;    /* x86_64 */
  gboolean efi;
  char *loader;         /* NULL: libvirt picks UEFI firmware (efi) or SeaBIOS */
  char *nvram_template; /* NULL: libvirt's */
  gboolean secure_boot;
  gboolean direct_kernel_boot;
  GStrv features; /* acpi, apic, pae, vmcoreinfo */
  GStrv hyperv;   /* Hyper-V enlightenments: relaxed, vapic, spinlocks, ... */
  gboolean localtime;
  SpiritProfileTpm tpm;
  guint64 memory_kib; /* default when the request has none */
  guint vcpus;

  /* [Devices] */
  char *disk_bus;   /* virtio | sata */
  char *disk_cache; /* NULL | none | writeback | writethrough | directsync | unsafe */
  char *disk_io;    /* NULL | native | threads */
  char *network;    /* libvirt network; "" none */
  char *net_model;  /* virtio | e1000e */
  char *video;      /* virtio | qxl | vga | none */
  char *graphics;   /* spice | vnc | none */
  gboolean tablet;

  /* [Tuning] */
  gboolean iommu;
  guint balloon_period;
} SpiritProfile;

const char *const *spirit_profile_default_dirs (void);
SpiritProfile *spirit_profile_load (const char *name, const char *const *dirs, GError **error);
SpiritProfile *spirit_profile_load_from_data (const char *name, const char *data, GError **error);
GStrv spirit_profile_list (const char *const *dirs);
void spirit_profile_free (SpiritProfile *profile);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritProfile, spirit_profile_free)

G_END_DECLS
