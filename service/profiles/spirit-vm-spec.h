/* spirit-vm-spec.h: what a client asks for when it defines a VM (Manager.DefineVM's a{sv}).
 *
 * spirit_vm_spec_from_variant() checks everything that can be checked without the host: types,
 * ranges, unknown keys (refused by name), absolute paths, syntax of CPU lists and PCI addresses.
 * What depends on the host (files exist, CPUs online, free huge pages, the profile's firmware)
 * is checked by spirit_vm_plan(). Options a client leaves out take the profile's default.
 *
 * Options (docs/profiles.md has the full table):
 *   profile s (required)  name of a profile: "linux", "windows", or one in /etc/spirit/profiles
 *   memory t              bytes, a whole number of MiB, at least 64 MiB (default: profile)
 *   cpus u                vCPUs, 1..255 and at most the host's online CPUs (default: profile)
 *   disk s                absolute path of the system disk (qcow2 or raw file, or block device)
 *   cdrom as              absolute paths of ISO images, attached as SATA CD-ROMs
 *   kernel s, initrd s, cmdline s   direct kernel boot (profiles that allow it)
 *   hugepages b           back the memory with huge pages
 *   hugepage-size t       bytes per page: 2097152 (default) or 1073741824; needs hugepages
 *   pin s                 "" (none, default), "auto", or a host CPU list such as "2-5,10-13"
 *   gpus as               host PCI addresses to pass through, "0000:01:00.0"
 *   agent-socket s        absolute path of the spirit.0 channel's socket (default: libvirt's)
 *   serial-log s          absolute path of a file the serial console is appended to
 *   arch s                "x86_64" (the only one the q35 profiles support)
 *   virt-type s           "kvm" (default; DefineVM: when the host offers it) or "qemu" (TCG)
 *   network s             libvirt network name; "" for none (default: profile)
 *   graphics s            "spice", "vnc" or "none" (default: profile)
 *   iommu b               a virtual IOMMU (intel) for the guest (default: profile)
 *   tpm b                 a TPM 2.0 (swtpm) (default: profile, "auto" = when swtpm is installed)
 *   balloon-period u      seconds between memory balloon statistics, 0 = off (default: profile)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SPIRIT_VM_NAME_MAX 64
#define SPIRIT_VM_MEMORY_MIN_KIB G_GUINT64_CONSTANT (65536)       /* 64 MiB */
#define SPIRIT_VM_MEMORY_MAX_KIB G_GUINT64_CONSTANT (17179869184) /* 16 TiB */
#define SPIRIT_VM_VCPUS_MAX 255 /* q35 without interrupt remapping and x2APIC (eim) */
#define SPIRIT_VM_BALLOON_PERIOD_MAX 86400

/* A yes/no that may be left to the profile. */
typedef enum
{
  SPIRIT_CHOICE_DEFAULT = -1,
  SPIRIT_CHOICE_NO = 0,
  SPIRIT_CHOICE_YES = 1,
} SpiritChoice;

typedef struct
{
  char *name;
  char *profile;
  guint64 memory_kib; /* 0: the profile's */
  guint vcpus;        /* 0: the profile's */
  char *disk;         /* NULL: none */
  GStrv cdroms;       /* never NULL */
  char *kernel;       /* NULL: none; initrd and cmdline only with a kernel */
  char *initrd;
  char *cmdline;
  gboolean hugepages;
  guint64 hugepage_kib; /* 2048 or 1048576 */
  char *pin;            /* NULL: no pinning; "auto"; or a CPU list */
  GStrv gpus;           /* never NULL; "DDDD:BB:SS.F", lower case */
  char *agent_socket;   /* NULL: libvirt chooses the path */
  char *serial_log;     /* NULL: the serial console is a pty */
  char *arch;           /* "x86_64" */
  gboolean kvm;         /* TRUE: <domain type='kvm'>; FALSE: 'qemu' (TCG) */
  char *network;        /* NULL: the profile's; "": no interface */
  char *graphics;       /* NULL: the profile's; "spice", "vnc" or "none" */
  SpiritChoice iommu;
  SpiritChoice tpm;
  gint64 balloon_period; /* -1: the profile's; seconds, 0 = no statistics */
} SpiritVmSpec;

SpiritVmSpec *spirit_vm_spec_new (const char *name, const char *profile);
SpiritVmSpec *spirit_vm_spec_from_variant (const char *name, GVariant *options, GError **error);
gboolean spirit_vm_spec_update (SpiritVmSpec *spec,
                                GVariant *options,
                                const char *const *allowed,
                                GError **error);
void spirit_vm_spec_free (SpiritVmSpec *spec);
gboolean spirit_vm_name_is_valid (const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritVmSpec, spirit_vm_spec_free)

G_END_DECLS
