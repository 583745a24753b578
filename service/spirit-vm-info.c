/* spirit-vm-info.c: reads one domain's state from libvirt (blocking; call on a worker thread). */
#define G_LOG_DOMAIN "spirit-vm-info"

#include "spirit-vm-info.h"
#include "spirit-libvirt.h"

#include <libvirt/virterror.h>

void
spirit_vm_info_free (SpiritVmInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->uuid);
  g_free (info->title);
  g_strfreev (info->snapshots);
  g_free (info->current_snapshot);
  g_clear_pointer (&info->memory_stats, g_variant_unref);
  g_free (info);
}

const char *
spirit_vm_state_name (int state, gboolean has_saved_state)
{
  switch (state)
    {
    case VIR_DOMAIN_RUNNING:
      return "running";
    case VIR_DOMAIN_BLOCKED:
      return "blocked";
    case VIR_DOMAIN_PAUSED:
      return "paused";
    case VIR_DOMAIN_SHUTDOWN:
      return "shutting-down";
    case VIR_DOMAIN_SHUTOFF:
      return has_saved_state ? "saved" : "shutoff";
    case VIR_DOMAIN_CRASHED:
      return "crashed";
    case VIR_DOMAIN_PMSUSPENDED:
      return "suspended";
    case VIR_DOMAIN_NOSTATE:
    default:
      return "no-state";
    }
}

static const char *
running_reason (int reason)
{
  switch (reason)
    {
    case VIR_DOMAIN_RUNNING_BOOTED: return "booted";
    case VIR_DOMAIN_RUNNING_MIGRATED: return "migrated";
    case VIR_DOMAIN_RUNNING_RESTORED: return "restored";
    case VIR_DOMAIN_RUNNING_FROM_SNAPSHOT: return "from-snapshot";
    case VIR_DOMAIN_RUNNING_UNPAUSED: return "unpaused";
    case VIR_DOMAIN_RUNNING_MIGRATION_CANCELED: return "migration-canceled";
    case VIR_DOMAIN_RUNNING_SAVE_CANCELED: return "save-canceled";
    case VIR_DOMAIN_RUNNING_WAKEUP: return "wakeup";
    case VIR_DOMAIN_RUNNING_CRASHED: return "crashed";
    case VIR_DOMAIN_RUNNING_POSTCOPY: return "postcopy";
    case VIR_DOMAIN_RUNNING_POSTCOPY_FAILED: return "postcopy-failed";
    default: return "unknown";
    }
}

static const char *
paused_reason (int reason)
{
  switch (reason)
    {
    case VIR_DOMAIN_PAUSED_USER: return "user";
    case VIR_DOMAIN_PAUSED_MIGRATION: return "migration";
    case VIR_DOMAIN_PAUSED_SAVE: return "saving";
    case VIR_DOMAIN_PAUSED_DUMP: return "dump";
    case VIR_DOMAIN_PAUSED_IOERROR: return "ioerror";
    case VIR_DOMAIN_PAUSED_WATCHDOG: return "watchdog";
    case VIR_DOMAIN_PAUSED_FROM_SNAPSHOT: return "from-snapshot";
    case VIR_DOMAIN_PAUSED_SHUTTING_DOWN: return "shutting-down";
    case VIR_DOMAIN_PAUSED_SNAPSHOT: return "snapshot";
    case VIR_DOMAIN_PAUSED_CRASHED: return "crashed";
    case VIR_DOMAIN_PAUSED_STARTING_UP: return "starting-up";
    case VIR_DOMAIN_PAUSED_POSTCOPY: return "postcopy";
    case VIR_DOMAIN_PAUSED_POSTCOPY_FAILED: return "postcopy-failed";
    default: return "unknown";
    }
}

static const char *
shutoff_reason (int reason)
{
  switch (reason)
    {
    case VIR_DOMAIN_SHUTOFF_SHUTDOWN: return "shutdown";
    case VIR_DOMAIN_SHUTOFF_DESTROYED: return "destroyed";
    case VIR_DOMAIN_SHUTOFF_CRASHED: return "crashed";
    case VIR_DOMAIN_SHUTOFF_MIGRATED: return "migrated";
    case VIR_DOMAIN_SHUTOFF_SAVED: return "saved";
    case VIR_DOMAIN_SHUTOFF_FAILED: return "failed";
    case VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT: return "from-snapshot";
    case VIR_DOMAIN_SHUTOFF_DAEMON: return "daemon";
    default: return "unknown";
    }
}

const char *
spirit_vm_state_reason_name (int state, int reason)
{
  switch (state)
    {
    case VIR_DOMAIN_RUNNING:
      return running_reason (reason);
    case VIR_DOMAIN_PAUSED:
      return paused_reason (reason);
    case VIR_DOMAIN_SHUTOFF:
      return shutoff_reason (reason);
    case VIR_DOMAIN_SHUTDOWN:
      return reason == VIR_DOMAIN_SHUTDOWN_USER ? "user" : "unknown";
    case VIR_DOMAIN_CRASHED:
      return reason == VIR_DOMAIN_CRASHED_PANICKED ? "panicked" : "unknown";
    default:
      return "unknown";
    }
}

/* Optional metadata: absence is normal, so only a real failure is an error. */
static char *
fetch_title (virDomainPtr domain)
{
  char *raw = virDomainGetMetadata (domain, VIR_DOMAIN_METADATA_TITLE, NULL, 0);
  char *title;

  if (raw == NULL)
    {
      virResetLastError ();
      return g_strdup ("");
    }
  title = g_strdup (raw);
  free (raw);
  return title;
}

static gboolean
fetch_snapshots (virDomainPtr domain, SpiritVmInfo *info, GError **error)
{
  virDomainSnapshotPtr *snaps = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  int n;

  n = virDomainListAllSnapshots (domain, &snaps, VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL);
  if (n < 0)
    {
      spirit_set_error_from_libvirt (error, "Could not list snapshots");
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      g_ptr_array_add (names, g_strdup (virDomainSnapshotGetName (snaps[i])));
      virDomainSnapshotFree (snaps[i]);
    }
  free (snaps);
  g_ptr_array_add (names, NULL);
  info->snapshots = (GStrv) g_ptr_array_steal (names, NULL);

  info->current_snapshot = g_strdup ("");
  if (n > 0 && virDomainHasCurrentSnapshot (domain, 0) == 1)
    {
      virDomainSnapshotPtr current = virDomainSnapshotCurrent (domain, 0);
      if (current != NULL)
        {
          g_free (info->current_snapshot);
          info->current_snapshot = g_strdup (virDomainSnapshotGetName (current));
          virDomainSnapshotFree (current);
        }
    }
  virResetLastError ();
  return TRUE;
}

const char *
spirit_vm_memory_stat_name (int tag)
{
  switch (tag)
    {
    case VIR_DOMAIN_MEMORY_STAT_SWAP_IN: return "swap_in";
    case VIR_DOMAIN_MEMORY_STAT_SWAP_OUT: return "swap_out";
    case VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT: return "major_fault";
    case VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT: return "minor_fault";
    case VIR_DOMAIN_MEMORY_STAT_UNUSED: return "unused";
    case VIR_DOMAIN_MEMORY_STAT_AVAILABLE: return "available";
    case VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON: return "actual_balloon";
    case VIR_DOMAIN_MEMORY_STAT_RSS: return "rss";
    case VIR_DOMAIN_MEMORY_STAT_USABLE: return "usable";
    case VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE: return "last_update";
    case VIR_DOMAIN_MEMORY_STAT_DISK_CACHES: return "disk_caches";
    case VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGALLOC: return "hugetlb_pgalloc";
    case VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGFAIL: return "hugetlb_pgfail";
    default: return NULL;
    }
}

/* The balloon's statistics (guest-reported ones need a stats period); empty when it is off. */
static GVariant *
fetch_memory_stats (virDomainPtr domain)
{
  virDomainMemoryStatStruct stats[VIR_DOMAIN_MEMORY_STAT_NR];
  GVariantBuilder builder;
  int n = virDomainIsActive (domain) == 1
            ? virDomainMemoryStats (domain, stats, VIR_DOMAIN_MEMORY_STAT_NR, 0)
            : 0;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{st}"));
  for (int i = 0; i < n && i < VIR_DOMAIN_MEMORY_STAT_NR; i++)
    {
      const char *name = spirit_vm_memory_stat_name (stats[i].tag);
      if (name != NULL)
        g_variant_builder_add (&builder, "{st}", name, (guint64) stats[i].val);
    }
  virResetLastError ();
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

SpiritVmInfo *
spirit_vm_info_fetch (virDomainPtr domain, GError **error)
{
  g_autoptr (SpiritVmInfo) info = g_new0 (SpiritVmInfo, 1);
  char uuid[VIR_UUID_STRING_BUFLEN];
  virDomainInfo dinfo;
  int state, reason, autostart, saved, persistent;
  unsigned int id;

  if (virDomainGetUUIDString (domain, uuid) < 0 || virDomainGetInfo (domain, &dinfo) < 0 ||
      virDomainGetState (domain, &state, &reason, 0) < 0)
    {
      spirit_set_error_from_libvirt (error, "Could not read the VM's state");
      return NULL;
    }

  persistent = virDomainIsPersistent (domain);
  autostart = 0;
  if (persistent == 1 && virDomainGetAutostart (domain, &autostart) < 0)
    autostart = 0;
  saved = persistent == 1 ? virDomainHasManagedSaveImage (domain, 0) : 0;
  virResetLastError ();

  info->name = g_strdup (virDomainGetName (domain));
  info->uuid = g_strdup (uuid);
  info->title = fetch_title (domain);
  info->has_saved_state = saved == 1;
  info->state = spirit_vm_state_name (state, info->has_saved_state);
  info->reason = spirit_vm_state_reason_name (state, reason);
  id = virDomainGetID (domain);
  info->id = id == (unsigned int) -1 ? -1 : (int) id;
  info->vcpus = dinfo.nrVirtCpu;
  info->memory_kib = dinfo.memory;
  info->max_memory_kib = dinfo.maxMem;
  info->persistent = persistent == 1;
  info->autostart = autostart == 1;

  if (!fetch_snapshots (domain, info, error))
    return NULL;
  info->memory_stats = fetch_memory_stats (domain);

  return g_steal_pointer (&info);
}
